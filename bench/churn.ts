import { existsSync, readFileSync } from 'node:fs';
import { serviceKey } from '../src/registry/keys.ts';
import type { EtcdServer } from '../test/helpers/etcd.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { logPath, startBranchProxy, startNodeBackend } from './lib/targets.ts';
import { wrk } from './lib/wrk.ts';

export interface ChurnResult {
  seconds: number;
  /** Route changes written to etcd while wrk ran (each one add, move or remove). */
  changes: number;
  /** The rate the changer kept up, over its own run time. */
  changesPerSecond: number;
  /** Of those, how many the proxy logged as a route added, changed or removed. */
  changesApplied: number;
  requests: number;
  /** wrk errors on the unchanged route: connect, read, write, timeout and non-2xx/3xx. */
  failed: number;
  rps: number;
  p99Ms: number;
}

const P = '/deployment/';
const DEPLOYMENTS = 50;
const NAME = 'branch-proxy (churn)';

/** How many route added/changed/removed lines the proxy logged for churn deployments. */
function appliedChanges(): number {
  const file = logPath(NAME);
  if (!existsSync(file)) return 0;
  let n = 0;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.includes('"msg":"route ') && line.includes('"deployment":"churn-')) n++;
  }
  return n;
}

/**
 * Load on one unchanged route while other routes change `changesPerSecond` times a
 * second. Every change is one transaction that really changes a route: change n
 * acts on deployment n mod 50, which cycles through added -> moved to the other
 * backend -> removed, so the proxy's table, logs and listeners all do work.
 */
export async function churn(etcd: EtcdServer, o: { seconds: number; changesPerSecond: number }, log: (line: string) => void): Promise<ChurnResult> {
  const backends = [await startNodeBackend(), await startNodeBackend()];
  const [a, b] = backends as [(typeof backends)[0], (typeof backends)[0]];
  await etcd.client.delete().prefix(`${P}churn-`);
  await etcd.client.put(serviceKey(P, 'stable', 'web', 'ip')).value('127.0.0.1');
  await etcd.client.put(serviceKey(P, 'stable', 'web', 'port')).value(String(a.port));
  const proxy = await startBranchProxy(etcd.endpoint, { name: NAME });
  let changes = 0;
  let stop = false;
  let changerMs = 0;
  const changer = (async () => {
    const start = performance.now();
    while (!stop) {
      const n = changes;
      const d = `churn-${n % DEPLOYMENTS}`;
      const ip = serviceKey(P, d, 'web', 'ip');
      const port = serviceKey(P, d, 'web', 'port');
      switch (Math.floor(n / DEPLOYMENTS) % 3) {
        case 0:
          await etcd.client.if(ip, 'Create', '==', 0).then(etcd.client.put(ip).value('127.0.0.1'), etcd.client.put(port).value(String(a.port))).commit();
          break;
        case 1:
          await etcd.client.put(port).value(String(b.port));
          break;
        default:
          await etcd.client.delete().prefix(`${P}${d}/`);
      }
      changes++;
      const due = start + (changes * 1000) / o.changesPerSecond;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    changerMs = performance.now() - start;
  })();
  try {
    const r = await wrk(`http://127.0.0.1:${proxy.port}/`, 'stable.dev.localhost', 32, o.seconds);
    stop = true;
    await changer;
    // The log is written asynchronously; give the last changes a moment to land.
    const changesApplied = await waitFor('the proxy to log every route change', () => (appliedChanges() >= changes ? changes : undefined), 3000).then(
      (x) => x.value,
      () => appliedChanges(),
    );
    const changesPerSecond = changes / (changerMs / 1000);
    const result = { seconds: r.seconds, changes, changesPerSecond, changesApplied, requests: r.requests, failed: r.errors, rps: r.rps, p99Ms: r.p99Ms };
    log(
      `${changes} route changes (${changesPerSecond.toFixed(1)}/s, ${changesApplied} applied by the proxy) in ${r.seconds.toFixed(1)} s ` +
        `while ${r.requests} requests ran on an unchanged route: ${r.errors} failed, p99 ${r.p99Ms.toFixed(2)} ms`,
    );
    if (changesPerSecond < o.changesPerSecond * 0.95) log(`WARNING: the changer fell behind: ${changesPerSecond.toFixed(1)}/s of ${o.changesPerSecond}/s asked`);
    return result;
  } finally {
    stop = true;
    await changer;
    await proxy.stop();
    await Promise.all(backends.map((x) => x.stop()));
    await etcd.client.delete().prefix(`${P}churn-`);
  }
}

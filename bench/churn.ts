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
  /**
   * Issue #14: meanwhile a second load runs on `fb-api`, which deployment `fb`
   * does not have, so the proxy's FALLBACK_DEPLOYMENT (`stable`) serves it; every
   * FALLBACK_EVERY-th change registers `fb/api` or removes it again, switching
   * that host between the base's backend and the branch's own.
   */
  fallbackSwitches: number;
  fallbackRequests: number;
  /** wrk errors on the switching host: connect, read, write, timeout and non-2xx/3xx. */
  fallbackFailed: number;
}

const P = '/deployment/';
const DEPLOYMENTS = 50;
const NAME = 'branch-proxy (churn)';
/** One switch of `fb-api` per this many route changes: 10 a second at the default 100 changes a second. */
const FALLBACK_EVERY = 10;

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
  await etcd.client.put(serviceKey(P, 'stable', 'api', 'ip')).value('127.0.0.1');
  await etcd.client.put(serviceKey(P, 'stable', 'api', 'port')).value(String(a.port));
  await etcd.client.put(serviceKey(P, 'fb', 'web', 'ip')).value('127.0.0.1');
  await etcd.client.put(serviceKey(P, 'fb', 'web', 'port')).value(String(a.port));
  const proxy = await startBranchProxy(etcd.endpoint, { name: NAME, env: { FALLBACK_DEPLOYMENT: 'stable' } });
  const fbIp = serviceKey(P, 'fb', 'api', 'ip');
  const fbPort = serviceKey(P, 'fb', 'api', 'port');
  let fallbackSwitches = 0;
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
      if (changes % FALLBACK_EVERY === 0) {
        if (fallbackSwitches % 2 === 0) await etcd.client.if(fbIp, 'Create', '==', 0).then(etcd.client.put(fbIp).value('127.0.0.1'), etcd.client.put(fbPort).value(String(b.port))).commit();
        else await etcd.client.delete().prefix(`${P}fb/service/api/`);
        fallbackSwitches++;
      }
      const due = start + (changes * 1000) / o.changesPerSecond;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    changerMs = performance.now() - start;
  })();
  try {
    const [r, f] = await Promise.all([
      wrk(`http://127.0.0.1:${proxy.port}/`, 'stable.dev.localhost', 32, o.seconds),
      wrk(`http://127.0.0.1:${proxy.port}/`, 'fb-api.dev.localhost', 8, o.seconds),
    ]);
    stop = true;
    await changer;
    // The log is written asynchronously; give the last changes a moment to land.
    const changesApplied = await waitFor('the proxy to log every route change', () => (appliedChanges() >= changes ? changes : undefined), 3000).then(
      (x) => x.value,
      () => appliedChanges(),
    );
    const changesPerSecond = changes / (changerMs / 1000);
    const result = {
      seconds: r.seconds,
      changes,
      changesPerSecond,
      changesApplied,
      requests: r.requests,
      failed: r.errors,
      rps: r.rps,
      p99Ms: r.p99Ms,
      fallbackSwitches,
      fallbackRequests: f.requests,
      fallbackFailed: f.errors,
    };
    log(
      `${changes} route changes (${changesPerSecond.toFixed(1)}/s, ${changesApplied} applied by the proxy) in ${r.seconds.toFixed(1)} s ` +
        `while ${r.requests} requests ran on an unchanged route: ${r.errors} failed, p99 ${r.p99Ms.toFixed(2)} ms; ` +
        `fb-api switched between the fallback and its own backend ${fallbackSwitches} times under ${f.requests} requests: ${f.errors} failed`,
    );
    if (changesPerSecond < o.changesPerSecond * 0.95) log(`WARNING: the changer fell behind: ${changesPerSecond.toFixed(1)}/s of ${o.changesPerSecond}/s asked`);
    return result;
  } finally {
    stop = true;
    await changer;
    await proxy.stop();
    await Promise.all(backends.map((x) => x.stop()));
    await etcd.client.delete().prefix(`${P}churn-`);
    await etcd.client.delete().prefix(`${P}fb/`);
    await etcd.client.delete().prefix(`${P}stable/service/api/`);
  }
}

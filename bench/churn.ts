import { serviceKey } from '../src/registry/keys.ts';
import type { EtcdServer } from '../test/helpers/etcd.ts';
import { startBranchProxy, startNodeBackend } from './lib/targets.ts';
import { wrk } from './lib/wrk.ts';

export interface ChurnResult {
  seconds: number;
  changes: number;
  requests: number;
  failed: number;
  rps: number;
  p99Ms: number;
}

/** Load on one unchanged route while other routes change `changesPerSecond` times a second. */
export async function churn(etcd: EtcdServer, o: { seconds: number; changesPerSecond: number }, log: (line: string) => void): Promise<ChurnResult> {
  const backend = await startNodeBackend();
  const P = '/deployment/';
  await etcd.client.put(serviceKey(P, 'stable', 'web', 'ip')).value('127.0.0.1');
  await etcd.client.put(serviceKey(P, 'stable', 'web', 'port')).value(String(backend.port));
  const proxy = await startBranchProxy(etcd.endpoint, { name: 'branch-proxy (churn)' });
  let changes = 0;
  let stop = false;
  const changer = (async () => {
    const start = performance.now();
    while (!stop) {
      const n = changes++;
      const d = `churn-${n % 50}`;
      if (n % 2 === 0) {
        await etcd.client.put(serviceKey(P, d, 'web', 'ip')).value('127.0.0.1');
        await etcd.client.put(serviceKey(P, d, 'web', 'port')).value(String(backend.port));
      } else {
        await etcd.client.delete().prefix(`${P}${d}/`);
      }
      const due = start + (changes * 1000) / o.changesPerSecond;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  })();
  try {
    const r = await wrk(`http://127.0.0.1:${proxy.port}/`, 'stable.dev.localhost', 32, o.seconds);
    stop = true;
    await changer;
    const result = { seconds: r.seconds, changes, requests: r.requests, failed: r.errors, rps: r.rps, p99Ms: r.p99Ms };
    log(`${changes} route changes in ${r.seconds.toFixed(1)} s while ${r.requests} requests ran on an unchanged route: ${r.errors} failed`);
    return result;
  } finally {
    stop = true;
    await proxy.stop();
    await backend.stop();
  }
}

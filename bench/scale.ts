import { readFileSync } from 'node:fs';
import { serviceKey } from '../src/registry/keys.ts';
import type { EtcdServer } from '../test/helpers/etcd.ts';
import { rssMiB } from './lib/proc.ts';
import { logPath, startBranchProxy, startNodeBackend } from './lib/targets.ts';
import { wrk } from './lib/wrk.ts';

export interface ScaleRow {
  routes: number;
  snapshotMs: number | null;
  readyMs: number;
  idleRssMiB: number;
  rps: number;
  p99Ms: number;
}

export interface ScaleResult {
  rows: ScaleRow[];
  bytesPerRoute: number;
  rpsRatio: number;
}

/** Start-up, memory and request cost with few routes and with many. */
export async function scale(etcd: EtcdServer, o: { routes: number; seconds: number }, log: (line: string) => void): Promise<ScaleResult> {
  const backend = await startNodeBackend();
  const P = '/deployment/';
  const rows: ScaleRow[] = [];
  try {
    let written = 0;
    for (const target of [10, o.routes]) {
      // etcd takes at most 128 operations per transaction.
      for (; written < target; ) {
        const ops = [];
        for (let i = 0; i < 64 && written < target; i++, written++) {
          ops.push(etcd.client.put(serviceKey(P, `scale-${written}`, 'web', 'ip')).value('127.0.0.1'));
          ops.push(etcd.client.put(serviceKey(P, `scale-${written}`, 'web', 'port')).value(String(backend.port)));
        }
        await etcd.client.if(`${P}none`, 'Create', '==', 0).then(...ops).commit();
      }
      const started = performance.now();
      const proxy = await startBranchProxy(etcd.endpoint, { name: `branch-proxy (${target} routes)` });
      const readyMs = performance.now() - started;
      try {
        await new Promise((r) => setTimeout(r, 1000));
        const idleRssMiB = rssMiB(proxy.pid);
        const r = await wrk(`http://127.0.0.1:${proxy.port}/`, 'scale-7.dev.localhost', 32, o.seconds);
        const snapshotMs = snapshotDuration(proxy.name);
        rows.push({ routes: target, snapshotMs, readyMs, idleRssMiB, rps: r.rps, p99Ms: r.p99Ms });
        log(`${target} routes: snapshot ${snapshotMs?.toFixed(0) ?? '?'} ms, ready ${readyMs.toFixed(0)} ms after spawn, idle RSS ${idleRssMiB.toFixed(1)} MiB, ${Math.round(r.rps)} req/s, p99 ${r.p99Ms.toFixed(2)} ms`);
      } finally {
        await proxy.stop();
      }
    }
  } finally {
    await backend.stop();
  }
  const [few, many] = [rows[0]!, rows[1]!];
  return { rows, bytesPerRoute: ((many.idleRssMiB - few.idleRssMiB) * 2 ** 20) / (many.routes - few.routes), rpsRatio: many.rps / few.rps };
}

/** How long the proxy itself took to load the snapshot, from its log line. */
function snapshotDuration(name: string): number | null {
  const line = readFileSync(logPath(name), 'utf8')
    .split('\n')
    .find((l) => l.includes('"registry snapshot loaded"'));
  return line ? ((JSON.parse(line) as { ms?: number }).ms ?? null) : null;
}

import { serviceKey } from '../src/registry/keys.ts';
import type { EtcdServer } from '../test/helpers/etcd.ts';
import { cpuSeconds, rssMiB } from './lib/proc.ts';
import { median } from './lib/stats.ts';
import type { CompareBuild, Running } from './lib/targets.ts';
import { startBranchProxy, startChp, startNginxProxy, startNodeBackend, startStaticBackend } from './lib/targets.ts';
import { wrk } from './lib/wrk.ts';

export interface ThroughputOptions {
  readonly rounds: number;
  readonly seconds: number;
  readonly connections: readonly number[];
  /** Extra branch-proxy builds to compare, e.g. the commit before an optimisation. */
  readonly compare?: readonly CompareBuild[];
  readonly workers?: readonly number[];
}

export interface ThroughputRow {
  backend: string;
  connections: number;
  path: string;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerRequest: number | null;
  rssMiB: number | null;
  errors: number;
  xNginx: number;
  xDirect: number;
}

const HOSTS = { node: 'bench-node.dev.localhost', static: 'bench-static.dev.localhost' } as const;

/** Every proxy in front of both backends, interleaved over rounds; medians per cell, ratios from the same run. */
export async function throughput(etcd: EtcdServer, o: ThroughputOptions, log: (line: string) => void): Promise<ThroughputRow[]> {
  const started: Running[] = [];
  try {
    const backends = { node: await startNodeBackend(), static: await startStaticBackend() };
    started.push(backends.node, backends.static);
    for (const [kind, backend] of Object.entries(backends)) {
      await etcd.client.put(serviceKey('/deployment/', 'bench', kind, 'ip')).value('127.0.0.1');
      await etcd.client.put(serviceKey('/deployment/', 'bench', kind, 'port')).value(String(backend.port));
    }
    const routes = { [HOSTS.node]: backends.node.port, [HOSTS.static]: backends.static.port };
    const proxies: Running[] = [await startNginxProxy(routes), await startChp(routes)];
    for (const workers of o.workers ?? [1]) {
      proxies.push(await startBranchProxy(etcd.endpoint, { workers, name: workers === 1 ? 'branch-proxy' : `branch-proxy --workers ${workers}` }));
    }
    for (const c of o.compare ?? []) proxies.push(await startBranchProxy(etcd.endpoint, c));
    started.push(...proxies);

    type Sample = { rps: number; p50Ms: number; p99Ms: number; cpu: number | null; rss: number | null; errors: number };
    const samples = new Map<string, Sample[]>();
    for (let round = 1; round <= o.rounds; round++) {
      for (const kind of ['node', 'static'] as const) {
        for (const connections of o.connections) {
          // Each round starts one proxy later, so that no build always runs right after the same other one (heat, GC, page cache).
          const rotated = proxies.map((_, i) => proxies[(i + round - 1) % proxies.length]!);
          const paths: [string, Running, boolean][] = [['direct', backends[kind], false], ...rotated.map((p) => [p.name, p, true] as [string, Running, boolean])];
          for (const [path, target, isProxy] of paths) {
            const cpuBefore = isProxy ? cpuSeconds(target.pid) : 0;
            const r = await wrk(`http://127.0.0.1:${target.port}/`, HOSTS[kind], connections, o.seconds);
            const cpu = isProxy ? ((cpuSeconds(target.pid) - cpuBefore) * 1e6) / Math.max(1, r.requests) : null;
            const key = `${kind}|${connections}|${path}`;
            samples.set(key, [...(samples.get(key) ?? []), { rps: r.rps, p50Ms: r.p50Ms, p99Ms: r.p99Ms, cpu, rss: isProxy ? rssMiB(target.pid) : null, errors: r.errors }]);
            log(`round ${round}/${o.rounds} ${kind} backend c=${connections} ${path}: ${Math.round(r.rps)} req/s, p99 ${r.p99Ms.toFixed(2)} ms${r.errors ? `, ${r.errors} errors` : ''}`);
          }
        }
      }
    }
    const rows: ThroughputRow[] = [];
    for (const [key, s] of samples) {
      const [backend, connections, path] = key.split('|') as [string, string, string];
      const cpus = s.map((x) => x.cpu).filter((x): x is number => x !== null);
      const rsss = s.map((x) => x.rss).filter((x): x is number => x !== null);
      rows.push({
        backend,
        connections: Number(connections),
        path,
        rps: median(s.map((x) => x.rps)),
        p50Ms: median(s.map((x) => x.p50Ms)),
        p99Ms: median(s.map((x) => x.p99Ms)),
        cpuUsPerRequest: cpus.length ? median(cpus) : null,
        rssMiB: rsss.length ? median(rsss) : null,
        errors: s.reduce((sum, x) => sum + x.errors, 0),
        xNginx: 0,
        xDirect: 0,
      });
    }
    for (const row of rows) {
      const same = (path: string) => rows.find((r) => r.backend === row.backend && r.connections === row.connections && r.path === path)!;
      row.xNginx = row.rps / same('nginx-proxy').rps;
      row.xDirect = row.rps / same('direct').rps;
    }
    return rows;
  } finally {
    await Promise.all(started.map((s) => s.stop()));
  }
}

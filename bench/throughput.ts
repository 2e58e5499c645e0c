import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serviceKey } from '../src/registry/keys.ts';
import type { EtcdServer } from '../test/helpers/etcd.ts';
import { readProfiles, summarizeProfiles } from './lib/cpu-profile.ts';
import type { CpuProfileSummary } from './lib/cpu-profile.ts';
import { DEFAULT_PATH } from './lib/goals.ts';
import { startCaddyProxy, startHaproxyProxy } from './lib/peers.ts';
import { cpuTimes, rssMiB } from './lib/proc.ts';
import { median } from './lib/stats.ts';
import type { BranchProxyOptions, CompareBuild, Running } from './lib/targets.ts';
import { startBranchProxy, startChp, startNginxProxy, startNodeBackend, startStaticBackend } from './lib/targets.ts';
import { missingTools, requireTools } from './lib/tools.ts';
import { wrk } from './lib/wrk.ts';

export interface ThroughputOptions {
  readonly rounds: number;
  readonly seconds: number;
  readonly connections: readonly number[];
  /** Extra branch-proxy builds to compare, e.g. the commit before an optimisation; run with default settings like the main row. */
  readonly compare?: readonly CompareBuild[];
  /** Extra rows `branch-proxy WORKERS=N`, beside the one with the default. */
  readonly workers?: readonly number[];
  /** Leave out Caddy and HAProxy when they are not installed (one line says so) instead of failing: the CI smoke run has neither. */
  readonly skipMissingPeers?: boolean;
  /** Also profile branch-proxy (default) with `node --cpu-prof` for one static-backend round at 32 connections. */
  readonly cpuProf?: boolean;
}

export interface ThroughputRow {
  backend: string;
  connections: number;
  path: string;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerRequest: number | null;
  /** The part of cpuUsPerRequest spent in the kernel. */
  kernelUsPerRequest: number | null;
  rssMiB: number | null;
  errors: number;
  xNginx: number;
  xDirect: number;
}

export interface ThroughputResult {
  readonly rows: ThroughputRow[];
  readonly cpuProfile?: CpuProfileSummary;
}

const HOSTS = { node: 'bench-node.dev.localhost', static: 'bench-static.dev.localhost' } as const;
/** Command → Debian package. */
const TOOLS = { wrk: 'wrk', nginx: 'nginx-light' } as const;
const PEERS = { caddy: 'caddy', haproxy: 'haproxy' } as const;
const START_PEER = { caddy: startCaddyProxy, haproxy: startHaproxyProxy } as const;
/** The rows of the other proxies (every other row but `direct` is a branch-proxy). */
export const PEER_PATHS: readonly string[] = ['nginx-proxy', ...Object.keys(PEERS), 'configurable-http-proxy'];
const CHECKOUT = fileURLToPath(new URL('../', import.meta.url));

/** Every proxy in front of both backends, interleaved over rounds; medians per cell, ratios from the same run. */
export async function throughput(etcd: EtcdServer, o: ThroughputOptions, log: (line: string) => void): Promise<ThroughputResult> {
  requireTools('throughput', o.skipMissingPeers ? TOOLS : { ...TOOLS, ...PEERS });
  const missingPeers = missingTools(PEERS) as (keyof typeof PEERS)[];
  if (missingPeers.length > 0) log(`leaving out ${missingPeers.join(' and ')}, not installed (apt-get install -y ${missingPeers.map((p) => PEERS[p]).join(' ')} to include)`);
  const started: Running[] = [];
  try {
    const backends = { node: await startNodeBackend(), static: await startStaticBackend() };
    started.push(backends.node, backends.static);
    for (const [kind, backend] of Object.entries(backends)) {
      await etcd.client.put(serviceKey('/deployment/', 'bench', kind, 'ip')).value('127.0.0.1');
      await etcd.client.put(serviceKey('/deployment/', 'bench', kind, 'port')).value(String(backend.port));
    }
    const routes = { [HOSTS.node]: backends.node.port, [HOSTS.static]: backends.static.port };
    const proxies: Running[] = [await startNginxProxy(routes)];
    for (const peer of Object.keys(PEERS) as (keyof typeof PEERS)[]) if (!missingPeers.includes(peer)) proxies.push(await START_PEER[peer](routes));
    proxies.push(await startChp(routes));
    // The main row runs with WORKERS unset, as a user would start it; the others vary one setting from there.
    const builds: BranchProxyOptions[] = [
      { name: DEFAULT_PATH, workers: 'default' },
      { name: 'branch-proxy FAST_PATH=false', workers: 'default', env: { FAST_PATH: 'false' } },
      ...(o.workers ?? []).map((workers) => ({ name: `branch-proxy WORKERS=${workers}`, workers })),
      ...(o.compare ?? []).map((c): BranchProxyOptions => ({ ...c, workers: 'default' })),
    ];
    for (const build of builds) proxies.push(await startBranchProxy(etcd.endpoint, build));
    started.push(...proxies);

    type Sample = { rps: number; p50Ms: number; p99Ms: number; cpu: number | null; kernel: number | null; rss: number | null; errors: number };
    const samples = new Map<string, Sample[]>();
    for (let round = 1; round <= o.rounds; round++) {
      for (const kind of ['node', 'static'] as const) {
        for (const connections of o.connections) {
          // Each round starts one proxy later, so that no build always runs right after the same other one (heat, GC, page cache).
          const rotated = proxies.map((_, i) => proxies[(i + round - 1) % proxies.length]!);
          const paths: [string, Running, boolean][] = [['direct', backends[kind], false], ...rotated.map((p) => [p.name, p, true] as [string, Running, boolean])];
          for (const [path, target, isProxy] of paths) {
            const cpuBefore = isProxy ? cpuTimes(target.pid) : undefined;
            const r = await wrk(`http://127.0.0.1:${target.port}/`, HOSTS[kind], connections, o.seconds);
            const cpuAfter = cpuBefore ? cpuTimes(target.pid) : undefined;
            const perRequest = (seconds: number) => (seconds * 1e6) / Math.max(1, r.requests);
            const cpu = cpuBefore && cpuAfter ? perRequest(cpuAfter.total - cpuBefore.total) : null;
            const kernel = cpuBefore && cpuAfter ? perRequest(cpuAfter.system - cpuBefore.system) : null;
            const key = `${kind}|${connections}|${path}`;
            samples.set(key, [...(samples.get(key) ?? []), { rps: r.rps, p50Ms: r.p50Ms, p99Ms: r.p99Ms, cpu, kernel, rss: isProxy ? rssMiB(target.pid) : null, errors: r.errors }]);
            log(`round ${round}/${o.rounds} ${kind} backend c=${connections} ${path}: ${Math.round(r.rps)} req/s, p99 ${r.p99Ms.toFixed(2)} ms${r.errors ? `, ${r.errors} errors` : ''}`);
          }
        }
      }
    }
    const rows: ThroughputRow[] = [];
    for (const [key, s] of samples) {
      const [backend, connections, path] = key.split('|') as [string, string, string];
      const cpus = s.map((x) => x.cpu).filter((x): x is number => x !== null);
      const kernels = s.map((x) => x.kernel).filter((x): x is number => x !== null);
      const rsss = s.map((x) => x.rss).filter((x): x is number => x !== null);
      rows.push({
        backend,
        connections: Number(connections),
        path,
        rps: median(s.map((x) => x.rps)),
        p50Ms: median(s.map((x) => x.p50Ms)),
        p99Ms: median(s.map((x) => x.p99Ms)),
        cpuUsPerRequest: cpus.length ? median(cpus) : null,
        kernelUsPerRequest: kernels.length ? median(kernels) : null,
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
    return { rows, cpuProfile: o.cpuProf ? await profile(etcd.endpoint, o.seconds, log) : undefined };
  } finally {
    await Promise.all(started.map((s) => s.stop()));
  }
}

/**
 * One static-backend round at 32 connections against a fresh branch-proxy (default) under `node --cpu-prof`
 * (its cluster workers inherit the flag), after a warm-up round of the same length; each process writes its
 * profile when it exits after SIGTERM, and only the samples taken during the measured round are counted.
 */
async function profile(etcdEndpoint: string, seconds: number, log: (line: string) => void): Promise<CpuProfileSummary> {
  const dir = mkdtempSync(join(tmpdir(), 'branch-proxy-cpu-prof-'));
  const nowUs = () => Number(process.hrtime.bigint() / 1000n);
  try {
    const proxy = await startBranchProxy(etcdEndpoint, { name: `${DEFAULT_PATH} --cpu-prof`, workers: 'default', nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
    let window;
    try {
      const url = `http://127.0.0.1:${proxy.port}/`;
      await wrk(url, HOSTS.static, 32, seconds);
      const fromUs = nowUs();
      const r = await wrk(url, HOSTS.static, 32, seconds);
      window = { fromUs, toUs: nowUs() };
      log(`cpu profile: static backend c=32 ${DEFAULT_PATH} under node --cpu-prof: ${Math.round(r.rps)} req/s`);
    } finally {
      await proxy.stop();
    }
    const profiles = readProfiles(dir);
    if (profiles.length === 0) throw new Error('node --cpu-prof wrote no profile: the proxy did not exit by itself within 5 s of SIGTERM (see its log)');
    const summary = summarizeProfiles(profiles, CHECKOUT, window);
    if (summary.busyMs + summary.idleMs === 0) throw new Error('no profile sample falls in the measured round: V8 and process.hrtime disagree about the clock');
    return summary;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

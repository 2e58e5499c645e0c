/**
 * `npm run bench`: starts etcd, backends, branch-proxy and the reference proxies, runs each
 * scenario and prints a table. `--write` also stores the results in docs/benchmarks.{json,md,svg}.
 * Never part of `npm test`; `.ci/run` runs `npm run bench -- --smoke` only to prove it still works.
 */
import { parseArgs } from 'node:util';
import { cpus, totalmem } from 'node:os';
import { spawnSync } from 'node:child_process';
import { startEtcd } from '../test/helpers/etcd.ts';
import { throughput } from './throughput.ts';
import type { ThroughputRow } from './throughput.ts';
import { checkGoals, verdict } from './lib/goals.ts';
import type { CpuProfileSummary } from './lib/cpu-profile.ts';
import { removeBenchDir } from './lib/targets.ts';
import { writeReport } from './report.ts';
import { propagation } from './propagation.ts';
import { scale } from './scale.ts';
import type { CompareBuild } from './lib/targets.ts';
import { churn } from './churn.ts';
import { streams } from './streams.ts';
import { pageLoad } from './page-load.ts';
import { h2load } from './h2load.ts';
import { wake } from './wake.ts';

const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    write: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    connections: { type: 'string' },
    only: { type: 'string' },
    workers: { type: 'string' },
    compare: { type: 'string', multiple: true, default: [] },
    node: { type: 'string', multiple: true, default: [] },
    routes: { type: 'string' },
    samples: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
  },
});

const smoke = values.smoke;
const only = new Set((values.only ?? (smoke ? 'throughput,propagation,churn,scale,streams' : 'throughput,propagation,churn,scale,streams')).split(','));
const log = (line: string): void => console.error(`  ${line}`);

const etcd = await startEtcd();
const results: Record<string, unknown> = {};
try {
  if (only.has('throughput')) {
    console.error('throughput');
    const { rows, cpuProfile } = await throughput(
      etcd,
      {
        rounds: Number(values.rounds ?? (smoke ? 1 : 3)),
        seconds: Number(values.seconds ?? (smoke ? 1 : 5)),
        connections: (values.connections ?? (smoke ? '32' : '32,128')).split(',').map(Number),
        workers: values.workers?.split(',').map(Number),
        compare: parseCompare(),
        skipMissingPeers: smoke,
        cpuProf: values['cpu-prof'],
      },
      log,
    );
    results.throughput = rows;
    printThroughput(rows);
    if (cpuProfile) {
      results.cpuProfile = cpuProfile;
      printProfile(cpuProfile);
    }
  }
  if (only.has('propagation')) {
    console.error('propagation');
    // 400 samples so that p99 is not simply the maximum; --compare builds are polled in turn.
    results.propagation = await propagation(etcd, { samples: Number(values.samples ?? (smoke ? 5 : 400)), compare: parseCompare() }, log);
    console.log(JSON.stringify({ propagation: results.propagation }));
  }
  if (only.has('churn')) {
    console.error('churn');
    results.churn = await churn(etcd, { seconds: smoke ? 2 : 15, changesPerSecond: 100 }, log);
    console.log(JSON.stringify({ churn: results.churn }));
  }
  if (only.has('scale')) {
    console.error('scale');
    results.scale = await scale(
      etcd,
      // Idle memory is read 15 s after start: V8 keeps its start-up young generation for about 10 s.
      // With the default WORKERS unless --workers names one value (e.g. `--workers 1`).
      { routes: Number(values.routes ?? (smoke ? 1000 : 100_000)), seconds: smoke ? 1 : 5, rounds: values.rounds ? Number(values.rounds) : undefined, settleMs: smoke ? undefined : 15_000, workers: values.workers },
      log,
    );
    console.log(JSON.stringify({ scale: results.scale }));
  }
  if (only.has('wake')) {
    console.error('wake');
    results.wake = await wake(etcd, { held: smoke ? 100 : 1000, samples: smoke ? 5 : 50, seconds: smoke ? 1 : 3, holds: smoke ? 1 : 5, fleet: smoke ? 50 : 1000 }, log);
    console.log(JSON.stringify({ wake: results.wake }));
  }
  if (only.has('streams')) {
    console.error('streams');
    results.streams = await streams(etcd, { rounds: smoke ? 1 : 3, seconds: smoke ? 1 : 3, mib: smoke ? 16 : 256 }, log);
    console.log(JSON.stringify({ streams: results.streams }));
  }
  // Not in the default set: they need Chromium and Vite (pageload), h2load, nginx and Caddy (h2load).
  if (only.has('pageload')) {
    console.error('pageload');
    results.pageload = await pageLoad(etcd, { modules: smoke ? 40 : 300, loads: Number(values.rounds ?? (smoke ? 1 : 5)), delayMs: 20, compare: parseCompare() }, log);
    console.log(JSON.stringify({ pageload: results.pageload }));
  }
  if (only.has('h2load')) {
    console.error('h2load');
    results.h2load = await h2load(etcd, { rounds: Number(values.rounds ?? (smoke ? 1 : 3)), seconds: Number(values.seconds ?? (smoke ? 1 : 10)) }, log);
    console.log(JSON.stringify({ h2load: results.h2load }));
  }
} finally {
  await etcd.destroy();
  removeBenchDir();
}

if (values.write) {
  const machine = {
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    nginx: spawnSync('nginx', ['-v'], { encoding: 'utf8' }).stderr.trim(),
    ...(only.has('throughput') ? peerVersions() : {}),
    date: new Date().toISOString(),
    command: `npm run bench -- ${process.argv.slice(2).map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ')}`.trim(),
  };
  writeReport(results, machine);
  console.error('wrote docs/benchmarks.md, docs/benchmarks.json and docs/benchmarks.svg');
}

/** `--compare name=checkout` and `--node name=/path/to/node`, each repeatable. */
function parseCompare(): CompareBuild[] {
  const pairs = (option: string, values: string[]): [string, string][] =>
    values.map((v) => {
      const at = v.indexOf('=');
      if (at < 1) throw new Error(`--${option} ${v}: expected name=${option === 'node' ? '/path/to/node' : '/path/to/checkout'}`);
      return [v.slice(0, at), v.slice(at + 1)];
    });
  return [...pairs('compare', values.compare).map(([name, checkout]) => ({ name, checkout })), ...pairs('node', values.node).map(([name, node]) => ({ name, node }))];
}

function printThroughput(rows: ThroughputRow[]): void {
  const fmt = (n: number | null, digits = 0) => (n === null ? '–' : n.toFixed(digits));
  console.log(['backend', 'conns', 'path', 'req/s', '×nginx', '×direct', 'p50 ms', 'p99 ms', 'CPU µs/req', 'kernel µs/req', 'RSS MiB', 'errors'].join('\t'));
  for (const r of rows) {
    console.log([r.backend, r.connections, r.path, fmt(r.rps), fmt(r.xNginx, 2), fmt(r.xDirect, 2), fmt(r.p50Ms, 2), fmt(r.p99Ms, 2), fmt(r.cpuUsPerRequest, 1), fmt(r.kernelUsPerRequest, 1), fmt(r.rssMiB, 0), r.errors].join('\t'));
  }
  const goals = checkGoals(rows);
  if (goals.length === 0) return;
  console.log('\nissue #16 goals, branch-proxy (default), static backend, this run:');
  for (const g of goals) console.log([verdict(g).padEnd(5), `c${g.connections}`.padEnd(5), g.goal.padEnd(28), g.ratio === null ? '–' : `${g.ratio.toFixed(2)}×`, `(${g.detail})`].join(' '));
}

function printProfile(p: CpuProfileSummary): void {
  console.log(`\nwhere the time goes: branch-proxy (default) under node --cpu-prof, ${p.processes} processes, ${p.busyMs.toFixed(0)} ms busy (${p.idleMs.toFixed(0)} ms idle left out)`);
  console.log(['self ms', 'share', 'function', 'location', 'called from'].join('\t'));
  for (const e of p.top) console.log([e.selfMs.toFixed(0), `${(e.share * 100).toFixed(1)}%`, e.functionName, e.location, e.calledFrom ?? ''].join('\t'));
}

/** The peers' versions, when they are installed, for the report's machine line. */
function peerVersions(): Record<string, string> {
  const first = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    return r.status === 0 ? `${r.stdout}${r.stderr}`.trim().split('\n')[0]! : undefined;
  };
  const versions: Record<string, string> = {};
  const caddy = first('caddy', ['version']);
  const haproxy = first('haproxy', ['-v']);
  if (caddy) versions.caddy = caddy;
  if (haproxy) versions.haproxy = haproxy;
  return versions;
}

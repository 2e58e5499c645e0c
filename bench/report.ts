import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import escapeHtml from 'escape-html';
import type { ThroughputRow } from './throughput.ts';
import { PEER_PATHS } from './throughput.ts';
import type { PropagationResult } from './propagation.ts';
import type { ChurnResult } from './churn.ts';
import type { ScaleResult } from './scale.ts';
import type { StreamRow } from './streams.ts';
import type { PageLoadResult } from './page-load.ts';
import type { H2loadRow } from './h2load.ts';
import type { CpuProfileSummary } from './lib/cpu-profile.ts';
import { checkGoals, DEFAULT_PATH, verdict } from './lib/goals.ts';
import type { WakeResult } from './wake.ts';

export interface Results {
  throughput?: ThroughputRow[];
  propagation?: PropagationResult;
  churn?: ChurnResult;
  scale?: ScaleResult;
  streams?: StreamRow[];
  pageload?: PageLoadResult;
  h2load?: H2loadRow[];
  /** `--cpu-prof`: where branch-proxy (default) spends its CPU in one throughput round. */
  cpuProfile?: CpuProfileSummary;
  wake?: WakeResult;
}

const DOCS = new URL('../docs/', import.meta.url);
const n = (v: number | null | undefined, digits = 0): string => (v === null || v === undefined ? '–' : v.toFixed(digits));

type Machine = Record<string, string | number>;

/** docs/benchmarks.json (raw), docs/benchmarks.svg (chart) and docs/benchmarks.md (tables and how to rerun). */
export function writeReport(fresh: Results, machine: Machine): void {
  // A run of some scenarios replaces those and keeps the others' last results, each with the run it came from.
  const file = new URL('benchmarks.json', DOCS);
  const previous = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Results & { machine?: Machine; runs?: Record<string, Machine> }) : {};
  const { machine: older, runs: previousRuns, ...kept } = previous;
  const runs: Record<string, Machine> = {};
  for (const scenario of Object.keys(kept)) runs[scenario] = previousRuns?.[scenario] ?? older ?? {};
  for (const scenario of Object.keys(fresh)) runs[scenario] = machine;
  const results: Results = { ...kept, ...fresh };
  writeFileSync(file, `${JSON.stringify({ runs, ...results }, null, 2)}\n`);
  const md: string[] = [
    '# Benchmarks',
    '',
    'Written by `npm run bench -- --write`; numbers are from the runs listed below, on one machine, with',
    'the load generator (wrk, one thread), the backends and the proxies sharing its cores. Compare ratios',
    'measured in the same run, not absolute numbers across machines. A run of some scenarios (`--only`)',
    'rewrites those sections and keeps the others from their last run.',
    '',
    ...Object.entries(machine)
      .filter(([k]) => k !== 'date' && k !== 'command' && k !== 'node')
      .map(([k, v]) => `- ${k}: \`${v}\``),
    '',
    '| scenarios | run at | node | command |',
    '|---|---|---|---|',
    ...runRows(runs),
    '',
  ];
  if (results.throughput) {
    writeFileSync(new URL('benchmarks.svg', DOCS), chart(results.throughput));
    md.push(
      '## Throughput',
      '',
      'Median of the rounds; each round runs every path in turn (interleaved, the proxies in a rotated order). Every proxy logs each',
      'request to a file; branch-proxy also counts it in its metrics. CPU is the proxy process tree\'s user+system time per request;',
      'kernel is its system part (system calls, and on loopback the TCP stack that a write runs for the receiving end too).',
      '`branch-proxy (default)` runs with no settings beyond where etcd is (WORKERS unset: its default); the other branch-proxy rows',
      'change one setting from there.',
      '',
      'The peers, each set up as its documentation recommends for this job (host-based routing to the same two backends,',
      'keep-alive connections to them, X-Forwarded-For/-Proto/-Host, an access log file), with the Debian package\'s default',
      'processes or threads unless noted:',
      '',
      '- nginx: `worker_processes auto` (one per CPU), an `upstream` per backend with `keepalive 256`, `proxy_http_version 1.1`',
      '  and an empty `Connection` header, `proxy_set_header` for Host and X-Forwarded-*, request bodies streamed.',
      '- HAProxy 2.6: `mode http`, a `hdr(host)` ACL and a backend per route, `http-reuse safe` (its default, the one its',
      '  documentation recommends), `option forwardfor`, X-Forwarded-Proto/-Host set by `http-request set-header`, `option httplog`',
      '  to stdout, which goes to a file; `nbthread` left at its default (one per CPU); timeouts of Debian\'s haproxy.cfg.',
      '- Caddy 2.6: a site block per host with `reverse_proxy` and `log { output file … }`, `auto_https off`, the port set by',
      '  `http_port`; its defaults already keep upstream connections alive and set X-Forwarded-*; GOMAXPROCS is the number of CPUs.',
      '- configurable-http-proxy: `--host-routing`, routes added through its API, its default keep-alive agent; it has no access log of its own.',
      '',
      '![requests per second by path](benchmarks.svg)',
      '',
      '| backend | conns | path | req/s | × nginx | × direct | p50 ms | p99 ms | CPU µs/req | kernel µs/req | RSS MiB | errors |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|',
      ...results.throughput.map(
        (r) => `| ${r.backend} | ${r.connections} | ${r.path} | ${n(r.rps)} | ${n(r.xNginx, 2)} | ${n(r.xDirect, 2)} | ${n(r.p50Ms, 2)} | ${n(r.p99Ms, 2)} | ${n(r.cpuUsPerRequest, 1)} | ${n(r.kernelUsPerRequest ?? null, 1)} | ${n(r.rssMiB)} | ${r.errors} |`,
      ),
      '',
    );
    const goals = checkGoals(results.throughput);
    if (goals.length > 0) {
      md.push(
        '### Goals of issue #16',
        '',
        '`branch-proxy (default)` against nginx and Caddy from the same run, static backend, at each connection count: ratios',
        'measured side by side, which hold across machines better than the absolute numbers do.',
        '',
        '| conns | goal | ratio | figures | |',
        '|---|---|---|---|---|',
        ...goals.map((g) => `| ${g.connections} | ${g.goal} | ${g.ratio === null ? '–' : `${n(g.ratio, 2)}×`} | ${g.detail} | ${verdict(g)} |`),
        '',
      );
    }
    // Every other branch-proxy row (another setting, build or Node.js) against the default from the same run.
    const defaultOf = (r: ThroughputRow) => results.throughput!.find((d) => d.path === DEFAULT_PATH && d.backend === r.backend && d.connections === r.connections);
    const variants = results.throughput.filter((r) => r.path !== DEFAULT_PATH && r.path !== 'direct' && !PEER_PATHS.includes(r.path) && defaultOf(r));
    if (variants.length > 0) {
      md.push(
        '## branch-proxy settings',
        '',
        'Each other branch-proxy row of the throughput run against `branch-proxy (default)` from the same run. On this machine the',
        'proxies share 2 cores with wrk and the backend, so extra processes mostly compete with them; with cores to spare the',
        'workers scale with the cores they get.',
        '',
        '| backend | conns | path | req/s | × default | p99 ms | CPU µs/req | RSS MiB |',
        '|---|---|---|---|---|---|---|---|',
        ...variants.map((r) => {
          const d = defaultOf(r)!;
          return `| ${r.backend} | ${r.connections} | ${r.path} | ${n(r.rps)} | ${n(r.rps / d.rps, 2)} | ${n(r.p99Ms, 2)} | ${n(r.cpuUsPerRequest, 1)} | ${n(r.rssMiB)} |`;
        }),
        '',
      );
    }
  }
  if (results.cpuProfile) {
    const p = results.cpuProfile;
    md.push(
      '## Where the time goes',
      '',
      `\`npm run bench -- --only throughput --cpu-prof\`: a fresh \`branch-proxy (default)\` under \`node --cpu-prof\` (its ${p.processes} processes,`,
      'the primary and its workers, each write a profile) for one static-backend round at 32 connections after a warm-up round;',
      'only the samples taken during the measured round count.',
      `Self time of each function summed over the processes; shares are of the ${n(p.busyMs)} ms they were busy (${n(p.idleMs)} ms idle left out).`,
      'Locations are in the built `dist/` (line numbers of the compiled JavaScript); entries without one are V8\'s or native calls,',
      'whose self time includes the system calls they make (a socket write on loopback also runs the receiving side\'s TCP path);',
      'for those, "called from" names the nearest caller in `dist/` or a package, so one write is told from another.',
      'The profiler samples wall time: on a busy machine a write\'s share also holds the time the process waited for a core',
      'after waking the receiver; CPU per request (user + system) is the throughput table\'s column.',
      '',
      '| function | location | called from | self ms | share |',
      '|---|---|---|---|---|',
      ...p.top.map((e) => `| \`${e.functionName}\` | ${e.location ? `\`${e.location}\`` : '–'} | ${e.calledFrom ? `\`${e.calledFrom}\`` : '–'} | ${n(e.selfMs)} | ${n(e.share * 100, 1)} % |`),
      '',
    );
  }
  if (results.propagation) {
    const p = results.propagation;
    md.push('## Route propagation', '', 'etcd put acknowledged → first 200 through the proxy, for a new deployment (after 5 warm-up samples; stages on the host\'s monotonic clock).', '', '| build | stage | samples | median ms | p90 ms | p99 ms | max ms |', '|---|---|---|---|---|---|---|');
    for (const b of p.builds) {
      md.push(`| ${b.name} | put acked → first 200 | ${b.samples} | ${n(b.medianMs, 2)} | ${n(b.p90Ms, 2)} | ${n(b.p99Ms, 2)} | ${n(b.maxMs, 2)} |`);
      for (const [stage, s] of Object.entries(b.stages)) if (s) md.push(`| ${b.name} | ${stage} | ${s.samples} | ${n(s.medianMs, 2)} | ${n(s.p90Ms, 2)} | ${n(s.p99Ms, 2)} | ${n(s.maxMs, 2)} |`);
    }
    md.push('', `1-minute load average ${n(p.loadAverage[0], 2)} before, ${n(p.loadAverage[1], 2)} after.`, '');
  }
  if (results.churn) {
    const c = results.churn;
    md.push('## Registry churn under load', '', 'wrk on one unchanged route (32 connections) while other routes are added, moved and removed (one transaction each).', '', '| seconds | route changes | changes/s | applied by the proxy | requests | failed | req/s | p99 ms |', '|---|---|---|---|---|---|---|---|', `| ${n(c.seconds, 1)} | ${c.changes} | ${n(c.changesPerSecond, 1)} | ${c.changesApplied} | ${c.requests} | ${c.failed} | ${n(c.rps)} | ${n(c.p99Ms, 2)} |`, '');
    if (c.fallbackSwitches !== undefined) {
      md.push(`Meanwhile wrk (8 connections) on \`fb-api\`, served by FALLBACK_DEPLOYMENT \`stable\` until \`fb\` registers its own api: switched ${c.fallbackSwitches} times under ${c.fallbackRequests} requests, ${c.fallbackFailed} failed.`, '');
    }
  }
  if (results.scale) {
    const s = results.scale;
    const cluster = s.rows.some((r) => r.processes > 1);
    md.push(
      '## Scale',
      '',
      `A proxy with ${s.rows[0]?.routes} routes and one with ${s.rows[1]?.routes} run side by side (two registry prefixes in one etcd), both with WORKERS=${s.workers}${cluster ? ` (${s.rows[0]?.processes} processes each)` : ''}. Start-up and idle`,
      `memory are medians of ${s.starts} starts, idle memory read ${n(s.settleMs / 1000)} s after both were ready; load alternates between the two for`,
      `${s.rounds} wrk rounds (32 connections), then RSS is read right after the load and followed while both idle, until it is back within 10% of`,
      `its pre-load value or ${n(s.idleAfterMs / 1000)} s have passed (V8 returns the young generation it grew under load only when its memory reducer runs).`,
      'RSS is that of all the proxy\'s processes; "largest" is its largest process.',
      '',
      '| routes | snapshot load ms | ready after spawn ms | idle RSS MiB (largest process) | heap MiB | req/s | p50 ms | p99 ms | RSS before → after load → after idle MiB (largest) | back within 10% after |',
      '|---|---|---|---|---|---|---|---|---|---|',
      ...s.rows.map(
        (r) =>
          `| ${r.routes} | ${n(r.snapshotMs)} | ${n(r.readyMs)} | ${n(r.idleRssMiB, 1)} (${n(r.idleLargestRssMiB, 1)}) | ${n(r.heapUsedMiB, 1)} | ${n(r.rps)} | ${n(r.p50Ms, 2)} | ${n(r.p99Ms, 2)} | ${n(r.rssBeforeLoadMiB, 1)} → ${n(r.rssAfterLoadMiB, 1)} → ${n(r.rssAfterIdleMiB, 1)} (${n(r.rssAfterIdleLargestMiB, 1)}) | ${r.rssBackAfterS === null ? `not in ${n(s.idleAfterMs / 1000)} s` : `${r.rssBackAfterS} s`} |`,
      ),
      '',
      `Memory per route in the largest process: ${n(s.largestBytesPerRoute)} bytes RSS at idle after start, ${n(s.settledLargestBytesPerRoute)} bytes at the end of the idle after the load` +
        (cluster ? `; over all processes ${n(s.bytesPerRoute)} and ${n(s.settledBytesPerRoute)} bytes` : '') +
        `; ${n(s.heapBytesPerRoute)} bytes V8 heap at idle after start. Many/few: req/s ${n(s.rpsRatio, 3)}, p50 ${n(s.p50Ratio, 3)}, p99 ${n(s.p99Ratio, 3)}.`,
      '',
      'Where the bytes go (heap snapshot of one 100,000-route process, Node 20, issue #16): what stays is the route table, about',
      '370 bytes per route (deployment 96, service 64, target 48, service map 40, name string about 32, the deployments Map about 45).',
      'Nothing of the snapshot read is kept, and the activity tracker, stop tracker, metrics and dashboard hold entries only for',
      'deployments visited, stopped or shown. The rest of the idle-after-start figure is the snapshot load\'s garbage (the pages\' latin1',
      'strings, decoded keys) that the old generation keeps until its next full collection, and free heap pages V8 has not returned yet.',
      "The load's collections clear it, hence the lower figure after the idle. Each process of a cluster holds a table of its own, loaded from the primary's one snapshot and watch.",
      '',
      'Where the start-up goes (issue #16; `bench/startup.ts`, medians of 5–9 starts alternating two builds): with the default WORKERS',
      'three processes share the 2 cores, the primary reads etcd and relays each page to the workers as it arrives, and every process',
      'decodes and loads all 200,000 keys, so start-up is CPU-bound. Ready after spawn went from 3.1 s to 1.9–2.0 s: workers load the',
      'relayed pages from their latin1 strings without a Buffer per key and the first snapshot is announced by one resync event, not',
      "200,000 route and deployment events (3.08 → 2.58 s); pages are read through etcd3's connection pool and decoded from gRPC's bytes",
      "straight to latin1 strings (decodeRangeResponse, tested against etcd3's protobufjs decoding) instead of protobufjs objects with",
      'a Buffer per key and value and four 64-bit revisions turned into strings, which had been the primary\'s largest cost, and keys',
      'are parsed without split (2.52 → 2.05 s); workers no longer load fastify, whose dashboard is built by its first request',
      '(2.06 → 1.93 s); a probe result names targets, so no process scans the table for it unless a dashboard is open (2.07 → 1.97 s).',
      'What remains, per process: loading the code (0.3–0.4 s of CPU), decoding and loading the keys with their garbage collections',
      '(0.4–0.5 s), and in the primary the etcd read and the relay to the workers (0.3 s). A larger young generation did not help.',
      '',
    );
  }
  if (results.streams) {
    md.push(
      '## WebSockets and large bodies',
      '',
      '16 WebSocket connections each echoing 128-byte messages one at a time; one large download and upload.',
      '',
      '| path | WebSocket round trips/s | download MiB/s | upload MiB/s |',
      '|---|---|---|---|',
      ...results.streams.map((r) => `| ${r.path} | ${n(r.wsMessagesPerSecond)} | ${n(r.downloadMiBps)} | ${n(r.uploadMiBps)} |`),
      '',
    );
  }
  if (results.wake) md.push(...wakeSection(results.wake));
  if (results.pageload) {
    const p = results.pageload;
    md.push(
      '## Page load over HTTP/2 (a Vite dev server)',
      '',
      `Headless Chromium, a fresh profile per load, opens a Vite dev server app of ${p.modules} unbundled ES modules (each delayed ${p.delayMs} ms, as a dev server`,
      'transforms it) through the TLS proxy with HTTP/2 on and with `HTTP2=false`, and from Vite directly over HTTP/2 (its `server.https`) and with the',
      'browser refusing HTTP/2 (`--disable-http2`). The same app is also served by a plain Node server that only waits the same delay (the issue\'s',
      'reference workload), through the proxy and directly. Loads interleaved after one warm-up each; time from navigation start to the `load` event.',
      '',
      '| path | protocol | median ms | p90 ms | loads ms |',
      '|---|---|---|---|---|',
      ...p.rows.map((r) => `| ${r.mode} | ${r.protocol} | ${r.medianMs} | ${r.p90Ms} | ${r.loads.join(', ')} |`),
      '',
      `HTTP/2 through the proxy is ${n(p.h2Speedup, 2)}× faster than HTTP/1.1 through it (target ≥ 1.8×) and ${n(p.proxyOverDirect, 2)}× the time of Vite direct over HTTP/2 (target ≤ 1.3×).`,
      `Without a proxy the same workload gains ${n(p.viteDirectSpeedup, 2)}× from HTTP/2 (Vite) and ${n(p.plainDirectSpeedup, 2)}× (plain server); through the proxy the plain server gains ${n(p.plainSpeedup, 2)}×.`,
      `Hot reload through the proxy (edit a module, the page shows it): ${Object.entries(p.hotReload).map(([mode, ok]) => `${mode} ${ok ? 'works' : 'FAILED'}`).join(', ')}.`,
      '',
    );
  }
  if (results.h2load) {
    md.push(
      '## HTTP/2 termination (h2load)',
      '',
      'h2load (32 connections × 10 streams, one thread) against each proxy ending TLS and HTTP/2 in front of the same HTTP/1.1 keep-alive backend',
      '(nginx serving a fixed body), every proxy logging each request; interleaved rounds, median req/s, CPU time of the proxy\'s processes per request.',
      '',
      '| proxy | req/s | CPU µs/req | failed |',
      '|---|---|---|---|',
      ...results.h2load.map((r) => `| ${r.proxy} | ${n(r.rps)} | ${n(r.cpuUsPerRequest, 1)} | ${r.failed} |`),
      '',
    );
  }
  md.push('## Rerun', '', '```sh',
    'apt-get install -y wrk nginx-light etcd-server haproxy caddy   # once; --smoke leaves out haproxy and caddy when missing',
    'npm run bench                # prints the tables and the goals',
    'npm run bench -- --write     # also rewrites this page',
    'npm run bench -- --only throughput --cpu-prof   # also profiles branch-proxy (default): where the time goes',
    'npm run bench -- --only throughput --compare before=/path/to/other/checkout   # A/B against another build (default settings too)',
    'npm run bench -- --only throughput --workers 1,2   # extra rows with WORKERS=1 and WORKERS=2 beside the default',
    'npm run bench -- --only throughput --node "Node 24=/path/to/node24/bin/node"   # this build on another Node.js too',
    'npm run bench -- --only wake       # sleep and wake: one wake\'s overhead, 1,000 held requests',
    'npm run bench -- --only pageload   # Chromium + Vite (a devDependency): HTTP/2 against HTTP/1.1 page loads',
    'apt-get install -y nghttp2-client caddy && npm run bench -- --only h2load   # HTTP/2 termination against nginx and Caddy', '```', '');
  writeFileSync(new URL('benchmarks.md', DOCS), md.join('\n'));
}

/** Issue #13's figures: one wake's overhead, and many requests held on one waking deployment. */
export function wakeSection(w: WakeResult): string[] {
  const thousands = (v: number): string => v.toLocaleString('en-US');
  return [
    '## Sleep and wake',
    '',
    'A proxy with `WAKE_COMMAND=true`: the bench brings each woken service back itself by writing its keys (ip and port in one',
    'transaction) at a known moment, its backend already listening. Requests ask for JSON, so they are held, not shown the waiting page.',
    '',
    `**One held request at a time** (${w.singleOverheadMs.samples} wakes, p99 by nearest rank): from the keys written to the held request's response,`,
    `p50 ${n(w.singleOverheadMs.p50, 1)} ms, p99 ${n(w.singleOverheadMs.p99, 1)} ms (target p99 < 50 ms). This covers the watch event, one TCP connection`,
    'to each listed service, and forwarding the request; the record\'s removal in etcd happens after the held request has gone.',
    '',
    `**${thousands(w.held)} held requests on one waking deployment**, ${w.holds} time${w.holds === 1 ? '' : 's'} (a new deployment each):`,
    '',
    '| held | answered | 200 | release p50 ms | release p99 ms | release max ms | proxy RSS before → first hold (most in any hold) MiB |',
    '|---|---|---|---|---|---|---|',
    `| ${thousands(w.held * w.holds)} | ${thousands(w.answered)} | ${thousands(w.ok)} | ${n(w.releaseMs.p50, 1)} | ${n(w.releaseMs.p99, 1)} | ${n(w.releaseMs.max, 1)} | ${n(w.rssMiB.before)} → ${n(w.rssMiB.holding)} (${n(w.rssMiB.holdingMax)}) |`,
    '',
    'Release: from the keys written to each held response. Meanwhile 16 keep-alive loops request an awake deployment: in each round, a',
    'window without any wake, then one while the requests are held. p99 latency of the awake deployment:',
    '',
    '| round | without a wake ms | during the hold ms | ratio |',
    '|---|---|---|---|',
    ...w.awakeP99Ms.rounds.map((r, i) => `| ${i + 1} | ${n(r.baseline, 2)} | ${n(r.duringHold, 2)} | ${n(r.duringHold / r.baseline, 3)} |`),
    `| median | ${n(w.awakeP99Ms.baseline, 2)} | ${n(w.awakeP99Ms.duringHold, 2)} | ${n(w.awakeP99Ms.ratio, 3)} |`,
    '',
    `The ratio is the median of each round's ratio (target ≤ 1.10). 1-minute load average at the end: ${n(w.loadAverage[0], 2)}.`,
    '',
    ...(w.sleepingFleet
      ? [
          `**Sleeping deployments on the awake path**: the same 16 loops against the awake deployment, alone in the table and beside`,
          `${thousands(w.sleepingFleet.sleeping)} asleep deployments, alternating (${w.sleepingFleet.rounds.length} rounds of each):`,
          '',
          '| round | alone req/s | p99 ms | beside the sleeping ones req/s | p99 ms |',
          '|---|---|---|---|---|',
          ...w.sleepingFleet.rounds.map((r, i) => `| ${i + 1} | ${n(r.without.rps)} | ${n(r.without.p99Ms, 2)} | ${n(r.with.rps)} | ${n(r.with.p99Ms, 2)} |`),
          '',
          `With / without, medians of each round's ratio: req/s ${n(w.sleepingFleet.rpsRatio, 3)}, p99 ${n(w.sleepingFleet.p99Ratio, 3)}. A request to an awake`,
          'deployment resolves its route as always; the wake gate sees only requests to sleeping ones.',
          '',
        ]
      : []),
  ];
}

/** One row per run, naming the scenarios whose results come from it. */
function runRows(runs: Record<string, Machine>): string[] {
  const byRun = new Map<string, { m: Machine; scenarios: string[] }>();
  for (const [scenario, m] of Object.entries(runs)) {
    const key = JSON.stringify(m);
    const entry = byRun.get(key) ?? { m, scenarios: [] };
    entry.scenarios.push(scenario);
    byRun.set(key, entry);
  }
  return [...byRun.values()].map(({ m, scenarios }) => `| ${scenarios.join(', ')} | ${m.date ?? '?'} | ${m.node ?? '?'} | \`${m.command ?? '?'}\` |`);
}

/** Grouped bars: req/s per path, one group per backend, at the lowest connection count. */
function chart(rows: ThroughputRow[]): string {
  const conns = Math.min(...rows.map((r) => r.connections));
  const picked = rows.filter((r) => r.connections === conns);
  const backends = [...new Set(picked.map((r) => r.backend))];
  const paths = [...new Set(picked.map((r) => r.path))];
  const max = Math.max(...picked.map((r) => r.rps));
  const barH = 18;
  const groupH = paths.length * barH + 30;
  const width = 760;
  const left = 230;
  const parts: string[] = [];
  backends.forEach((backend, g) => {
    const y0 = 30 + g * groupH;
    parts.push(`<text x="10" y="${y0 - 8}" font-weight="bold">${escapeHtml(backend)} backend, ${conns} connections</text>`);
    paths.forEach((path, i) => {
      const row = picked.find((r) => r.backend === backend && r.path === path);
      if (!row) return;
      const w = ((width - left - 140) * row.rps) / max;
      const y = y0 + i * barH;
      const colour = path.startsWith('branch-proxy') ? '#0969da' : path === 'direct' ? '#8c959f' : '#bf8700';
      parts.push(`<text x="${left - 8}" y="${y + 13}" text-anchor="end">${escapeHtml(path)}</text>`);
      parts.push(`<rect x="${left}" y="${y + 2}" width="${w.toFixed(1)}" height="${barH - 5}" fill="${colour}"/>`);
      parts.push(`<text x="${(left + w + 6).toFixed(1)}" y="${y + 13}">${Math.round(row.rps)} (${row.xNginx.toFixed(2)}×)</text>`);
    });
  });
  const height = 30 + backends.length * groupH;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="system-ui,sans-serif" font-size="12"><rect width="100%" height="100%" fill="#fff"/>${parts.join('')}</svg>\n`;
}

import { Agent, request } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import type { IKeyValue } from 'etcd3';
import { serviceKey } from '../src/registry/keys.ts';
import type { EtcdServer } from '../test/helpers/etcd.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { summarize } from './lib/stats.ts';
import type { Summary } from './lib/stats.ts';
import { logPath, startBranchProxy, startNodeBackend } from './lib/targets.ts';
import type { CompareBuild } from './lib/targets.ts';

export interface PropagationOptions {
  readonly samples: number;
  /** Other branch-proxy builds, polled in turn with this one (sample i goes to build i mod n). */
  readonly compare?: readonly CompareBuild[];
}

/** Where the time of one "put acked -> first 200" goes; stages the build does not log are missing. */
export interface PropagationStages {
  /** The benchmark's own etcd watch: etcd's watch delivery, as a reference. */
  ackToReferenceWatch: Summary;
  /** Watch response handed to the proxy's registry (etcd delivery + the proxy's event loop). */
  ackToProxyWatch?: Summary;
  /** Applying the batch to the route table and telling listeners, wall time. */
  apply?: Summary;
  /** The same in process CPU time: where it is much less than wall time, the proxy waited for a core. */
  applyCpu?: Summary;
  /** Route in the table -> first 200: waiting for the poll in flight, then one proxied request. */
  tableToFirst200?: Summary;
  /** The one request that got the 200, send to end of body. */
  successfulPoll: Summary;
  /** The same request once more right after: a proxied request to a known route, for comparison. */
  repeatRequest: Summary;
}

export interface PropagationBuild extends Summary {
  name: string;
  stages: PropagationStages;
  /** 404s before the 200, per sample. */
  pollsMedian: number;
  pollsMax: number;
  /** Samples that overlapped a GC pause of the polled proxy (needs the GC trace). */
  samplesWithProxyGc: number;
}

/** Top level: this build (as before, for the report); `builds` has it and every --compare build. */
export interface PropagationResult extends Summary {
  builds: PropagationBuild[];
  /** 1-minute load average before and after: on a shared 2-core host, the tail follows it. */
  loadAverage: [number, number];
}

interface Sample {
  build: number;
  revision: number;
  acked: number;
  lastPollStart: number;
  done: number;
  polls: number;
  again: number;
}

interface ProxyBatch {
  receivedMs: number;
  appliedMs: number;
  /** Process CPU time (all threads: GC helpers and JIT count too) while applying it; older proxies do not log it. */
  cpuMs?: number;
}

interface GcPause {
  startMs: number;
  ms: number;
  kind?: number;
}

/** Each build watches its own prefix, so a put wakes only the proxy it measures, not every build compared. */
const PREFIX = '/bench-propagation-';
const prefixOf = (build: number): string => `${PREFIX}${build}/`;
const RUN = `prop-${Date.now().toString(36)}`;
const GC_TRACE = fileURLToPath(new URL('./lib/gc-trace.mjs', import.meta.url));
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

/** CLOCK_MONOTONIC in ms, the clock the proxy's debug log and the GC trace use. */
function now(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

function status(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ port, host: '127.0.0.1', path: '/', headers: { host, accept: 'application/json' }, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

function readJsonLines<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as T);
}

/**
 * etcd put acknowledged -> first 200 through the proxy, for brand-new deployments,
 * split into stages on the host's monotonic clock: the benchmark's own etcd watch
 * (etcd's delivery), the proxy's debug log of each watch batch (received, applied),
 * and the polling client. Samples are spaced by a random pause so periodic work
 * in the proxy (timers, GC) is hit at random phases, as real registrations are.
 */
export async function propagation(etcd: EtcdServer, o: PropagationOptions, log: (line: string) => void): Promise<PropagationResult> {
  const loadBefore = loadavg()[0]!;
  const backend = await startNodeBackend();
  const builds: CompareBuild[] = [{ name: 'branch-proxy' }, ...(o.compare ?? [])];
  const gcFiles = builds.map((b) => logPath(`${b.name} propagation gc`));
  const proxies = [];
  const referenceWatch = new Map<number, number>();
  const watcher = await etcd.client.watch().prefix(PREFIX).create();
  watcher.on('put', (kv: IKeyValue) => {
    const revision = Number(kv.mod_revision);
    if (!referenceWatch.has(revision)) referenceWatch.set(revision, now());
  });
  const benchGc: GcPause[] = [];
  const offsetMs = now() - performance.now();
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) benchGc.push({ startMs: e.startTime + offsetMs, ms: e.duration });
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  try {
    for (const [i, b] of builds.entries()) {
      proxies.push(
        await startBranchProxy(etcd.endpoint, {
          checkout: b.checkout,
          node: b.node,
          name: `${b.name} propagation`,
          // BENCH_PROXY_NODE_OPTIONS adds preloads to the proxies, e.g. a CPU profiler (--cpu-prof is not allowed in NODE_OPTIONS).
          env: {
            REGISTRY_PREFIX: prefixOf(i),
            LOG_LEVEL: 'debug',
            NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} ${process.env.BENCH_PROXY_NODE_OPTIONS ?? ''} --import=${JSON.stringify(GC_TRACE)}`.trim(),
            BENCH_GC_TRACE: gcFiles[i]!,
          },
        }),
      );
    }
    const warmup = Math.min(5, o.samples) * builds.length;
    const samples: Sample[] = [];
    const warmupMs: number[] = [];
    for (let i = 0; i < warmup + o.samples * builds.length; i++) {
      const build = i % builds.length;
      const proxy = proxies[build]!;
      const host = `${RUN}-${i}.dev.localhost`;
      const deployment = `${RUN}-${i}`;
      await sleep(5 + Math.random() * 20);
      const ip = serviceKey(prefixOf(build), deployment, 'web', 'ip');
      const res = await etcd.client
        .if(ip, 'Create', '==', 0)
        .then(etcd.client.put(ip).value('127.0.0.1'), etcd.client.put(serviceKey(prefixOf(build), deployment, 'web', 'port')).value(String(backend.port)))
        .commit();
      const acked = now();
      let polls = 0;
      let lastPollStart = acked;
      for (;;) {
        lastPollStart = now();
        if ((await status(proxy.port, host)) === 200) break;
        polls++;
        if (now() - acked > 5000) throw new Error(`${host} not routed 5 s after the put (last status ${await status(proxy.port, host)})`);
      }
      const done = now();
      // The same request again, the route long in the table: what one proxied request costs here.
      await status(proxy.port, host);
      const again = now() - done;
      if (i < warmup) warmupMs.push(done - acked);
      else samples.push({ build, revision: Number(res.header.revision), acked, lastPollStart, done, polls, again });
    }

    // The proxies log each batch asynchronously; wait until the last one is on disk.
    const batches = builds.map(() => new Map<number, ProxyBatch>());
    const hasStages = await Promise.all(
      builds.map(async (b, i) => {
        const last = samples.filter((s) => s.build === i).at(-1)!.revision;
        const read = (): boolean => {
          for (const l of readJsonLines<{ msg?: string; revision: number } & ProxyBatch>(logPath(`${b.name} propagation`))) {
            if (l.msg === 'registry watch batch applied') batches[i]!.set(l.revision, l);
          }
          return batches[i]!.has(last);
        };
        // A build without the debug line (an older baseline) only gets the end-to-end numbers.
        return waitFor(`${b.name} to log revision ${last}`, () => (read() ? true : undefined), 2000).then(() => true, () => read());
      }),
    );
    await sleep(600); // the GC trace flushes every 500 ms
    const gc = gcFiles.map((f) => readJsonLines<GcPause>(f));

    const result: PropagationBuild[] = builds.map((b, i) => {
      const mine = samples.filter((s) => s.build === i);
      const stage = (f: (s: Sample, p: ProxyBatch) => number): Summary | undefined => {
        if (!hasStages[i]) return undefined;
        return summarize(mine.flatMap((s) => (batches[i]!.has(s.revision) ? [f(s, batches[i]!.get(s.revision)!)] : [])));
      };
      const overlapsGc = (s: Sample): boolean => gc[i]!.some((g) => g.startMs + g.ms >= s.acked && g.startMs <= s.done);
      const polls = mine.map((s) => s.polls);
      return {
        name: b.name,
        ...summarize(mine.map((s) => s.done - s.acked)),
        stages: {
          ackToReferenceWatch: summarize(mine.flatMap((s) => (referenceWatch.has(s.revision) ? [referenceWatch.get(s.revision)! - s.acked] : []))),
          ackToProxyWatch: stage((s, p) => p.receivedMs - s.acked),
          apply: stage((_, p) => p.appliedMs - p.receivedMs),
          applyCpu: stage((_, p) => p.cpuMs ?? Number.NaN),
          tableToFirst200: stage((s, p) => s.done - p.appliedMs),
          successfulPoll: summarize(mine.map((s) => s.done - s.lastPollStart)),
          repeatRequest: summarize(mine.map((s) => s.again)),
        },
        pollsMedian: summarize(polls).medianMs,
        pollsMax: Math.max(...polls),
        samplesWithProxyGc: mine.filter(overlapsGc).length,
      };
    });

    const f = (n: number | undefined): string => (n === undefined || Number.isNaN(n) ? '–' : n.toFixed(2));
    // The first requests a fresh proxy forwards run cold code (JIT, lazy modules, the first upstream connection).
    log(`warm-up samples, not counted: ${warmupMs.map((ms) => f(ms)).join(', ')} ms`);
    for (const [i, r] of result.entries()) {
      log(`${r.name}: put -> first 200 median ${f(r.medianMs)} ms, p90 ${f(r.p90Ms)}, p99 ${f(r.p99Ms)}, max ${f(r.maxMs)} over ${r.samples}; polls median ${r.pollsMedian}, max ${r.pollsMax}; ${r.samplesWithProxyGc} samples overlapped a proxy GC`);
      for (const [name, s] of Object.entries(r.stages) as [string, Summary | undefined][]) {
        if (s) log(`  ${name.padEnd(20)} median ${f(s.medianMs)}  p90 ${f(s.p90Ms)}  p99 ${f(s.p99Ms)}  max ${f(s.maxMs)}`);
      }
      // The slowest samples, stage by stage, with whatever GC overlapped them: the tail explained.
      const slowest = samples
        .filter((s) => s.build === i)
        .sort((a, b) => b.done - b.acked - (a.done - a.acked))
        .slice(0, 5);
      for (const s of slowest) {
        const p = batches[i]!.get(s.revision);
        const ref = referenceWatch.get(s.revision);
        const during = (g: GcPause[]): string =>
          g
            .filter((x) => x.startMs + x.ms >= s.acked - 1 && x.startMs <= s.done)
            .map((x) => `${x.ms.toFixed(2)} ms at +${(x.startMs - s.acked).toFixed(2)}`)
            .join(', ') || 'none';
        log(
          `  slow: ${f(s.done - s.acked)} ms = ` +
            (p ? `proxy watch +${f(p.receivedMs - s.acked)}, applied +${f(p.appliedMs - s.acked)} (${f(p.cpuMs)} ms CPU), ` : '') +
            `200 +${f(s.done - s.acked)} (last poll took ${f(s.done - s.lastPollStart)}, ${s.polls} polls); reference watch +${f(ref === undefined ? undefined : ref - s.acked)}; ` +
            `proxy GC: ${during(gc[i]!)}; bench GC: ${during(benchGc)}`,
        );
      }
    }
    const mine = result[0]!;
    const loadAverage: [number, number] = [loadBefore, loadavg()[0]!];
    log(`1-minute load average ${loadAverage[0].toFixed(2)} before, ${loadAverage[1].toFixed(2)} after (2 cores: above ~1.5, other work competes)`);
    return { samples: mine.samples, medianMs: mine.medianMs, p90Ms: mine.p90Ms, p99Ms: mine.p99Ms, maxMs: mine.maxMs, builds: result, loadAverage };
  } finally {
    gcObserver.disconnect();
    await watcher.cancel();
    await Promise.all(proxies.map((p) => p.stop()));
    await backend.stop();
    await etcd.client.delete().prefix(PREFIX);
  }
}

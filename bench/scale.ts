import { readFileSync } from 'node:fs';
import { serviceKey } from '../src/registry/keys.ts';
import type { EtcdServer } from '../test/helpers/etcd.ts';
import { SERVE_SETTINGS } from '../src/config/settings.ts';
import { processRssMiB } from './lib/proc.ts';
import { median } from './lib/stats.ts';
import { logPath, startBranchProxy, startNodeBackend } from './lib/targets.ts';
import type { Running } from './lib/targets.ts';
import { wrk } from './lib/wrk.ts';
import type { LoadResult } from './lib/wrk.ts';

export interface ScaleRow {
  routes: number;
  /** Medians over the starts. */
  snapshotMs: number | null;
  readyMs: number;
  /** All processes of the proxy (a cluster's primary and workers). */
  idleRssMiB: number;
  /** Its largest process. */
  idleLargestRssMiB: number;
  processes: number;
  /** V8 heap in use at idle (garbage not yet collected included), from the proxy's own metrics. */
  heapUsedMiB: number | null;
  /** Medians over the interleaved load rounds. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Socket errors and non-2xx answers over all rounds. */
  errors: number;
  /** The proxy that took the load: idle before it, right after it, and after idling again. */
  rssBeforeLoadMiB: number;
  rssAfterLoadMiB: number;
  rssAfterIdleMiB: number;
  rssAfterIdleLargestMiB: number;
  /** Idle seconds after the load until RSS was back within 10% of rssBeforeLoadMiB; null if not within idleAfterMs. */
  rssBackAfterS: number | null;
}

export interface ScaleResult {
  /** The WORKERS setting the proxies ran with. */
  workers: string;
  rows: ScaleRow[];
  /** Over all processes of the proxy. */
  bytesPerRoute: number;
  /** In its largest process: what one process needs per route. */
  largestBytesPerRoute: number;
  heapBytesPerRoute: number | null;
  /** From the RSS of both proxies at the end of the idle after the load: by then the load's GCs have collected the snapshot's garbage. */
  settledBytesPerRoute: number;
  settledLargestBytesPerRoute: number;
  rpsRatio: number;
  p50Ratio: number;
  p99Ratio: number;
  starts: number;
  rounds: number;
  settleMs: number;
  idleAfterMs: number;
}

export interface ScaleOptions {
  routes: number;
  seconds: number;
  /** Starts of each proxy for the start-up and idle-memory medians (default 3; 1 with `seconds` <= 1). */
  starts?: number;
  /** wrk rounds per proxy, interleaved (default 5; 1 with `seconds` <= 1). */
  rounds?: number;
  /** Idle time after both proxies are ready before memory is read. */
  settleMs?: number;
  /**
   * How long RSS is followed after the load, waiting for it to come back within 10%
   * of its pre-load value. V8 returns the young generation it grew only when its
   * memory reducer runs: after 60–95 s of idling in our runs, later (or never) in a
   * process that does nothing at all.
   */
  idleAfterMs?: number;
  /** A built checkout to measure instead of this one (for before/after comparisons). */
  checkout?: string;
  /** WORKERS for both proxies; default: the setting's default, as a user runs it (issue #16). */
  workers?: string;
}

const DEFAULT_WORKERS = SERVE_SETTINGS.find((s) => s.env === 'WORKERS')!.default;

const FEW = 10;
const HOST = 'scale-7.dev.localhost';

/**
 * Start-up, memory and request cost with few routes and with many. Both
 * registries live in one etcd under different prefixes, so a proxy with few
 * routes and one with many run side by side: memory is the median of several
 * starts, and load alternates between them round by round (medians), so drift
 * on a shared machine hits both alike.
 */
export async function scale(etcd: EtcdServer, o: ScaleOptions, log: (line: string) => void): Promise<ScaleResult> {
  const quick = o.seconds <= 1;
  const starts = o.starts ?? (quick ? 1 : 3);
  const rounds = o.rounds ?? (quick ? 1 : 5);
  const settleMs = o.settleMs ?? (quick ? 1000 : 3000);
  const idleAfterMs = o.idleAfterMs ?? (quick ? 2000 : 180_000);
  const workers = o.workers ?? DEFAULT_WORKERS;
  const sizes = [FEW, o.routes] as const;
  const prefix = (routes: number): string => `/scale-${routes}/`;
  const backend = await startNodeBackend();
  try {
    for (const routes of sizes) await writeRoutes(etcd, prefix(routes), routes, backend.port);

    const samples = sizes.map(() => ({ readyMs: [] as number[], snapshotMs: [] as number[], rss: [] as number[], largest: [] as number[], processes: 0, heap: [] as number[] }));
    let running: (Running & { adminPort: number })[] = [];
    try {
      for (let start = 0; start < starts; start++) {
        // Alternate which one starts first, in case the second start is slowed by the first.
        const order = start % 2 === 0 ? [0, 1] : [1, 0];
        running = [];
        for (const i of order) {
          const routes = sizes[i]!;
          const name = `branch-proxy (${routes} routes, start ${start + 1})`;
          const began = performance.now();
          running[i] = await startBranchProxy(etcd.endpoint, { name, checkout: o.checkout, env: { REGISTRY_PREFIX: prefix(routes), WORKERS: workers } });
          samples[i]!.readyMs.push(performance.now() - began);
          const ms = snapshotDuration(name);
          if (ms !== null) samples[i]!.snapshotMs.push(ms);
        }
        await sleep(settleMs);
        for (const [i, p] of running.entries()) {
          const rss = processRssMiB(p.pid);
          samples[i]!.rss.push(sum(rss));
          samples[i]!.largest.push(Math.max(...rss));
          samples[i]!.processes = rss.length;
        }
        for (const [i, p] of running.entries()) {
          const heap = await heapUsedMiB(p.adminPort);
          if (heap !== null) samples[i]!.heap.push(heap);
        }
        log(sizes.map((routes, i) => `${routes} routes: ready ${samples[i]!.readyMs.at(-1)!.toFixed(0)} ms, idle RSS ${samples[i]!.rss.at(-1)!.toFixed(1)} MiB (largest process ${samples[i]!.largest.at(-1)!.toFixed(1)})`).join('; '));
        if (start < starts - 1) await Promise.all(running.map((p) => p.stop()));
      }

      // Load on the last pair, which has idled since its memory was read. A short
      // unmeasured run first, so neither proxy's first round pays for JIT warm-up.
      const before = running.map((p) => sum(processRssMiB(p.pid)));
      for (const p of running) await wrk(`http://127.0.0.1:${p.port}/`, HOST, 32, 1);
      const loads: LoadResult[][] = sizes.map(() => []);
      for (let round = 0; round < rounds; round++) {
        for (const i of round % 2 === 0 ? [0, 1] : [1, 0]) {
          const r = await wrk(`http://127.0.0.1:${running[i]!.port}/`, HOST, 32, o.seconds);
          loads[i]!.push(r);
        }
        log(`round ${round + 1}: ${sizes.map((routes, i) => `${routes} routes ${Math.round(loads[i]!.at(-1)!.rps)} req/s${loads[i]!.at(-1)!.errors ? ` (${loads[i]!.at(-1)!.errors} errors)` : ''}`).join(', ')}`);
      }
      const afterLoad = running.map((p) => sum(processRssMiB(p.pid)));
      const { afterIdle, backAfterS } = await followRssBack(running, before, idleAfterMs, log);
      const afterIdleLargest = running.map((p) => Math.max(...processRssMiB(p.pid)));

      const rows = sizes.map((routes, i): ScaleRow => {
        const s = samples[i]!;
        return {
          routes,
          snapshotMs: s.snapshotMs.length > 0 ? median(s.snapshotMs) : null,
          readyMs: median(s.readyMs),
          idleRssMiB: median(s.rss),
          idleLargestRssMiB: median(s.largest),
          processes: s.processes,
          heapUsedMiB: s.heap.length > 0 ? median(s.heap) : null,
          rps: median(loads[i]!.map((r) => r.rps)),
          p50Ms: median(loads[i]!.map((r) => r.p50Ms)),
          p99Ms: median(loads[i]!.map((r) => r.p99Ms)),
          errors: loads[i]!.reduce((sum, r) => sum + r.errors, 0),
          rssBeforeLoadMiB: before[i]!,
          rssAfterLoadMiB: afterLoad[i]!,
          rssAfterIdleMiB: afterIdle[i]!,
          rssAfterIdleLargestMiB: afterIdleLargest[i]!,
          rssBackAfterS: backAfterS[i]!,
        };
      });
      for (const r of rows) {
        log(
          `${r.routes} routes (WORKERS=${workers}, ${r.processes} processes): snapshot ${r.snapshotMs?.toFixed(0) ?? '?'} ms, ready ${r.readyMs.toFixed(0)} ms, idle RSS ${r.idleRssMiB.toFixed(1)} MiB (largest ${r.idleLargestRssMiB.toFixed(1)}), ` +
            `heap ${r.heapUsedMiB?.toFixed(1) ?? '?'} MiB, ${Math.round(r.rps)} req/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, ${r.errors} errors, ` +
            `RSS ${r.rssBeforeLoadMiB.toFixed(1)} -> ${r.rssAfterLoadMiB.toFixed(1)} after load -> ${r.rssAfterIdleMiB.toFixed(1)} MiB idle ` +
            (r.rssBackAfterS === null ? `(not back within 10% in ${idleAfterMs / 1000} s)` : `(back within 10% after ${r.rssBackAfterS} s)`),
        );
      }
      const [few, many] = [rows[0]!, rows[1]!];
      const perRoute = (mib: number): number => (mib * 2 ** 20) / (many.routes - few.routes);
      return {
        workers,
        rows,
        bytesPerRoute: perRoute(many.idleRssMiB - few.idleRssMiB),
        largestBytesPerRoute: perRoute(many.idleLargestRssMiB - few.idleLargestRssMiB),
        settledBytesPerRoute: perRoute(many.rssAfterIdleMiB - few.rssAfterIdleMiB),
        settledLargestBytesPerRoute: perRoute(many.rssAfterIdleLargestMiB - few.rssAfterIdleLargestMiB),
        heapBytesPerRoute: few.heapUsedMiB !== null && many.heapUsedMiB !== null ? perRoute(many.heapUsedMiB - few.heapUsedMiB) : null,
        rpsRatio: many.rps / few.rps,
        p50Ratio: many.p50Ms / few.p50Ms,
        p99Ratio: many.p99Ms / few.p99Ms,
        starts,
        rounds,
        settleMs,
        idleAfterMs,
      };
    } finally {
      await Promise.all(running.map((p) => p.stop()));
    }
  } finally {
    await backend.stop();
  }
}

/** Polls RSS while the proxies idle, until each is back within 10% of its pre-load value or `maxMs` has passed. */
async function followRssBack(running: readonly Running[], before: readonly number[], maxMs: number, log: (line: string) => void): Promise<{ afterIdle: number[]; backAfterS: (number | null)[] }> {
  const stepMs = Math.min(5000, maxMs);
  const backAfterS: (number | null)[] = running.map(() => null);
  let afterIdle = running.map((p) => sum(processRssMiB(p.pid)));
  for (let idleMs = stepMs; idleMs <= maxMs && backAfterS.includes(null); idleMs += stepMs) {
    await sleep(stepMs);
    afterIdle = running.map((p) => sum(processRssMiB(p.pid)));
    for (const [i, rss] of afterIdle.entries()) if (backAfterS[i] === null && rss <= before[i]! * 1.1) backAfterS[i] = idleMs / 1000;
    if (idleMs % 30_000 === 0) log(`idle ${idleMs / 1000} s: RSS ${afterIdle.map((r) => r.toFixed(1)).join(' / ')} MiB`);
  }
  return { afterIdle, backAfterS };
}

/** `routes` deployments with one service each, all on the one backend. */
export async function writeRoutes(etcd: EtcdServer, prefix: string, routes: number, port: number): Promise<void> {
  for (let written = 0; written < routes; ) {
    // etcd takes at most 128 operations per transaction.
    const ops = [];
    for (let i = 0; i < 64 && written < routes; i++, written++) {
      ops.push(etcd.client.put(serviceKey(prefix, `scale-${written}`, 'web', 'ip')).value('127.0.0.1'));
      ops.push(etcd.client.put(serviceKey(prefix, `scale-${written}`, 'web', 'port')).value(String(port)));
    }
    await etcd.client.if(`${prefix}none`, 'Create', '==', 0).then(...ops).commit();
  }
}

/** How long the proxy itself took to load the snapshot, from its log line. */
function snapshotDuration(name: string): number | null {
  const line = readFileSync(logPath(name), 'utf8')
    .split('\n')
    .find((l) => l.includes('"registry snapshot loaded"'));
  return line ? ((JSON.parse(line) as { ms?: number }).ms ?? null) : null;
}

/** V8 heap in use, as the proxy reports it on its admin port. */
async function heapUsedMiB(adminPort: number): Promise<number | null> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    const bytes = /^nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1];
    return bytes === undefined ? null : Number(bytes) / 2 ** 20;
  } catch {
    return null;
  }
}

function sum(values: readonly number[]): number {
  return values.reduce((total, v) => total + v, 0);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Preloaded into a process under benchmark (NODE_OPTIONS=--import=<this file>, BENCH_GC_TRACE=<file>):
// appends one JSON line per garbage collection, with its start on CLOCK_MONOTONIC, so the
// benchmark can tell whether a slow sample overlapped a GC pause. Not part of the product.
import { appendFileSync } from 'node:fs';
import { PerformanceObserver, performance } from 'node:perf_hooks';

const out = process.env.BENCH_GC_TRACE;
if (out) {
  // performance.now() counts from this process's start; hrtime is the host-wide monotonic clock.
  const offsetMs = Number(process.hrtime.bigint()) / 1e6 - performance.now();
  let lines = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) lines.push(JSON.stringify({ pid: process.pid, startMs: e.startTime + offsetMs, ms: e.duration, kind: e.detail?.kind }));
  }).observe({ entryTypes: ['gc'] });
  const flush = () => {
    if (lines.length === 0) return;
    appendFileSync(out, `${lines.join('\n')}\n`);
    lines = [];
  };
  setInterval(flush, 500).unref();
  process.on('exit', flush);
}

/**
 * Reads the .cpuprofile files `node --cpu-prof` writes (one per process: the primary and each cluster
 * worker) and sums self time per function over all of them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The parts of V8's profile format (`Profiler.Profile` of the DevTools protocol) used here. */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  /** µs on the monotonic clock (the one process.hrtime reads). */
  startTime: number;
  /** The node each sample landed in, and the µs elapsed before each sample. */
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileEntry {
  readonly functionName: string;
  /** Relative to the checkout, or a node: / node_modules path; empty for V8's own entries like (garbage collector). */
  readonly location: string;
  readonly selfMs: number;
  /**
   * For a native or Node-internal function (a socket write, a syscall): the nearest caller in this
   * project or a package, so that one write is told from another. Entries are split by it.
   */
  readonly calledFrom?: string;
  /** Of the busy time: all samples except (idle). */
  readonly share: number;
}

export interface CpuProfileSummary {
  readonly processes: number;
  readonly busyMs: number;
  readonly idleMs: number;
  readonly top: readonly ProfileEntry[];
}

/** Every *.cpuprofile in a directory. */
export function readProfiles(dir: string): CpuProfile[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile);
}

/** `file:///…/checkout/dist/x.js` → `dist/x.js:12`, so that no machine's paths end up in the docs. */
function location(url: string, lineNumber: number, checkout: string): string {
  if (url === '') return '';
  const path = url.replace(/^file:\/\//, '');
  const modules = path.lastIndexOf('/node_modules/');
  const short = path.startsWith(checkout) ? path.slice(checkout.length) : modules >= 0 ? path.slice(modules + 1) : path;
  return `${short}:${lineNumber + 1}`;
}

/** A span of the monotonic clock in µs (`process.hrtime.bigint() / 1000n`). */
export interface Window {
  readonly fromUs: number;
  readonly toUs: number;
}

/** The `top` functions by self time over the samples of all profiles taken within `window`, each with its share of the busy time. */
export function summarizeProfiles(profiles: readonly CpuProfile[], checkout: string, window: Window, top = 15): CpuProfileSummary {
  const selfUs = new Map<string, { functionName: string; location: string; calledFrom?: string; us: number }>();
  let idleUs = 0;
  let totalUs = 0;
  for (const p of profiles) {
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of p.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
    /** The nearest caller of `id` in the checkout or a package (not node:internal, not native). */
    const ownCaller = (id: number): string | undefined => {
      for (let at = parent.get(id); at !== undefined; at = parent.get(at)) {
        const f = byId.get(at)!.callFrame;
        if (f.url !== '' && !f.url.startsWith('node:')) return `${f.functionName || '(anonymous)'} ${location(f.url, f.lineNumber, checkout)}`;
      }
      return undefined;
    };
    // A sample stands for the time until the next one (as DevTools counts it); the last one for none.
    let at = p.startTime + (p.timeDeltas[0] ?? 0);
    for (let i = 0; i + 1 < p.samples.length; i++) {
      const us = p.timeDeltas[i + 1]!;
      at += us;
      if (at - us < window.fromUs || at > window.toUs) continue;
      const frame = byId.get(p.samples[i]!)!.callFrame;
      totalUs += us;
      if (frame.functionName === '(idle)') {
        idleUs += us;
        continue;
      }
      const where = location(frame.url, frame.lineNumber, checkout);
      const calledFrom = frame.url === '' || frame.url.startsWith('node:') ? ownCaller(p.samples[i]!) : undefined;
      const key = `${frame.functionName}\0${where}\0${calledFrom ?? ''}`;
      const entry = selfUs.get(key) ?? { functionName: frame.functionName || '(anonymous)', location: where, ...(calledFrom ? { calledFrom } : {}), us: 0 };
      entry.us += us;
      selfUs.set(key, entry);
    }
  }
  const busyUs = totalUs - idleUs;
  return {
    processes: profiles.length,
    busyMs: busyUs / 1000,
    idleMs: idleUs / 1000,
    top: [...selfUs.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((e) => ({ functionName: e.functionName, location: e.location, ...(e.calledFrom ? { calledFrom: e.calledFrom } : {}), selfMs: e.us / 1000, share: busyUs > 0 ? e.us / busyUs : 0 })),
  };
}

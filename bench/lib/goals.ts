/**
 * The throughput goals of issue #16, checked against one run's rows: branch-proxy with default
 * settings beside nginx and Caddy measured in the same run, static backend, at each connection count.
 */
import type { ThroughputRow } from '../throughput.ts';

export const DEFAULT_PATH = 'branch-proxy (default)';

export interface GoalCheck {
  readonly goal: string;
  readonly connections: number;
  /** branch-proxy's figure over the reference's; null when the reference was not measured. */
  readonly ratio: number | null;
  readonly met: boolean | null;
  /** The two figures the ratio comes from, e.g. "61.2 vs 14.5 µs". */
  readonly detail: string;
}

interface Goal {
  readonly goal: string;
  readonly reference: string;
  readonly measure: (r: ThroughputRow) => number | null;
  readonly unit: string;
  readonly digits: number;
  /** The ratio must be at most (CPU, latency) or at least (throughput) this. */
  readonly atMost?: number;
  readonly atLeast?: number;
}

const GOALS: readonly Goal[] = [
  { goal: "CPU per request ≤ 2× nginx's", reference: 'nginx-proxy', measure: (r) => r.cpuUsPerRequest, unit: 'µs', digits: 1, atMost: 2 },
  { goal: 'req/s ≥ 0.5× nginx', reference: 'nginx-proxy', measure: (r) => r.rps, unit: 'req/s', digits: 0, atLeast: 0.5 },
  { goal: 'req/s ≥ 2× Caddy', reference: 'caddy', measure: (r) => r.rps, unit: 'req/s', digits: 0, atLeast: 2 },
  { goal: "p99 ≤ 2× nginx's", reference: 'nginx-proxy', measure: (r) => r.p99Ms, unit: 'ms', digits: 2, atMost: 2 },
];

/** Every goal at every connection count measured with the static backend; empty without a branch-proxy (default) row. */
export function checkGoals(rows: readonly ThroughputRow[]): GoalCheck[] {
  const checks: GoalCheck[] = [];
  for (const ours of rows.filter((r) => r.backend === 'static' && r.path === DEFAULT_PATH)) {
    for (const g of GOALS) {
      const theirs = rows.find((r) => r.backend === 'static' && r.connections === ours.connections && r.path === g.reference);
      const [a, b] = [g.measure(ours), theirs ? g.measure(theirs) : null];
      if (a === null || b === null || b === 0) {
        checks.push({ goal: g.goal, connections: ours.connections, ratio: null, met: null, detail: `${g.reference} not measured` });
        continue;
      }
      const ratio = a / b;
      checks.push({
        goal: g.goal,
        connections: ours.connections,
        ratio,
        met: g.atMost !== undefined ? ratio <= g.atMost : ratio >= g.atLeast!,
        detail: `${a.toFixed(g.digits)} vs ${b.toFixed(g.digits)} ${g.unit}`,
      });
    }
  }
  return checks;
}

/** `ok`, `short`, or `–` when there was nothing to compare with. */
export function verdict(c: GoalCheck): string {
  return c.met === null ? '–' : c.met ? 'ok' : 'short';
}

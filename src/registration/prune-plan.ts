import parseDuration from 'parse-duration';
import { parseIsoTime } from '../registry/iso-time.ts';
import type { DeploymentSummary } from './deployment-summary.ts';

/** A duration such as `7d`, `12h`, `30m` or `1h30m`, in milliseconds; undefined when it is not one. */
export function parseAge(text: string): number | undefined {
  // A bare number would silently mean milliseconds: too easy to get wrong for a command that deletes.
  if (/^\s*[\d.]+\s*$/.test(text)) return undefined;
  const ms = parseDuration(text);
  return ms !== null && Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

export interface PrunePlan {
  readonly remove: readonly DeploymentSummary[];
  /** Deployments with no (valid) `created` key: their age is unknown, so they are kept. */
  readonly undated: readonly DeploymentSummary[];
}

/** Deployments whose `created` is more than `maxAgeMs` before `now`. */
export function planPrune(deployments: readonly DeploymentSummary[], maxAgeMs: number, now: number): PrunePlan {
  const cutoff = now - maxAgeMs;
  return {
    remove: deployments.filter((d) => {
      const created = parseIsoTime(d.created);
      return created !== undefined && created < cutoff;
    }),
    undated: deployments.filter((d) => d.created === undefined),
  };
}

/**
 * Services of a deployment still registered with ip and port, i.e. running:
 * pruning it takes away their routes, it does not stop them.
 */
export function runningServices(d: DeploymentSummary): string[] {
  return d.services.filter((s) => s.target !== undefined).map((s) => s.service);
}

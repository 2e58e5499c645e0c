import { parseIsoTime } from '../registry/iso-time.ts';

/** The two times that tell whether anyone still uses a deployment. */
export interface ActivityTimes {
  /** Last proxied request (the `last-request` key), ISO-8601. */
  readonly lastRequest?: string | undefined;
  /** Registration time (the `created` key), ISO-8601. */
  readonly created?: string | undefined;
}

/**
 * When anyone last used the deployment, in ms since the epoch: its last
 * request, or its registration if that is later (registered again since) or it
 * was never opened. Undefined when neither time is known.
 */
export function lastActivity(d: ActivityTimes): number | undefined {
  const last = parseIsoTime(d.lastRequest);
  const created = parseIsoTime(d.created);
  if (last === undefined) return created;
  return created === undefined ? last : Math.max(last, created);
}

/**
 * True when nobody has opened the deployment for at least `idleForMs`. A
 * deployment with neither time is never idle: without a time there is no
 * evidence that it is stale.
 */
export function isIdle(d: ActivityTimes, idleForMs: number, nowMs: number): boolean {
  const last = lastActivity(d);
  return last !== undefined && nowMs - last >= idleForMs;
}

/** The deployments `prune --idle-for` removes, longest idle first. */
export function idleDeployments<D extends ActivityTimes>(deployments: Iterable<D>, idleForMs: number, nowMs: number): D[] {
  return [...deployments].filter((d) => isIdle(d, idleForMs, nowMs)).sort((a, b) => (lastActivity(a) ?? 0) - (lastActivity(b) ?? 0));
}

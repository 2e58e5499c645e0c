import { lastActivity } from '../activity/idle.ts';

/** What the sleeper knows about one deployment when it looks for idle ones. */
export interface IdleCandidate {
  readonly name: string;
  /** `created` and `last-request` from etcd (the latter merged over every replica), ISO-8601. */
  readonly created?: string | undefined;
  readonly lastRequest?: string | undefined;
  /** This host's last activity (all its workers merged), ms since the epoch; may be newer than etcd's. */
  readonly localActivityMs?: number | undefined;
  /** WebSockets and streamed responses open right now: someone is using it even without new requests. */
  readonly openStreams: number;
  /** A sleep record exists (sleeping, asleep or waking): never start another sleep. */
  readonly hasSleepRecord: boolean;
  /** Services with a route: with none, there is nothing running to stop. */
  readonly routedServices: number;
}

/** The latest of etcd's last request, this host's activity and the creation time; undefined when none is known. */
export function lastActivityMs(c: IdleCandidate): number | undefined {
  const stored = lastActivity(c);
  if (c.localActivityMs === undefined) return stored;
  return stored === undefined ? c.localActivityMs : Math.max(stored, c.localActivityMs);
}

/**
 * The deployments to put to sleep, longest idle first: nothing proxied and
 * nothing open for at least `sleepAfterMs`. `created` counts as activity, so a
 * fresh deployment is not put to sleep before anyone could open it; one with
 * no time at all is never idle (nothing says it is stale).
 */
export function deploymentsToSleep(candidates: Iterable<IdleCandidate>, sleepAfterMs: number, nowMs: number): string[] {
  const idle: { name: string; last: number }[] = [];
  for (const c of candidates) {
    if (c.hasSleepRecord || c.routedServices === 0 || c.openStreams > 0) continue;
    const last = lastActivityMs(c);
    if (last !== undefined && nowMs - last >= sleepAfterMs) idle.push({ name: c.name, last });
  }
  return idle.sort((a, b) => a.last - b.last || a.name.localeCompare(b.name)).map((d) => d.name);
}

/** How often to look: a quarter of SLEEP_AFTER (a deployment sleeps at most 25 % late), at most every 30 s, at least every second. */
export function sweepIntervalMs(sleepAfterMs: number): number {
  return Math.max(1000, Math.min(Math.floor(sleepAfterMs / 4), 30_000));
}

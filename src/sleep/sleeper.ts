import type { Logger } from 'pino';
import type { ActivityTracker } from '../activity/activity-tracker.ts';
import type { RegistryView } from '../registry/registry-view.ts';
import type { Deployment } from '../routing/route-types.ts';
import type { SleepDriver } from './driver.ts';
import type { IdleCandidate } from './idle-policy.ts';
import { deploymentsToSleep, sweepIntervalMs } from './idle-policy.ts';
import { ownerId } from './owner-id.ts';
import type { SleepRecord } from './sleep-record.ts';
import type { SleepStore } from './sleep-store.ts';

export interface SleeperOptions {
  readonly registry: RegistryView;
  readonly store: SleepStore;
  readonly driver: () => Promise<SleepDriver>;
  /** The replica's merged record of visits (the admin side's). */
  readonly activity: ActivityTracker;
  readonly sleepAfterMs: number;
  readonly log: Logger;
}

/**
 * Puts idle deployments to sleep (issue #13): once per replica, on its admin
 * side, every sweepIntervalMs. Replicas race for each sleep through the claim
 * on the record's revision; the loser does nothing.
 */
export class Sleeper {
  readonly #o: SleeperOptions;
  readonly #owner = ownerId();
  #driver: Promise<SleepDriver> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #sweep: Promise<void> = Promise.resolve();
  #stopped = false;
  /** A failed sleep is retried only after SLEEP_AFTER, not on every sweep. */
  readonly #failedAt = new Map<string, number>();

  constructor(o: SleeperOptions) {
    this.#o = o;
  }

  start(): void {
    const every = sweepIntervalMs(this.#o.sleepAfterMs);
    this.#timer = setInterval(() => {
      this.#sweep = this.#sweep.then(() => this.sweep());
    }, every);
    this.#timer.unref();
  }

  /** Stops sweeping; resolves once a running sweep has ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#sweep;
  }

  /** One look for idle deployments; each one found is put to sleep in turn. */
  async sweep(now = Date.now()): Promise<void> {
    const { registry, activity, sleepAfterMs, log } = this.#o;
    if (!registry.ready || !registry.connected) return;
    const candidates: IdleCandidate[] = [];
    for (const d of registry.table.deployments.values()) {
      const failed = this.#failedAt.get(d.name);
      if (failed !== undefined && now - failed < sleepAfterMs) continue;
      candidates.push(candidateOf(d, activity));
    }
    for (const name of deploymentsToSleep(candidates, sleepAfterMs, now)) {
      if (this.#stopped) return;
      const d = registry.table.deployments.get(name);
      if (!d) continue;
      try {
        await this.#putToSleep(d);
      } catch (err) {
        this.#failedAt.set(name, Date.now());
        log.error({ deployment: name, err: (err as Error).message }, 'putting an idle deployment to sleep failed');
      }
    }
  }

  async #putToSleep(d: Deployment): Promise<void> {
    const { store, log } = this.#o;
    const services = [...d.services.values()].filter((s) => s.target !== undefined).map((s) => s.name);
    const lastWake = d.lastWake;
    const claimed: SleepRecord = {
      state: 'sleeping',
      since: new Date().toISOString(),
      owner: this.#owner,
      services,
      ...(d.defaultService !== undefined ? { defaultService: d.defaultService } : {}),
      ...(lastWake ? { lastWake } : {}),
    };
    const claim = await store.claim(d.name, 'absent', claimed);
    if (!claim.won) return; // another replica or the CLI is at it
    log.info({ deployment: d.name, services }, 'putting idle deployment to sleep');
    let outcome;
    try {
      const driver = await (this.#driver ??= this.#o.driver());
      outcome = await driver.sleep({ deployment: d.name, branch: d.branch, services, defaultService: d.defaultService });
    } catch (err) {
      const e = err as { message: string; tail?: string };
      // It stays awake: its routes were never touched. Retried after SLEEP_AFTER.
      this.#failedAt.set(d.name, Date.now());
      log.error({ deployment: d.name, err: e.message, tail: e.tail }, 'sleep step failed; deployment stays awake');
      await store.remove(d.name, claim.modRevision).catch(() => false);
      return;
    }
    const asleep = await store.fallAsleep(d.name, claim.modRevision, { ...claimed, state: 'asleep', since: new Date().toISOString(), ...outcome });
    if (asleep.won) log.info({ deployment: d.name, services }, 'deployment asleep');
    else log.warn({ deployment: d.name }, 'sleep record changed by someone else while the services stopped');
    this.#failedAt.delete(d.name);
  }
}

/**
 * A deployment as the idle policy sees it. A completed wake counts as activity
 * (its `last-wake` time), so a deployment woken by the CLI or a new push is not
 * put back to sleep before anyone had a chance to open it.
 */
function candidateOf(d: Deployment, activity: ActivityTracker): IdleCandidate {
  const local = activity.knownLastVisited(d.name);
  const woke = d.lastWake === undefined ? undefined : Date.parse(d.lastWake.at);
  const localActivityMs = local === undefined ? woke : woke === undefined ? local : Math.max(local, woke);
  let routed = 0;
  for (const s of d.services.values()) if (s.target !== undefined) routed++;
  return {
    name: d.name,
    created: d.created,
    lastRequest: d.lastRequest,
    localActivityMs,
    openStreams: 0,
    hasSleepRecord: d.sleep !== undefined,
    routedServices: routed,
  };
}

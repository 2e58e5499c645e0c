import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { RegistryView } from '../registry/registry-view.ts';
import type { Target } from '../routing/route-types.ts';
import type { SleepDriver } from './driver.ts';
import { ownerId } from './owner-id.ts';
import type { SleepRecord } from './sleep-record.ts';
import type { SleepStore } from './sleep-store.ts';
import type { WakeObserver } from '../metrics/wake-observer.ts';

/** What a waiting page or a held request needs to know about a deployment. */
export type WakeState =
  | { readonly state: 'awake' }
  | {
      readonly state: 'sleeping' | 'asleep' | 'waking';
      readonly since: string;
      /** How long the last completed wake took, for "the last wake took …". */
      readonly lastWakeMs?: number;
      /** Why the last wake failed, when it did (safe for visitors: no hook output). */
      readonly error?: string;
    };

export interface WakerEvents {
  /** Something about this deployment's sleep state or routes changed: re-read `state()`. */
  change: [deployment: string];
}

export interface WakerOptions {
  readonly registry: RegistryView;
  /** The record's reads and compare-and-swap writes (a SleepStore on etcd). */
  readonly store: Pick<SleepStore, 'read' | 'claim' | 'remove'>;
  /** Created on the first wake this process runs (the ECS driver loads the AWS SDK). */
  readonly driver: () => Promise<SleepDriver>;
  /** One TCP connection attempt through the backend policy (see web/target-probe.ts). */
  readonly accepts: (target: Target) => Promise<boolean>;
  readonly wakeTimeoutMs: number;
  readonly log: Logger;
  /** Told how each wake ends: by the process that removes the record (one per wake), or that ran the failed step. */
  readonly observer?: Pick<WakeObserver, 'wakeEnded'>;
  /**
   * The safety net: how often a wake re-reads its record when no registry event came
   * (every change to the record or the routes pokes it at once). Also the longest pause
   * between two connection attempts to a routed service that does not accept yet.
   */
  readonly pollMs?: number;
}

const DEFAULT_POLL_MS = 1000;
/** The first pause before trying again a routed service that refused the connection; it doubles up to pollMs. */
const FIRST_RETRY_MS = 10;

/**
 * Wakes sleeping deployments (issue #13), in every proxy process. A wake is
 * one job per deployment and process; the etcd claim on the record's revision
 * makes exactly one process (or CLI) in the whole fleet run the wake step, and
 * every job, claimed or not, waits until each service the record lists is
 * routed and accepts a TCP connection, then removes the record (the first to
 * try wins; the others' removal fails on the revision).
 *
 * Jobs also start without a visitor: for a `waking` record seen in the
 * registry (a restart mid-wake carries on; a claim older than WAKE_TIMEOUT is
 * taken over) and for a record whose services all came back on their own (a
 * new push: removed with no hook run).
 *
 * The deployment counts as awake in this process (`state()`, so held requests
 * go and waiting pages switch) as soon as its job has seen every service in
 * this process's table accept a connection: a routed service resolves to its
 * route although the record still exists, so the record's removal through
 * etcd is not on a held request's path. The job is event-driven: each registry
 * event for the deployment pokes it, and a poke that comes while it is busy is
 * kept for its next pause.
 */
export class Waker extends EventEmitter<WakerEvents> {
  readonly owner = ownerId();
  readonly #o: WakerOptions;
  readonly #pollMs: number;
  readonly #jobs = new Map<string, Job>();
  /** Deployments whose services this process saw accept connections, by the table's record they were checked against. */
  readonly #up = new Map<string, SleepRecord>();
  readonly #stop = new AbortController();
  #driver: Promise<SleepDriver> | undefined;

  constructor(o: WakerOptions) {
    super();
    this.#o = o;
    this.#pollMs = o.pollMs ?? DEFAULT_POLL_MS;
    o.registry.on('deployment', this.#onDeployment);
    o.registry.on('resync', this.#onResync);
    if (o.registry.ready) this.#onResync();
  }

  /** The deployment's state as this process's table shows it. */
  state(deployment: string): WakeState {
    const d = this.#o.registry.table.deployments.get(deployment);
    const record = d?.sleep;
    if (!record || this.#up.get(deployment) === record) return AWAKE;
    const lastWakeMs = record.lastWake?.ms ?? d.lastWake?.ms;
    return {
      state: record.state,
      since: record.since,
      ...(lastWakeMs !== undefined ? { lastWakeMs } : {}),
      ...(record.state === 'asleep' && record.lastWake?.error !== undefined ? { error: record.lastWake.error } : {}),
    };
  }

  /**
   * Starts waking `deployment` unless a job already runs for it here. Resolves
   * once the job ends: the deployment is awake, or the wake failed (the record
   * says why), or the waker stopped.
   */
  wake(deployment: string): Promise<void> {
    // A wake under way (here or on another replica) serves this visit too: wanting another
    // would run the hook again once that one failed.
    return this.#job(deployment, this.#o.registry.table.deployments.get(deployment)?.sleep?.state !== 'waking');
  }

  /** Ends every job's waiting (a running hook is left to its own timeout) and stops following the registry. */
  stop(): void {
    this.#stop.abort();
    this.#o.registry.off('deployment', this.#onDeployment);
    this.#o.registry.off('resync', this.#onResync);
    for (const job of this.#jobs.values()) job.poke();
    this.#up.clear();
  }

  /** Jobs running in this process; for tests and metrics. */
  get running(): number {
    return this.#jobs.size;
  }

  readonly #onDeployment = (name: string): void => {
    this.#jobs.get(name)?.poke();
    const d = this.#o.registry.table.deployments.get(name);
    this.#forgetUp(name, d);
    if (d?.sleep && this.#needsWatching(d.sleep, d.services)) void this.#job(name, false);
    this.emit('change', name);
  };

  readonly #onResync = (): void => {
    const { deployments } = this.#o.registry.table;
    for (const name of this.#up.keys()) this.#forgetUp(name, deployments.get(name));
    for (const d of deployments.values()) {
      if (d.sleep && this.#needsWatching(d.sleep, d.services)) void this.#job(d.name, false);
    }
  };

  /**
   * A record or route changed since the services were seen up: the check no longer
   * holds (a new record, or a service gone again). An unchanged record with its
   * routes keeps counting as awake until its removal reaches the table.
   */
  #forgetUp(name: string, d: { readonly sleep?: SleepRecord; readonly services: ReadonlyMap<string, { readonly target?: Target }> } | undefined): void {
    const up = this.#up.get(name);
    if (up !== undefined && (d?.sleep !== up || !up.services.every((s) => d.services.get(s)?.target !== undefined))) this.#up.delete(name);
  }

  /** A wake in progress somewhere, or an asleep deployment whose services are all routed again. */
  #needsWatching(record: SleepRecord, services: ReadonlyMap<string, { readonly target?: Target }>): boolean {
    if (record.state === 'waking') return true;
    return record.state === 'asleep' && record.services.length > 0 && record.services.every((s) => services.get(s)?.target !== undefined);
  }

  #job(deployment: string, wanted: boolean): Promise<void> {
    const running = this.#jobs.get(deployment);
    if (running) {
      if (wanted) running.wanted = true;
      return running.done;
    }
    if (this.#stop.signal.aborted) return Promise.resolve();
    const job = new Job(wanted);
    this.#jobs.set(deployment, job);
    job.done = this.#run(deployment, job)
      .catch((err: unknown) => this.#o.log.error({ deployment, err: (err as Error).message }, 'wake job failed'))
      .finally(() => {
        this.#jobs.delete(deployment);
        this.emit('change', deployment);
      });
    return job.done;
  }

  async #run(deployment: string, job: Job): Promise<void> {
    const { store, log, wakeTimeoutMs } = this.#o;
    let retryMs = FIRST_RETRY_MS;
    while (!this.#stop.signal.aborted) {
      job.rearm();
      // The table first: once its services accept connections, this process lets held requests go, before any etcd round trip.
      const up = await this.#checkUp(deployment);
      let stored;
      try {
        stored = await store.read(deployment);
      } catch (err) {
        log.warn({ deployment, err: (err as Error).message }, 'cannot read the sleep record from etcd; retrying');
        await job.pause(this.#pollMs);
        continue;
      }
      if (!stored) return;
      const { record, modRevision } = stored;
      if (!record) {
        log.warn({ deployment, reason: stored.invalid }, 'sleep record is invalid; not waking (fix or remove it in etcd)');
        return;
      }
      // Still up after the read (a change to the table forgets it), for every service etcd's record lists.
      if (up && this.#up.get(deployment) === up && record.services.every((s) => up.services.includes(s))) {
        // Someone's wake succeeded, or the deployment re-registered on its own: either way it is awake.
        const lastWake = record.state === 'waking' ? { ms: Date.now() - Date.parse(record.since), at: new Date().toISOString() } : undefined;
        const removed = await store.remove(deployment, modRevision, lastWake).catch(() => false);
        if (removed) {
          log.info({ deployment, ms: lastWake?.ms, hook: record.state === 'waking' }, 'deployment awake');
          this.#o.observer?.wakeEnded(lastWake ? 'ok' : 'registered', (lastWake?.ms ?? 0) / 1000);
        }
        continue; // removed: the next read finds nothing; lost: someone changed it, read again
      }
      // Whoever claimed this wake serves the visits so far; if it fails, they see the failure (and may retry).
      if (record.state === 'waking') job.wanted = false;
      const expiresAt = Date.parse(record.since) + wakeTimeoutMs;
      const expired = Date.now() >= expiresAt;
      if (record.state === 'waking' && record.owner === this.owner && expired) {
        await this.#backToSleep(deployment, modRevision, record, `not back within ${Math.round(wakeTimeoutMs / 1000)} s`);
        this.#o.observer?.wakeEnded('timeout', (Date.now() - Date.parse(record.since)) / 1000);
        return;
      }
      // A fresh wake when asked; a stale claim (its owner died) is taken over by whoever sees it.
      if ((record.state === 'asleep' && job.wanted) || (record.state !== 'asleep' && expired && record.owner !== this.owner)) {
        // A failed wake ends the job: a visitor retries (the waiting page's button), not this loop.
        if ((await this.#claimAndWake(deployment, modRevision, record)) === 'failed') return;
        continue;
      }
      if (record.state === 'asleep' && !job.wanted && !this.#allRouted(deployment, record)) return;
      // Routed but not accepting yet: no event says when it starts to, so try again soon, then less often.
      let pauseMs = this.#pollMs;
      if (this.#allRouted(deployment, record)) {
        pauseMs = Math.min(retryMs, this.#pollMs);
        retryMs *= 2;
      } else retryMs = FIRST_RETRY_MS;
      // A waking record is looked at again when its WAKE_TIMEOUT ends, to end or take over the wake.
      if (record.state !== 'asleep') pauseMs = Math.max(0, Math.min(pauseMs, expiresAt - Date.now()));
      await job.pause(pauseMs);
    }
  }

  /** `failed`: the wake step failed and the record says so; otherwise go on waiting (won or lost the claim). */
  async #claimAndWake(deployment: string, modRevision: string, record: SleepRecord): Promise<'failed' | 'waiting'> {
    const { store, log } = this.#o;
    const waking: SleepRecord = { ...record, state: 'waking', since: new Date().toISOString(), owner: this.owner };
    let claim;
    try {
      claim = await store.claim(deployment, modRevision, waking);
    } catch (err) {
      log.warn({ deployment, err: (err as Error).message }, 'cannot claim the wake in etcd; retrying');
      return 'waiting';
    }
    if (!claim.won) return 'waiting'; // another replica or the CLI got it first: wait for its routes
    log.info({ deployment, services: record.services, takeover: record.state !== 'asleep' ? record.owner : undefined }, 'waking deployment');
    const started = Date.now();
    try {
      const driver = await (this.#driver ??= this.#o.driver());
      const branch = this.#o.registry.table.deployments.get(deployment)?.branch;
      await driver.wake({ deployment, branch, services: record.services, defaultService: record.defaultService }, record);
      log.info({ deployment, ms: Date.now() - started }, 'wake step done; waiting for the services');
    } catch (err) {
      const e = err as { message: string; summary?: string; tail?: string };
      log.error({ deployment, err: e.message, tail: e.tail }, 'wake step failed');
      await this.#backToSleep(deployment, claim.modRevision, waking, e.summary ?? 'the wake step failed');
      this.#o.observer?.wakeEnded('failed', (Date.now() - started) / 1000);
      return 'failed';
    }
    return 'waiting';
  }

  /** A failed wake leaves the deployment asleep, with the reason for the waiting page. */
  async #backToSleep(deployment: string, modRevision: string, waking: SleepRecord, error: string): Promise<void> {
    const { owner: _owner, ...rest } = waking;
    const now = new Date().toISOString();
    const lastWake = { ...(waking.lastWake?.ms !== undefined ? { ms: waking.lastWake.ms } : {}), at: now, error };
    this.#o.log.warn({ deployment, error }, 'wake failed; deployment stays asleep');
    try {
      await this.#o.store.claim(deployment, modRevision, { ...rest, state: 'asleep', since: now, lastWake });
    } catch (err) {
      // The claim stays `waking` and goes stale: whoever sees it after WAKE_TIMEOUT takes it over.
      this.#o.log.warn({ deployment, err: (err as Error).message }, 'cannot write the failed wake to etcd');
    }
  }

  #allRouted(deployment: string, record: SleepRecord): boolean {
    const services = this.#o.registry.table.deployments.get(deployment)?.services;
    return services !== undefined && record.services.every((s) => services.get(s)?.target !== undefined);
  }

  /**
   * The table's record for `deployment` once every service it lists is routed in
   * this process's table and accepts a connection; the deployment then counts as
   * awake here (`state()`), and whoever waits on it is told. Undefined otherwise.
   */
  async #checkUp(deployment: string): Promise<SleepRecord | undefined> {
    const { deployments } = this.#o.registry.table;
    const d = deployments.get(deployment);
    const record = d?.sleep;
    if (!d || !record || record.services.length === 0) return undefined;
    if (this.#up.get(deployment) === record) return record;
    const targets: Target[] = [];
    for (const name of record.services) {
      const target = d.services.get(name)?.target;
      if (!target) return undefined;
      targets.push(target);
    }
    const answers = await Promise.all(targets.map((t) => this.#o.accepts(t)));
    if (!answers.every(Boolean)) return undefined;
    // The table may have moved on while connecting (this can start in the middle of a watch batch: a
    // sleep's record arrives a moment before its routes go): only what still holds counts.
    const now = this.#o.registry.table.deployments.get(deployment);
    if (now?.sleep !== record || record.services.some((name, i) => now.services.get(name)?.target !== targets[i])) return undefined;
    this.#up.set(deployment, record);
    this.emit('change', deployment);
    return record;
  }
}

const AWAKE: WakeState = Object.freeze({ state: 'awake' });

/**
 * One deployment's wake in this process. `poke` ends the current pause early (a
 * registry event); a poke while the job is busy is kept, so that the next pause
 * ends at once: the change may have come after the job looked.
 */
class Job {
  done: Promise<void> = Promise.resolve();
  #wakeUp: (() => void) | undefined;
  #poked = false;

  constructor(public wanted: boolean) {}

  /** The job is about to look at the table and etcd: what it sees covers every poke until now. */
  rearm(): void {
    this.#poked = false;
  }

  pause(ms: number): Promise<void> {
    if (this.#poked) {
      this.#poked = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(finish, ms);
      const self = this;
      function finish(): void {
        clearTimeout(timer);
        if (self.#wakeUp === finish) self.#wakeUp = undefined;
        resolve();
      }
      this.#wakeUp = finish;
    });
  }

  poke(): void {
    if (this.#wakeUp) this.#wakeUp();
    else this.#poked = true;
  }
}

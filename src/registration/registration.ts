import type { Etcd3, Lease } from 'etcd3';
import { ExponentialBackoff } from 'cockatiel';
import type { IBackoff } from 'cockatiel';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { RegistrationTarget } from './registration-write.ts';
import { SlugTakenError, writeRegistration } from './registration-write.ts';

export interface RegistrationOptions {
  readonly ttlSeconds: number;
  /** Deadline of the revoke on stop; the lease expires on its own anyway. */
  readonly stopTimeoutMs?: number;
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
}

/** How a registration ended. */
export type RegistrationEnd = 'stopped' | 'superseded';

/**
 * Keeps one service registered for as long as it runs: grants a lease, writes
 * the keys with it (see writeRegistration), keeps it alive, and starts over
 * with a new lease whenever the old one is lost. etcd being away is a state,
 * not an error: every step is retried with backoff until `stop()`.
 *
 * etcd3's Lease fires `keepaliveFailed` about every 100 ms while etcd is
 * unreachable and `lost` only once 2 x TTL passed without a keep-alive (or at
 * once when etcd answers that the lease is gone), so failures are logged once
 * per outage and `lost` is the signal to register again.
 */
export class Registration {
  readonly #abort = new AbortController();
  readonly #log: Logger;
  #lease: Lease | undefined;
  #running: Promise<RegistrationEnd> | undefined;

  constructor(
    private readonly client: Etcd3,
    private readonly target: RegistrationTarget,
    log: Logger,
    private readonly options: RegistrationOptions,
  ) {
    this.#log = log.child({ deployment: target.deployment, service: target.service });
  }

  /**
   * Runs until `stop()` (resolves 'stopped') or until a newer instance owns the
   * keys (resolves 'superseded'). Rejects with SlugTakenError when the name
   * belongs to another branch: retrying cannot fix that.
   */
  run(): Promise<RegistrationEnd> {
    this.#running ??= this.#loop(this.#abort.signal);
    return this.#running;
  }

  /** Removes what this process wrote, and only that: revoking the lease deletes exactly the keys still attached to it. */
  async stop(): Promise<void> {
    this.#abort.abort();
    const timeoutMs = this.options.stopTimeoutMs ?? 3000;
    // A grant or write in flight against a silent etcd may take several call deadlines; do not wait for it
    // longer than the revoke may take (a lease granted after this is never written to, and expires).
    await Promise.race([this.#running?.catch(() => undefined), sleep(timeoutMs)]);
    const lease = this.#lease;
    this.#lease = undefined;
    if (!lease) return;
    try {
      await lease.revoke({ deadline: Date.now() + timeoutMs });
      this.#log.info('deregistered');
    } catch (err) {
      this.#log.warn({ err, ttlSeconds: this.options.ttlSeconds }, 'could not revoke the lease; the route expires within the TTL');
    }
  }

  async #loop(signal: AbortSignal): Promise<RegistrationEnd> {
    const newBackoff = (): IBackoff<unknown> =>
      new ExponentialBackoff({ initialDelay: this.options.initialDelayMs ?? 200, maxDelay: this.options.maxDelayMs ?? 2000 }).next();
    let backoff = newBackoff();
    let unreachable = false;
    let previousLease: string | undefined;
    const ownLeases = new Set<string>();
    while (!signal.aborted) {
      const lease = this.client.lease(this.options.ttlSeconds);
      const lost = this.#watchLease(lease);
      try {
        const id = await lease.grant();
        ownLeases.add(id);
        this.#lease = lease;
        if (signal.aborted) break;
        const outcome = await writeRegistration(this.client, this.target, id, previousLease === undefined ? undefined : ownLeases);
        if (outcome.kind === 'superseded') {
          this.#lease = undefined;
          await lease.revoke().catch(() => undefined);
          this.#log.warn({ owner: outcome.owner }, 'a newer instance registered this service; not registering again');
          return 'superseded';
        }
        const { ip, port, branch } = this.target;
        this.#log.info(
          { event: previousLease === undefined ? 'registered' : 'registered-again', ip, port, branch, lease: id, ttlSeconds: this.options.ttlSeconds, again: previousLease !== undefined, createdDeployment: outcome.createdDeployment },
          previousLease === undefined ? 'registered' : 'registered again',
        );
        if (previousLease !== undefined) void this.client.leaseClient.leaseRevoke({ ID: previousLease }).catch(() => undefined);
        previousLease = id;
        unreachable = false;
        backoff = newBackoff();
        const err = await Promise.race([lost, abortion(signal)]);
        if (signal.aborted) break;
        this.#lease = undefined;
        this.#log.warn({ event: 'lease-lost', err, lease: id }, 'lease lost; registering again with a new lease');
        continue;
      } catch (err) {
        if (this.#lease === lease) this.#lease = undefined;
        // A write that timed out may still have landed: revoking takes its keys back out.
        void lease.revoke().catch(() => undefined);
        if (err instanceof SlugTakenError) throw err;
        if (signal.aborted) break;
        if (!unreachable) this.#log.error({ event: 'registration-failing', err }, 'cannot register: etcd unreachable or failing; retrying until it answers');
        else this.#log.debug({ err, delayMs: backoff.duration }, 'still cannot register');
        unreachable = true;
      }
      await sleep(backoff.duration, undefined, { signal }).catch(() => undefined);
      backoff = backoff.next(undefined);
    }
    return 'stopped';
  }

  /** Logs keep-alive trouble once per outage; resolves with the error when the lease is lost. */
  #watchLease(lease: Lease): Promise<unknown> {
    let failing = false;
    lease.on('keepaliveFailed', (err: unknown) => {
      if (failing) return;
      failing = true;
      this.#log.warn({ event: 'lease-keepalive-failing', err }, 'lease keep-alive failing; retrying (logged once per outage)');
    });
    lease.on('keepaliveSucceeded', () => {
      if (!failing) return;
      failing = false;
      this.#log.info('lease keep-alive working again');
    });
    return new Promise((resolve) => lease.on('lost', resolve));
  }
}

function abortion(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

import type { Etcd3 } from 'etcd3';
import type { Logger } from 'pino';
import { deploymentKey, serviceKey } from '../registry/keys.ts';
import type { RegistryView } from '../registry/registry-view.ts';
import type { Deployment } from '../routing/route-table.ts';
import type { ActivityTracker } from './activity-tracker.ts';
import { parseIsoTime } from '../registry/iso-time.ts';

/** However many deployments were visited, at most this many etcd transactions at once. */
const WRITES_IN_FLIGHT = 32;

export interface ActivityWriterOptions {
  /** At most one write per deployment per interval from this process. */
  readonly intervalMs: number;
  readonly clock?: () => number;
}

/**
 * When a deployment's visit time may next be written: an interval after the time
 * etcd holds (written by any replica) and an interval after this process's own
 * last write of it. So a visit to a deployment nobody visited for an interval is
 * written at once, later ones at the end of the interval.
 */
export function nextWriteAt(persisted: number | undefined, writtenAt: number | undefined, intervalMs: number): number {
  return Math.max((persisted ?? -Infinity) + intervalMs, (writtenAt ?? -Infinity) + intervalMs);
}

/**
 * Persists last-request times to `<prefix><deployment>/last-request` so request
 * traffic never turns into etcd write traffic: leading edge (the first visit after
 * a quiet interval is written at once, so `ls` shows it), then at most one write per
 * deployment per interval from this process, carrying the latest time. Several
 * replicas share the key; each write only moves the time forward. In a cluster only
 * the primary writes, from the times its workers relay.
 */
export class ActivityWriter {
  /** Visited deployments whose time may not be in etcd yet. */
  readonly #pending = new Set<string>();
  /** When this process last wrote each deployment's time (clock ms). */
  readonly #writtenAt = new Map<string, number>();
  readonly #clock: () => number;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  #round: Promise<void> | undefined;
  #stopped = false;

  constructor(
    private readonly client: Etcd3,
    private readonly registry: RegistryView,
    private readonly tracker: ActivityTracker,
    private readonly log: Logger,
    private readonly options: ActivityWriterOptions,
  ) {
    this.#clock = options.clock ?? Date.now;
  }

  /** These deployments have a newer visit time in the tracker. */
  visited(deployments: Iterable<string>): void {
    for (const d of deployments) this.#pending.add(d);
    this.#schedule(this.#clock());
  }

  /** Stops scheduling and writes what is pending at once, so a clean stop loses nothing. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#round;
    await this.#write(true);
  }

  #schedule(at: number): void {
    if (this.#stopped || at >= this.#timerAt) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timerAt = Infinity;
      this.#timer = undefined;
      void this.#runRound();
    }, Math.max(0, at - this.#clock())).unref();
  }

  async #runRound(): Promise<void> {
    // One round at a time; a visit meanwhile schedules the next round, which waits for this one.
    const previous = this.#round;
    const round = (async () => {
      await previous;
      if (!this.#stopped) await this.#write(false);
    })();
    this.#round = round;
    await round;
  }

  /** Writes the pending deployments that are due (all when `all`), a bounded number at a time. */
  async #write(all: boolean): Promise<void> {
    const now = this.#clock();
    const due: { d: Deployment; iso: string }[] = [];
    let next = Infinity;
    const deployments = this.registry.table.deployments;
    // A write older than an interval no longer holds anything back: forget it, so the map stays small.
    for (const [name, at] of this.#writtenAt) if (at + this.options.intervalMs <= now) this.#writtenAt.delete(name);
    for (const name of this.#pending) {
      const d = deployments.get(name);
      const last = this.tracker.knownLastVisited(name);
      if (!d || last === undefined) {
        // Removed: forget it rather than write it back.
        this.#pending.delete(name);
        this.#writtenAt.delete(name);
        continue;
      }
      const persisted = parseIsoTime(d.lastRequest);
      if (persisted !== undefined && persisted >= last) {
        this.#pending.delete(name);
        continue;
      }
      const at = nextWriteAt(persisted, this.#writtenAt.get(name), this.options.intervalMs);
      if (all || at <= now) {
        this.#pending.delete(name);
        due.push({ d, iso: new Date(last).toISOString() });
      } else next = Math.min(next, at);
    }
    for (let i = 0; i < due.length; i += WRITES_IN_FLIGHT) {
      await Promise.all(
        due.slice(i, i + WRITES_IN_FLIGHT).map(async ({ d, iso }) => {
          // Set before the write: a failed one is retried an interval later, not in a tight loop.
          this.#writtenAt.set(d.name, now);
          try {
            await this.#put(d, iso);
          } catch (err) {
            this.#pending.add(d.name);
            next = Math.min(next, now + this.options.intervalMs);
            this.log.debug({ err, deployment: d.name }, 'could not persist last-request; retrying in an interval');
          }
        }),
      );
    }
    if (next < Infinity) this.#schedule(next);
  }

  /**
   * SAFETY: a deployment removed between the read and the write must not come
   * back as a ghost holding only a last-request key, so the write is guarded by
   * a key of the deployment that still has to exist. ISO-8601 UTC strings of one
   * format compare like the times they stand for, which keeps a slower replica
   * from moving the time backwards.
   */
  async #put(d: Deployment, iso: string): Promise<void> {
    const prefix = this.registry.prefix;
    const anchor = anchorKey(prefix, d);
    if (anchor === undefined) return;
    const key = deploymentKey(prefix, d.name, 'last-request');
    let txn = this.client.if(anchor, 'Version', '>', 0);
    if (d.lastRequest !== undefined) txn = txn.and(key, 'Value', '<', iso);
    await txn.then(this.client.put(key).value(iso)).commit();
  }
}

/** A key that exists as long as the deployment is registered. */
function anchorKey(prefix: string, d: Deployment): string | undefined {
  if (d.created !== undefined) return deploymentKey(prefix, d.name, 'created');
  for (const s of d.services.values()) if (s.ip !== undefined) return serviceKey(prefix, d.name, s.name, 'ip');
  return undefined;
}

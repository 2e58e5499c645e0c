import type { Etcd3 } from 'etcd3';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { deploymentKey, serviceKey } from '../registry/keys.ts';
import type { RegistryView } from '../registry/registry-view.ts';
import type { Deployment } from '../routing/route-table.ts';
import type { ActivityTracker } from './activity-tracker.ts';

/** However many deployments were visited, at most this many etcd transactions at once. */
const WRITES_IN_FLIGHT = 32;

export interface ActivityWriterOptions {
  /** At most one write per active deployment per interval. */
  readonly intervalMs: number;
}

/**
 * Persists last-request times to `<prefix><deployment>/last-request`, at most
 * once per interval per deployment that was requested in it, so request
 * traffic never turns into etcd write traffic. Several replicas share the key;
 * each write only moves the time forward.
 */
export class ActivityWriter {
  constructor(
    private readonly client: Etcd3,
    private readonly registry: RegistryView,
    private readonly tracker: ActivityTracker,
    private readonly log: Logger,
    private readonly options: ActivityWriterOptions,
  ) {}

  /** Writes every interval until the signal aborts, then once more so a clean stop loses nothing. */
  async run(signal: AbortSignal): Promise<void> {
    const forget = (name: string): void => this.tracker.prune(this.registry.table.deployments, name);
    const forgetAll = (): void => this.tracker.prune(this.registry.table.deployments);
    this.registry.on('deployment', forget);
    this.registry.on('resync', forgetAll);
    try {
      while (!signal.aborted) {
        await sleep(this.options.intervalMs, undefined, { signal }).catch(() => undefined);
        await this.flush();
      }
    } finally {
      this.registry.off('deployment', forget);
      this.registry.off('resync', forgetAll);
    }
  }

  /** One round of writes, a bounded number at a time; failures are retried next round. */
  async flush(): Promise<void> {
    const dirty = this.tracker.takeDirty();
    for (let i = 0; i < dirty.length; i += WRITES_IN_FLIGHT) await this.#writeBatch(dirty.slice(i, i + WRITES_IN_FLIGHT));
  }

  async #writeBatch(batch: readonly { deployment: string; last: number }[]): Promise<void> {
    await Promise.all(
      batch.map(async ({ deployment, last }) => {
        const d = this.registry.table.deployments.get(deployment);
        if (!d) {
          // Requested while it was being removed: forget it rather than write it back.
          this.tracker.prune(this.registry.table.deployments, deployment);
          return;
        }
        const persisted = d.lastRequest === undefined ? Number.NaN : Date.parse(d.lastRequest);
        if (persisted >= last) return;
        try {
          await this.#write(d, new Date(last).toISOString());
        } catch (err) {
          this.tracker.markDirty(deployment);
          this.log.debug({ err, deployment }, 'could not persist last-request; retrying next round');
        }
      }),
    );
  }

  /**
   * SAFETY: a deployment removed between the read and the write must not come
   * back as a ghost holding only a last-request key, so the write is guarded by
   * a key of the deployment that still has to exist. ISO-8601 UTC strings of one
   * format compare like the times they stand for, which keeps a slower replica
   * from moving the time backwards.
   */
  async #write(d: Deployment, iso: string): Promise<void> {
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

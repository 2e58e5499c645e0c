import type { Deployment } from '../routing/route-table.ts';

interface DeploymentActivity {
  /** Last request to any of its services, in ms since the epoch. */
  last: number;
  /** Touched since the last write to etcd. */
  dirty: boolean;
  readonly services: Map<string, number>;
}

/**
 * Remembers when each deployment and service was last requested through this
 * proxy. `touch` is on the request path: a clock read and two Map updates, no
 * allocation once a deployment has been seen. Callers only touch deployments
 * that are in the route table, so memory is bounded by the table.
 */
export class ActivityTracker {
  readonly #seen = new Map<string, DeploymentActivity>();

  constructor(private readonly clock: () => number = Date.now) {}

  touch(deployment: string, service: string): void {
    const now = this.clock();
    let entry = this.#seen.get(deployment);
    if (!entry) {
      entry = { last: now, dirty: true, services: new Map() };
      this.#seen.set(deployment, entry);
    }
    entry.last = now;
    entry.dirty = true;
    entry.services.set(service, now);
  }

  /** The later of this proxy's last request and the time persisted in etcd (by any replica). */
  lastVisited(d: Pick<Deployment, 'name' | 'lastRequest'>): number | undefined {
    const persisted = d.lastRequest === undefined ? Number.NaN : Date.parse(d.lastRequest);
    const local = this.#seen.get(d.name)?.last;
    if (Number.isNaN(persisted)) return local;
    return local === undefined ? persisted : Math.max(local, persisted);
  }

  /** Per service only this proxy's own memory: etcd keeps one time per deployment. */
  serviceLastVisited(deployment: string, service: string): number | undefined {
    return this.#seen.get(deployment)?.services.get(service);
  }

  /** Deployments requested since the previous call, with their last request time; clears the flags. */
  takeDirty(): { deployment: string; last: number }[] {
    const dirty: { deployment: string; last: number }[] = [];
    for (const [deployment, entry] of this.#seen) {
      if (!entry.dirty) continue;
      entry.dirty = false;
      dirty.push({ deployment, last: entry.last });
    }
    return dirty;
  }

  /** Puts a deployment back in the next write, after a write failed. */
  markDirty(deployment: string): void {
    const entry = this.#seen.get(deployment);
    if (entry) entry.dirty = true;
  }

  /** Drops what is known about deployments and services no longer in the table. */
  prune(deployments: ReadonlyMap<string, Deployment>, name?: string): void {
    const names = name === undefined ? [...this.#seen.keys()] : [name];
    for (const n of names) {
      const entry = this.#seen.get(n);
      if (!entry) continue;
      const d = deployments.get(n);
      if (!d) {
        this.#seen.delete(n);
        continue;
      }
      for (const s of entry.services.keys()) if (!d.services.has(s)) entry.services.delete(s);
    }
  }
}

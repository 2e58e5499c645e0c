import type { RegistryView } from '../registry/registry-view.ts';
import type { Deployment, RouteTable } from '../routing/route-table.ts';
import { parseIsoTime } from '../registry/iso-time.ts';

/** When a service was last requested: `[deployment, service, ms since the epoch]`, a tuple because the cluster relays many as JSON. */
export type Visit = readonly [deployment: string, service: string, at: number];

interface DeploymentActivity {
  /** Last request to any of its services, in ms since the epoch. */
  last: number;
  /** Touched on this process's request path since the last takeDirty. */
  dirty: boolean;
  readonly services: Map<string, number>;
}

/**
 * Remembers when each deployment and service was last requested: by this
 * process (`touch`, on the request path: a clock read and two Map updates, no
 * allocation once a deployment has been seen) and, merged in, by the other
 * processes of a cluster (`merge`). Only deployments in the route table are
 * kept, so memory is bounded by the table.
 */
export class ActivityTracker {
  readonly #seen = new Map<string, DeploymentActivity>();
  #onDirty: (() => void) | undefined;

  constructor(private readonly clock: () => number = Date.now) {}

  /**
   * Called when a deployment becomes dirty, at most once per deployment between two
   * takeDirty calls: the consumer schedules its round there, never per request.
   */
  onDirty(callback: () => void): void {
    this.#onDirty = callback;
  }

  touch(deployment: string, service: string): void {
    const now = this.clock();
    let entry = this.#seen.get(deployment);
    if (!entry) {
      entry = { last: now, dirty: false, services: new Map() };
      this.#seen.set(deployment, entry);
    }
    entry.last = now;
    entry.services.set(service, now);
    if (!entry.dirty) {
      entry.dirty = true;
      this.#onDirty?.();
    }
  }

  /**
   * Takes the later of each known time and the given one (visits of services not in
   * `table` are dropped), without marking anything dirty. Returns the deployments
   * whose time moved forward.
   */
  merge(visits: Iterable<Visit>, table: Pick<RouteTable, 'deployments'>): Set<string> {
    const advanced = new Set<string>();
    for (const [deployment, service, at] of visits) {
      if (!Number.isFinite(at) || !table.deployments.get(deployment)?.services.has(service)) continue;
      let entry = this.#seen.get(deployment);
      if (!entry) {
        entry = { last: at, dirty: false, services: new Map() };
        this.#seen.set(deployment, entry);
        advanced.add(deployment);
      }
      if (at > entry.last) {
        entry.last = at;
        advanced.add(deployment);
      }
      if (at > (entry.services.get(service) ?? -Infinity)) {
        entry.services.set(service, at);
        advanced.add(deployment);
      }
    }
    return advanced;
  }

  /** The later of the last request known here and the time persisted in etcd (by any replica). */
  lastVisited(d: Pick<Deployment, 'name' | 'lastRequest'>): number | undefined {
    const persisted = parseIsoTime(d.lastRequest);
    const known = this.#seen.get(d.name)?.last;
    if (persisted === undefined) return known;
    return known === undefined ? persisted : Math.max(known, persisted);
  }

  /** The last request known here, without etcd's time. */
  knownLastVisited(deployment: string): number | undefined {
    return this.#seen.get(deployment)?.last;
  }

  /** Per service only what this process (and its cluster) saw since start: etcd keeps one time per deployment. */
  serviceLastVisited(deployment: string, service: string): number | undefined {
    return this.#seen.get(deployment)?.services.get(service);
  }

  /** Every service time of the deployments touched since the previous call; clears the flags. */
  takeDirty(): Visit[] {
    const visits: Visit[] = [];
    for (const [deployment, entry] of this.#seen) {
      if (!entry.dirty) continue;
      entry.dirty = false;
      for (const [service, at] of entry.services) visits.push([deployment, service, at]);
    }
    return visits;
  }

  /** Every service time known here (of the given deployments, or of all). */
  visits(deployments?: Iterable<string>): Visit[] {
    const visits: Visit[] = [];
    for (const deployment of deployments ?? this.#seen.keys()) {
      const entry = this.#seen.get(deployment);
      if (entry) for (const [service, at] of entry.services) visits.push([deployment, service, at]);
    }
    return visits;
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

  /** Keeps pruning as the registry changes, until the returned function is called. */
  follow(registry: Pick<RegistryView, 'table' | 'on' | 'off'>): () => void {
    const forget = (name: string): void => this.prune(registry.table.deployments, name);
    const forgetAll = (): void => this.prune(registry.table.deployments);
    registry.on('deployment', forget);
    registry.on('resync', forgetAll);
    return () => {
      registry.off('deployment', forget);
      registry.off('resync', forgetAll);
    };
  }
}

import type { Deployment, RouteChange } from '../routing/route-table.ts';
import type { RegistryEvents } from './registry.ts';

/** A registered deployment none of whose services is running (routable). */
export interface Stop {
  /** When this proxy saw its last service go (epoch ms); undefined when it was already so when the proxy loaded the registry. */
  readonly at: number | undefined;
}

/** What the views ask: whether a deployment has stopped, and since when. */
export interface StopSource {
  stop(deployment: string): Stop | undefined;
}

/** The part of the registry the tracker reads: its deployments and its events (a read-only view will do). */
export interface StopTrackerRegistry {
  readonly table: { readonly deployments: ReadonlyMap<string, Deployment> };
  on<E extends keyof RegistryEvents>(event: E, listener: (...args: RegistryEvents[E]) => void): unknown;
  off<E extends keyof RegistryEvents>(event: E, listener: (...args: RegistryEvents[E]) => void): unknown;
}

const UNKNOWN_TIME: Stop = Object.freeze({ at: undefined });

/**
 * Remembers which deployments stopped, and when: the deployment keys
 * (`created`, `branch`, …) outlive the services, whose keys go with their
 * lease, so without this a stopped deployment looks like one still waiting for
 * its first service. Memory only, and only for stopped deployments: the time is
 * when this process saw the last route go, not a time etcd keeps. A deployment
 * that never had a route since the proxy knows it (just created) is not stopped.
 */
export class StopTracker implements StopSource {
  readonly #stops = new Map<string, Stop>();
  readonly #now: () => number;
  readonly #detach: () => void;

  /** `signal` ends the listening (with the web surfaces that read it); `now` is the clock, for tests. */
  constructor(
    private readonly registry: StopTrackerRegistry,
    o: { readonly signal?: AbortSignal; readonly now?: () => number } = {},
  ) {
    this.#now = o.now ?? Date.now;
    const onRoute = (change: RouteChange): void => this.#onRoute(change);
    const onDeployment = (name: string): void => {
      if (!registry.table.deployments.has(name)) this.#stops.delete(name);
    };
    const onResync = (): void => this.#onResync();
    registry.on('route', onRoute);
    registry.on('deployment', onDeployment);
    registry.on('resync', onResync);
    this.#detach = () => {
      registry.off('route', onRoute);
      registry.off('deployment', onDeployment);
      registry.off('resync', onResync);
    };
    o.signal?.addEventListener('abort', () => this.close(), { once: true });
    // Created after the first snapshot loaded: take the table as it is.
    if (registry.table.deployments.size > 0) this.#onResync();
  }

  stop(deployment: string): Stop | undefined {
    return this.#stops.get(deployment);
  }

  close(): void {
    this.#detach();
  }

  #onRoute(change: RouteChange): void {
    if (change.type === 'added') {
      this.#stops.delete(change.deployment);
      return;
    }
    if (change.type !== 'removed') return;
    const d = this.registry.table.deployments.get(change.deployment);
    if (d && !hasRoute(d.services.values())) this.#stops.set(change.deployment, { at: this.#now() });
  }

  /**
   * A new snapshot: the routes it removed have already been announced (and
   * timed); a deployment without routes not seen stopping is taken as stopped at
   * an unknown time, and deployments no longer in the table are forgotten.
   */
  #onResync(): void {
    const deployments = this.registry.table.deployments;
    for (const name of this.#stops.keys()) if (!deployments.has(name)) this.#stops.delete(name);
    for (const d of deployments.values()) {
      if (hasRoute(d.services.values())) this.#stops.delete(d.name);
      else if (!this.#stops.has(d.name)) this.#stops.set(d.name, UNKNOWN_TIME);
    }
  }
}

function hasRoute(services: Iterable<{ readonly target?: unknown }>): boolean {
  for (const s of services) if (s.target !== undefined) return true;
  return false;
}

import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Resolution, RouteChange } from '../routing/route-table.ts';
import type { BackendPolicy } from '../routing/backend-policy.ts';
import { changedDeployments, diffRoutes } from '../routing/route-diff.ts';
import { RouteTable } from '../routing/route-table.ts';
import type { Decoded } from './codec.ts';
import type { Latin1Page } from './range-response.ts';
import { decodeEntry, decodeKey, decodeLatin1Entry, latin1Key } from './codec.ts';
import type { RegistryFeed } from './registry-feed.ts';
import type { RegistryView } from './registry-view.ts';

/** Per-route lines a resync logs before it only counts. */
const MAX_LOGGED_CHANGES = 100;

/** One key/value as etcd hands it over, in a snapshot or a watch event. */
export interface RegistryKv {
  readonly key: Buffer;
  readonly value: Buffer;
}

export interface RegistryEvent extends RegistryKv {
  readonly type: 'put' | 'delete';
  readonly revision: number;
}

export interface RegistryEvents {
  /** A route appeared, disappeared or moved. */
  route: [RouteChange];
  /** Anything about this deployment changed (routes or metadata): re-read it. */
  deployment: [name: string];
  /** The whole table was replaced from a snapshot. */
  resync: [];
  /** etcd became reachable or unreachable. */
  connection: [connected: boolean];
}

/**
 * Applies registry changes to the route table and tells listeners about them.
 * The table is swapped in one step on a snapshot, so a request never sees a
 * half-loaded registry.
 */
export class Registry extends EventEmitter<RegistryEvents> implements RegistryView, RegistryFeed<RouteTable> {
  #table: RouteTable;
  #revision = 0;
  #ready = false;
  #connected = false;

  /** Level of the lines about the registry's content (entries ignored, routes changed). */
  readonly #contentLevel: { warn: 'warn' | 'debug'; info: 'info' | 'debug' };

  /**
   * `echo`: another process (a cluster's primary) watches the same registry and logs
   * its content events; this one logs them at debug, so each event is one line.
   */
  constructor(
    readonly prefix: string,
    private readonly log: Logger,
    private readonly policy?: BackendPolicy,
    o: { echo?: boolean } = {},
  ) {
    super();
    this.#contentLevel = o.echo ? { warn: 'debug', info: 'debug' } : { warn: 'warn', info: 'info' };
    this.#table = this.newTable();
  }

  /** An empty table that applies the same backend policy, for loading a snapshot into. */
  newTable(): RouteTable {
    return new RouteTable(this.policy);
  }

  get table(): RouteTable {
    return this.#table;
  }
  /** The etcd revision the table reflects. */
  get revision(): number {
    return this.#revision;
  }
  /** True once the first snapshot has loaded; stays true while etcd is away. */
  get ready(): boolean {
    return this.#ready;
  }
  get connected(): boolean {
    return this.#connected;
  }

  /** See RouteTable.resolve: `defaultService` and `fallback` are the DEFAULT_SERVICE and FALLBACK_DEPLOYMENT settings. */
  resolve(label: string, defaultService: string, fallback?: string): Resolution {
    return this.#table.resolve(label, defaultService, fallback);
  }

  setConnected(connected: boolean): void {
    if (connected === this.#connected) return;
    this.#connected = connected;
    this.emit('connection', connected);
  }

  /** Decodes a snapshot page into a table that is not live yet. */
  load(into: RouteTable, kvs: Latin1Page): void {
    for (let i = 0; i + 1 < kvs.length; i += 2) {
      const key = latin1Key(kvs[i]!);
      this.#put(into, key, decodeLatin1Entry(this.prefix, key, kvs[i + 1]!));
    }
  }

  /**
   * Makes a fully loaded snapshot at `revision` the live table; `loadMs` is how
   * long reading it took. The first snapshot is one summary line, not a line per
   * route (100,000 of them would take longer to log than to load); a later one
   * logs what it changed, up to MAX_LOGGED_CHANGES lines.
   *
   * The first snapshot, into an empty table, is announced by 'resync' alone:
   * every route and deployment in it is new, listeners re-read the whole table on
   * 'resync', and 100,000 'route' and 'deployment' events would cost every
   * process a few tenths of a second of its start-up.
   */
  replace(next: RouteTable, revision: number, loadMs?: number): void {
    const previous = this.#table;
    const first = !this.#ready;
    const fromEmpty = first && previous.deployments.size === 0;
    const changes = fromEmpty ? [] : diffRoutes(previous, next);
    this.#table = next;
    this.#revision = revision;
    this.#ready = true;
    this.log.info({ event: 'registry-snapshot-loaded', revision, routes: next.routeCount, deployments: next.deployments.size, changed: fromEmpty ? next.routeCount : changes.length, ms: loadMs }, 'registry snapshot loaded');
    changes.forEach((change, i) => this.#announce(change, !first && i < MAX_LOGGED_CHANGES));
    if (!first && changes.length > MAX_LOGGED_CHANGES) this.log[this.#contentLevel.info]({ notLogged: changes.length - MAX_LOGGED_CHANGES }, 'more route changes in this snapshot');
    this.emit('resync');
    if (!fromEmpty) for (const name of changedDeployments(previous, next)) this.emit('deployment', name);
  }

  /**
   * Applies watch events in order, skipping any the table already reflects.
   * One transaction writes several keys at the same revision, so the floor is
   * the revision before this batch, not the last event's.
   */
  apply(events: readonly RegistryEvent[]): void {
    const applied = this.#revision;
    for (const event of events) {
      if (event.revision <= applied) continue;
      if (event.revision > this.#revision) this.#revision = event.revision;
      const key = event.key.toString('utf8');
      let deployment: string | undefined;
      let change: RouteChange | undefined;
      if (event.type === 'put') {
        ({ deployment, change } = this.#put(this.#table, key, decodeEntry(this.prefix, key, event.value)));
      } else {
        const decoded = decodeKey(this.prefix, key);
        if (decoded.ok) {
          deployment = decoded.ref.deployment;
          change = this.#table.unset(decoded.ref);
        }
      }
      if (change) this.#announce(change);
      if (deployment !== undefined) this.emit('deployment', deployment);
    }
  }

  #put(table: RouteTable, key: string, decoded: Decoded): { deployment?: string; change?: RouteChange } {
    if (decoded.ok) {
      const { ref } = decoded;
      const change = table.set(ref, decoded.value);
      const blocked = ref.service === undefined ? undefined : table.deployments.get(ref.deployment)?.services.get(ref.service)?.blocked;
      if (blocked) this.log[this.#contentLevel.warn]({ event: 'backend-blocked', key, deployment: ref.deployment, service: ref.service, reason: blocked }, 'blocked backend not routed');
      return { deployment: ref.deployment, change };
    }
    this.log[this.#contentLevel.warn]({ event: 'registry-entry-ignored', key, reason: decoded.reason }, 'ignored registry entry');
    // An invalid value replaces a valid one in etcd, so the old value must go too.
    if (!decoded.ref) return {};
    return { deployment: decoded.ref.deployment, change: table.unset(decoded.ref) };
  }

  #announce(change: RouteChange, log = true): void {
    if (log) this.log[this.#contentLevel.info](
      { event: `route-${change.type}`, deployment: change.deployment, service: change.service, target: change.target?.address, previous: change.previous?.address },
      `route ${change.type}`,
    );
    this.emit('route', change);
  }
}

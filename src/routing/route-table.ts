import type { DeploymentField, KeyRef } from '../registry/keys.ts';
import type { BackendPolicy } from './backend-policy.ts';

/** Where a routable service lives. `address` is the printable `host:port` form, `origin` its `http://` URL. */
export interface Target {
  readonly host: string;
  readonly port: number;
  readonly address: string;
  readonly origin: string;
}

export interface Service {
  readonly name: string;
  readonly ip?: string;
  readonly port?: number;
  /** Present only when both ip and port are and the backend policy allows them. */
  readonly target?: Target;
  /** Why a complete registration is not routed (see BackendPolicy). */
  readonly blocked?: string;
}

export interface Deployment {
  readonly name: string;
  readonly branch?: string;
  readonly created?: string;
  readonly defaultService?: string;
  /** When a proxy last forwarded a request to it (ISO-8601), as persisted in etcd. */
  readonly lastRequest?: string;
  readonly services: ReadonlyMap<string, Service>;
}

export interface RouteChange {
  readonly type: 'added' | 'removed' | 'changed';
  readonly deployment: string;
  readonly service: string;
  readonly target?: Target;
  readonly previous?: Target;
}

export type Resolution =
  | { readonly kind: 'route'; readonly deployment: Deployment; readonly service: string; readonly target: Target }
  | { readonly kind: 'unknown-service'; readonly deployment: Deployment; readonly service: string }
  | { readonly kind: 'unknown-deployment'; readonly label: string };

const META_FIELD = { created: 'created', branch: 'branch', default: 'defaultService', 'last-request': 'lastRequest' } as const satisfies Record<
  DeploymentField,
  keyof Deployment
>;

/*
 * Memory layout. A table holds up to ~100,000 routes, so every object and
 * string per route counts (issue #5): classes with all fields set in the
 * constructor (no property arrays grown later), one service stored inline
 * rather than in a Map of its own, `address`/`origin` derived when asked for
 * (most routes never see a request), and repeated strings (service names,
 * backend hosts) shared through a small pool instead of one copy per key.
 */

/**
 * A backend. `origin` is built on its first request and kept (the forwarder asks
 * for it on every one). `address` is built on every call and never kept: the
 * target probe reads it for every route each sweep, which would pin one string
 * per route for good; the other readers are logs and views.
 */
class RouteTarget implements Target {
  #origin: string | undefined = undefined;

  constructor(
    readonly host: string,
    readonly port: number,
  ) {}

  get address(): string {
    // Only an IPv6 literal contains a colon (the codec has validated the host); cheaper than isIP().
    return this.host.includes(':') ? `[${this.host}]:${this.port}` : `${this.host}:${this.port}`;
  }

  get origin(): string {
    return (this.#origin ??= `http://${this.address}`);
  }

  /** The plain form, so logs, JSON and test comparisons see the same fields as before. */
  toJSON(): Target {
    return { host: this.host, port: this.port, address: this.address, origin: this.origin };
  }
}

class TableService implements Service {
  ip: string | undefined = undefined;
  port: number | undefined = undefined;
  target: RouteTarget | undefined = undefined;
  blocked: string | undefined = undefined;

  constructor(readonly name: string) {}
}

/**
 * A deployment's services: nearly every deployment has one, which is kept in a
 * field; a Map (about 150 bytes even when nearly empty) only from the second on.
 */
class ServiceMap implements ReadonlyMap<string, TableService> {
  #one: TableService | undefined = undefined;
  #many: Map<string, TableService> | undefined = undefined;

  get size(): number {
    return this.#many ? this.#many.size : this.#one ? 1 : 0;
  }

  get(name: string): TableService | undefined {
    if (this.#many) return this.#many.get(name);
    return this.#one?.name === name ? this.#one : undefined;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  set(service: TableService): void {
    if (this.#many) this.#many.set(service.name, service);
    else if (!this.#one || this.#one.name === service.name) this.#one = service;
    else {
      this.#many = new Map([[this.#one.name, this.#one], [service.name, service]]);
      this.#one = undefined;
    }
  }

  delete(name: string): void {
    if (this.#many) this.#many.delete(name);
    else if (this.#one?.name === name) this.#one = undefined;
  }

  *values(): MapIterator<TableService> {
    if (this.#many) yield* this.#many.values();
    else if (this.#one) yield this.#one;
  }

  *keys(): MapIterator<string> {
    for (const s of this.values()) yield s.name;
  }

  *entries(): MapIterator<[string, TableService]> {
    for (const s of this.values()) yield [s.name, s];
  }

  [Symbol.iterator](): MapIterator<[string, TableService]> {
    return this.entries();
  }

  forEach(callback: (value: TableService, key: string, map: ReadonlyMap<string, TableService>) => void, thisArg?: unknown): void {
    for (const s of this.values()) callback.call(thisArg, s, s.name, this);
  }
}

class TableDeployment implements Deployment {
  branch: string | undefined = undefined;
  created: string | undefined = undefined;
  defaultService: string | undefined = undefined;
  lastRequest: string | undefined = undefined;
  readonly services = new ServiceMap();

  constructor(readonly name: string) {}
}

/**
 * Shares equal strings: every etcd value and key part arrives as a string of
 * its own, while service names and backend hosts repeat across deployments.
 * Emptied when full, so churning values (pod IPs) cannot grow it without bound.
 */
class StringPool {
  readonly #strings = new Map<string, string>();

  constructor(private readonly max: number) {}

  get(s: string): string {
    const shared = this.#strings.get(s);
    if (shared !== undefined) return shared;
    if (this.#strings.size >= this.max) this.#strings.clear();
    this.#strings.set(s, s);
    return s;
  }
}

/**
 * The in-memory registry: deployments, their services and metadata. Pure data;
 * every lookup is a few Map reads, independent of how many routes there are.
 */
export class RouteTable {
  readonly #deployments = new Map<string, TableDeployment>();
  readonly #policy: BackendPolicy | undefined;
  /** Service names and hosts repeat across deployments; a few thousand distinct ones cover real registries. */
  readonly #strings = new StringPool(4096);
  #routeCount = 0;

  constructor(policy?: BackendPolicy) {
    this.#policy = policy;
  }

  get deployments(): ReadonlyMap<string, Deployment> {
    return this.#deployments;
  }

  get routeCount(): number {
    return this.#routeCount;
  }

  /** Sets one field. Returns the route change it causes, if any. */
  set(ref: KeyRef, value: string | number): RouteChange | undefined {
    const deployment = this.#deploymentFor(ref.deployment);
    if (ref.service === undefined) {
      deployment[META_FIELD[ref.field]] = String(value);
      return undefined;
    }
    let service = deployment.services.get(ref.service);
    if (!service) {
      service = new TableService(this.#strings.get(ref.service));
      deployment.services.set(service);
    }
    const before = service.target;
    if (ref.field === 'ip') service.ip = this.#strings.get(String(value));
    else service.port = Number(value);
    return this.#retarget(deployment, service, before);
  }

  /** Removes one field (a delete, or a put whose value is invalid). */
  unset(ref: KeyRef): RouteChange | undefined {
    const deployment = this.#deployments.get(ref.deployment);
    if (!deployment) return undefined;
    let change: RouteChange | undefined;
    if (ref.service === undefined) {
      deployment[META_FIELD[ref.field]] = undefined;
    } else {
      const service = deployment.services.get(ref.service);
      if (!service) return undefined;
      const before = service.target;
      service[ref.field] = undefined;
      change = this.#retarget(deployment, service, before);
      if (service.ip === undefined && service.port === undefined) deployment.services.delete(ref.service);
    }
    if (deployment.services.size === 0 && deployment.branch === undefined && deployment.created === undefined && deployment.defaultService === undefined && deployment.lastRequest === undefined) {
      this.#deployments.delete(ref.deployment);
    }
    return change;
  }

  /**
   * `<deployment>` opens its default service; otherwise `<deployment>-<service>`,
   * split at the dash that gives the longest deployment name with that service
   * routable. Cost grows with the dashes in the label, never with the table.
   */
  resolve(label: string, fallbackService: string): Resolution {
    const exact = this.#deployments.get(label);
    if (exact) {
      const service = exact.defaultService ?? fallbackService;
      const target = exact.services.get(service)?.target;
      return target ? { kind: 'route', deployment: exact, service, target } : { kind: 'unknown-service', deployment: exact, service };
    }
    let nearest: Resolution | undefined;
    for (let dash = label.lastIndexOf('-'); dash > 0; dash = label.lastIndexOf('-', dash - 1)) {
      const deployment = this.#deployments.get(label.slice(0, dash));
      if (!deployment) continue;
      const service = label.slice(dash + 1);
      const target = deployment.services.get(service)?.target;
      if (target) return { kind: 'route', deployment, service, target };
      nearest ??= { kind: 'unknown-service', deployment, service };
    }
    return nearest ?? { kind: 'unknown-deployment', label };
  }

  *routes(): Generator<{ deployment: string; service: string; target: Target }> {
    for (const d of this.#deployments.values()) {
      for (const s of d.services.values()) if (s.target) yield { deployment: d.name, service: s.name, target: s.target };
    }
  }

  #deploymentFor(name: string): TableDeployment {
    let deployment = this.#deployments.get(name);
    if (!deployment) {
      deployment = new TableDeployment(ownCopy(name));
      this.#deployments.set(deployment.name, deployment);
    }
    return deployment;
  }

  #retarget(deployment: TableDeployment, service: TableService, before: RouteTarget | undefined): RouteChange | undefined {
    let after: RouteTarget | undefined;
    service.blocked = undefined;
    if (service.ip !== undefined && service.port !== undefined) {
      const blocked = this.#policy?.(service.ip, service.port);
      if (blocked === undefined) after = new RouteTarget(service.ip, service.port);
      else service.blocked = blocked;
    }
    if (sameTarget(before, after)) return undefined;
    service.target = after;
    const base = { deployment: deployment.name, service: service.name };
    if (!before) {
      this.#routeCount++;
      return { ...base, type: 'added', target: after };
    }
    if (!after) {
      this.#routeCount--;
      return { ...base, type: 'removed', previous: before };
    }
    return { ...base, type: 'changed', target: after, previous: before };
  }
}

/**
 * A name cut out of an etcd key of 13 characters or more is a view into the
 * whole key string (V8's sliced strings), which the table would keep alive for
 * as long as the deployment: about 64 bytes more per deployment. A copy keeps
 * only the name.
 */
function ownCopy(name: string): string {
  return name.length < 13 ? name : Buffer.from(name, 'utf8').toString('utf8');
}

function sameTarget(a: Target | undefined, b: Target | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.host === b.host && a.port === b.port);
}

/** Route changes that turn `before` into `after`, for logging a full reload as if it were events. */
export function diffRoutes(before: RouteTable, after: RouteTable): RouteChange[] {
  const changes: RouteChange[] = [];
  for (const r of after.routes()) {
    const previous = before.deployments.get(r.deployment)?.services.get(r.service)?.target;
    if (!previous) changes.push({ type: 'added', ...r });
    else if (!sameTarget(previous, r.target)) changes.push({ type: 'changed', ...r, previous });
  }
  for (const r of before.routes()) {
    if (!after.deployments.get(r.deployment)?.services.get(r.service)?.target) {
      changes.push({ type: 'removed', deployment: r.deployment, service: r.service, previous: r.target });
    }
  }
  return changes;
}

/** Names of the deployments whose routes or metadata differ between two tables. */
export function* changedDeployments(before: RouteTable, after: RouteTable): Generator<string> {
  for (const [name, d] of after.deployments) if (!sameDeployment(before.deployments.get(name), d)) yield name;
  for (const name of before.deployments.keys()) if (!after.deployments.has(name)) yield name;
}

function sameDeployment(a: Deployment | undefined, b: Deployment): boolean {
  if (!a || a.branch !== b.branch || a.created !== b.created || a.defaultService !== b.defaultService || a.lastRequest !== b.lastRequest) return false;
  if (a.services.size !== b.services.size) return false;
  for (const [name, s] of b.services) {
    const t = a.services.get(name);
    if (!t || t.ip !== s.ip || t.port !== s.port || t.blocked !== s.blocked) return false;
  }
  return true;
}

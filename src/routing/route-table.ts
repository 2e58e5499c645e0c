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

type MutableService = { -readonly [K in keyof Service]: Service[K] };
type MutableDeployment = { -readonly [K in keyof Omit<Deployment, 'services'>]: Deployment[K] } & {
  services: Map<string, MutableService>;
};

const META_FIELD = { created: 'created', branch: 'branch', default: 'defaultService', 'last-request': 'lastRequest' } as const satisfies Record<
  DeploymentField,
  keyof Deployment
>;

/**
 * The in-memory registry: deployments, their services and metadata. Pure data;
 * every lookup is a few Map reads, independent of how many routes there are.
 */
export class RouteTable {
  readonly #deployments = new Map<string, MutableDeployment>();
  readonly #policy: BackendPolicy | undefined;
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
      (deployment as Record<string, unknown>)[META_FIELD[ref.field]] = String(value);
      return undefined;
    }
    let service = deployment.services.get(ref.service);
    if (!service) {
      service = { name: ref.service };
      deployment.services.set(ref.service, service);
    }
    const before = service.target;
    if (ref.field === 'ip') service.ip = String(value);
    else service.port = Number(value);
    return this.#retarget(deployment, service, before);
  }

  /** Removes one field (a delete, or a put whose value is invalid). */
  unset(ref: KeyRef): RouteChange | undefined {
    const deployment = this.#deployments.get(ref.deployment);
    if (!deployment) return undefined;
    let change: RouteChange | undefined;
    if (ref.service === undefined) {
      delete (deployment as Record<string, unknown>)[META_FIELD[ref.field]];
    } else {
      const service = deployment.services.get(ref.service);
      if (!service) return undefined;
      const before = service.target;
      delete service[ref.field];
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

  #deploymentFor(name: string): MutableDeployment {
    let deployment = this.#deployments.get(name);
    if (!deployment) {
      deployment = { name, services: new Map() };
      this.#deployments.set(name, deployment);
    }
    return deployment;
  }

  #retarget(deployment: MutableDeployment, service: MutableService, before: Target | undefined): RouteChange | undefined {
    let after: Target | undefined;
    delete service.blocked;
    if (service.ip !== undefined && service.port !== undefined) {
      const blocked = this.#policy?.(service.ip, service.port);
      if (blocked === undefined) after = makeTarget(service.ip, service.port);
      else service.blocked = blocked;
    }
    if (sameTarget(before, after)) return undefined;
    if (after) service.target = after;
    else delete service.target;
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

function makeTarget(host: string, port: number): Target {
  // Only an IPv6 literal contains a colon (the codec has validated the host); cheaper than isIP().
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return { host, port, address, origin: `http://${address}` };
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

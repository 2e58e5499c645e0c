import type { DecodedValue, LastWakeValue } from '../registry/codec.ts';
import type { DeploymentField, KeyRef } from '../registry/keys.ts';
import type { SleepRecord } from '../sleep/sleep-record.ts';
import type { BackendPolicy } from './backend-policy.ts';
import type { Deployment, Resolution, RouteChange, Target } from './route-types.ts';
import { resolveLabel } from './resolve-label.ts';
import { sameTarget } from './route-types.ts';
import { StringPool, ownCopy } from './string-pool.ts';
import { RouteTarget, TableDeployment, TableService } from './table-entries.ts';

/** The table's readers import its shapes from here, as they always have. */
export type { Deployment, Resolution, RouteChange, Service, Target } from './route-types.ts';

const META_FIELD = { created: 'created', branch: 'branch', default: 'defaultService', 'last-request': 'lastRequest', fallback: 'fallback' } as const satisfies Record<
  Exclude<DeploymentField, 'sleep' | 'last-wake'>,
  keyof Deployment
>;

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

  /** Sets one field, with the value as the codec decoded it for that field. Returns the route change it causes, if any. */
  set(ref: KeyRef, value: DecodedValue): RouteChange | undefined {
    const deployment = this.#deploymentFor(ref.deployment);
    if (ref.service === undefined) {
      if (ref.field === 'sleep') deployment.sleep = value as SleepRecord;
      else if (ref.field === 'last-wake') deployment.lastWake = value as LastWakeValue;
      else deployment[META_FIELD[ref.field]] = String(value);
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
      if (ref.field === 'sleep') deployment.sleep = undefined;
      else if (ref.field === 'last-wake') deployment.lastWake = undefined;
      else deployment[META_FIELD[ref.field]] = undefined;
    } else {
      const service = deployment.services.get(ref.service);
      if (!service) return undefined;
      const before = service.target;
      service[ref.field] = undefined;
      change = this.#retarget(deployment, service, before);
      if (service.ip === undefined && service.port === undefined) deployment.services.delete(ref.service);
    }
    if (isEmpty(deployment)) this.#deployments.delete(ref.deployment);
    return change;
  }

  /**
   * The route a host's first label names (see resolveLabel). `fallback` is the
   * FALLBACK_DEPLOYMENT setting; deployments may declare their own base.
   */
  resolve(label: string, defaultService: string, fallback?: string): Resolution {
    return resolveLabel(this.#deployments, label, defaultService, fallback);
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
    // Object literals rather than spreads of a common base: this runs for every route of a snapshot.
    if (!before) {
      this.#routeCount++;
      return { type: 'added', deployment: deployment.name, service: service.name, target: after };
    }
    if (!after) {
      this.#routeCount--;
      return { type: 'removed', deployment: deployment.name, service: service.name, previous: before };
    }
    return { type: 'changed', deployment: deployment.name, service: service.name, target: after, previous: before };
  }
}

/** Nothing left of it in the registry: a deployment with only a sleep record (or last-wake) stays known. */
function isEmpty(d: TableDeployment): boolean {
  return (
    d.services.size === 0 &&
    d.branch === undefined &&
    d.created === undefined &&
    d.defaultService === undefined &&
    d.lastRequest === undefined &&
    d.fallback === undefined &&
    d.sleep === undefined &&
    d.lastWake === undefined
  );
}

/*
 * The shapes the route table hands out. Readers (proxy, web, activity) depend on
 * these, never on the classes that store them (see table-entries.ts).
 */

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

import type { SleepRecord } from '../sleep/sleep-record.ts';

export interface Deployment {
  readonly name: string;
  readonly branch?: string;
  readonly created?: string;
  readonly defaultService?: string;
  /** When a proxy last forwarded a request to it (ISO-8601), as persisted in etcd. */
  readonly lastRequest?: string;
  /** The deployment it declares as its base (registry key `fallback`), overriding FALLBACK_DEPLOYMENT. */
  readonly fallback?: string;
  /** Present while it is not awake (sleeping, asleep or waking); keeps a deployment without routes known. */
  readonly sleep?: SleepRecord;
  /** How long its last completed wake took (`<deployment>/last-wake`, outlives the record). */
  readonly lastWake?: { readonly ms: number; readonly at: string };
  readonly services: ReadonlyMap<string, Service>;
}

export interface RouteChange {
  readonly type: 'added' | 'removed' | 'changed';
  readonly deployment: string;
  readonly service: string;
  readonly target?: Target;
  readonly previous?: Target;
}

/**
 * `deployment` is always the one the host asked for (access checks, metrics and
 * logs count it); `servedBy` is the base whose service answers when the asked
 * deployment lacks it (see resolve-label.ts), undefined when it has it itself.
 */
export type Resolution =
  | { readonly kind: 'route'; readonly deployment: Deployment; readonly service: string; readonly target: Target; readonly servedBy: Deployment | undefined }
  | { readonly kind: 'unknown-service'; readonly deployment: Deployment; readonly service: string }
  /**
   * Not routed because `sleeper` (the deployment asked for, or the base that would
   * serve it) has a sleep record listing the service: a request wakes `sleeper`.
   */
  | { readonly kind: 'asleep'; readonly deployment: Deployment; readonly service: string; readonly sleeper: Deployment }
  | { readonly kind: 'unknown-deployment'; readonly label: string };

/** Two targets are the same backend when host and port match (the strings may be different copies). */
export function sameTarget(a: Target | undefined, b: Target | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.host === b.host && a.port === b.port);
}

import type { Visit } from '../activity/activity-tracker.ts';
import type { Reachability } from '../web/deployments-view.ts';

/** worker -> primary: the worker listens and has loaded its route table. */
export interface ReadyMessage {
  readonly type: 'branch-proxy:ready';
}

/** primary -> workers: probe results, `[address, reachable, checkedAt, reason]` (null, not undefined: IPC sends JSON). */
export interface ReachabilityMessage {
  readonly type: 'branch-proxy:reachability';
  /** Every probed target: the worker forgets the ones not listed. */
  readonly full: boolean;
  readonly entries: readonly (readonly [address: string, reachable: Reachability['reachable'], checkedAt: number | undefined, reason?: string | null])[];
  /** Targets (addresses) whose reachability flipped, for the dashboards' live feed. */
  readonly changed: readonly string[];
}

/**
 * worker -> primary: visit times the worker's requests moved forward; primary -> workers:
 * the merged times that moved forward (all of them to a worker that just started).
 */
export interface ActivityMessage {
  readonly type: 'branch-proxy:activity';
  readonly visits: readonly Visit[];
}

/** The primary's admin port, handed to each worker in its environment at fork. */
export const ADMIN_PORT_ENV = 'BRANCH_PROXY_CLUSTER_ADMIN_PORT';

/**
 * `1` for a replacement forked while other workers listen: it listens only once its
 * route table has loaded (see WorkerRole.listenAfterLoad).
 */
export const LISTEN_AFTER_LOAD_ENV = 'BRANCH_PROXY_CLUSTER_LISTEN_AFTER_LOAD';

export function isMessage<T extends { type: string }>(m: unknown, type: T['type']): m is T {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === type;
}

import type { Resolution, RouteTable } from '../routing/route-table.ts';
import type { RegistryEvents } from './registry.ts';

/** The route table as readers see it: lookups and listings, no `set`/`unset`. */
export type RouteTableView = Pick<RouteTable, 'deployments' | 'routeCount' | 'resolve' | 'routes'>;

/**
 * What a reader of the registry may do: read the live table and its state, and
 * listen for changes. Only the etcd source holds the full `Registry` that applies
 * changes, so the data path (etcd -> registry -> readers) runs one way by type.
 */
export interface RegistryView {
  readonly prefix: string;
  readonly table: RouteTableView;
  /** The etcd revision the table reflects. */
  readonly revision: number;
  /** True once the first snapshot has loaded; stays true while etcd is away. */
  readonly ready: boolean;
  readonly connected: boolean;
  resolve(label: string, defaultService: string, fallback?: string): Resolution;
  on<E extends keyof RegistryEvents>(event: E, listener: (...args: RegistryEvents[E]) => void): this;
  off<E extends keyof RegistryEvents>(event: E, listener: (...args: RegistryEvents[E]) => void): this;
  once<E extends keyof RegistryEvents>(event: E, listener: (...args: RegistryEvents[E]) => void): this;
}

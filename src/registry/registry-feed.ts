import type { Latin1Page } from './range-response.ts';
import type { RegistryEvent } from './registry.ts';

/**
 * What EtcdSource feeds: a Registry, or in a cluster's primary a RegistryRelay,
 * which passes the same snapshots and events on to the workers (one etcd watch per
 * host). `Table` is what a snapshot loads into before it goes live.
 */
export interface RegistryFeed<Table> {
  readonly prefix: string;
  readonly ready: boolean;
  readonly revision: number;
  newTable(): Table;
  load(into: Table, kvs: Latin1Page): void;
  replace(next: Table, revision: number, loadMs?: number): void;
  apply(events: readonly RegistryEvent[]): void;
  setConnected(connected: boolean): void;
}

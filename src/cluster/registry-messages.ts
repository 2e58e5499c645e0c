import type { Latin1Page } from '../registry/range-response.ts';
import type { RegistryEvent } from '../registry/registry.ts';

/*
 * primary -> workers: the registry as the primary's one etcd watch sees it (RegistryRelay,
 * RegistryFollower). Keys and values travel as latin1 strings, one character per byte:
 * byte-exact (a value that is not UTF-8 is refused by every process alike) and cheap for
 * the IPC channel's JSON.
 */

/** One page of a snapshot. Snapshots are numbered; a page of a newer one starts over. */
export interface RegistryPageMessage {
  readonly type: 'branch-proxy:registry-page';
  readonly snapshot: number;
  readonly kvs: Latin1Page;
}

/** The snapshot's last page has been sent: it reflects etcd at `revision`. */
export interface RegistrySnapshotMessage {
  readonly type: 'branch-proxy:registry-snapshot';
  readonly snapshot: number;
  readonly revision: number;
}

/** Watch events in order: `[put, key, value, revision]` or `[delete, key, '', revision]`. */
export interface RegistryEventsMessage {
  readonly type: 'branch-proxy:registry-events';
  readonly events: readonly (readonly [type: 'put' | 'delete', key: string, value: string, revision: number])[];
}

/** Whether the primary's watch is connected to etcd. */
export interface RegistryConnectionMessage {
  readonly type: 'branch-proxy:registry-connection';
  readonly connected: boolean;
}

/** worker -> primary: send me the registry, a whole snapshot first. */
export interface RegistrySubscribeMessage {
  readonly type: 'branch-proxy:registry-subscribe';
}

export function pageMessage(snapshot: number, kvs: Latin1Page): RegistryPageMessage {
  return { type: 'branch-proxy:registry-page', snapshot, kvs };
}

export function eventsMessage(events: readonly RegistryEvent[]): RegistryEventsMessage {
  return { type: 'branch-proxy:registry-events', events: events.map((e) => [e.type, e.key.toString('latin1'), e.type === 'put' ? e.value.toString('latin1') : '', e.revision] as const) };
}

export function messageEvents(m: RegistryEventsMessage): RegistryEvent[] {
  return m.events.map(([type, key, value, revision]) => ({ type, key: Buffer.from(key, 'latin1'), value: Buffer.from(value, 'latin1'), revision }));
}

import type { Registry, RegistryEvent } from '../registry/registry.ts';
import type { RouteTable } from '../routing/route-table.ts';
import type { RegistryConnectionMessage, RegistryEventsMessage, RegistryPageMessage, RegistrySnapshotMessage } from './registry-messages.ts';
import { messageEvents } from './registry-messages.ts';
import { isMessage } from './messages.ts';

/**
 * A worker's half of one etcd watch per host: applies what the primary's
 * RegistryRelay sends to this worker's registry. Pages load into a table that goes
 * live when its snapshot is complete; the newest snapshot wins. Events that arrive
 * while a snapshot loads are held and applied after it, the registry skipping those
 * the snapshot already reflects.
 */
export class RegistryFollower {
  #loading: { snapshot: number; table: RouteTable; started: number } | undefined;
  #newest = 0;
  #held: RegistryEvent[] = [];

  constructor(private readonly registry: Registry) {}

  /** Applies `m` if it is one of the relay's messages; false if it is not. */
  receive(m: unknown): boolean {
    if (isMessage<RegistryPageMessage>(m, 'branch-proxy:registry-page')) {
      if (m.snapshot < this.#newest) return true;
      if (m.snapshot > this.#newest) {
        this.#newest = m.snapshot;
        this.#loading = { snapshot: m.snapshot, table: this.registry.newTable(), started: performance.now() };
      }
      if (this.#loading) this.registry.load(this.#loading.table, m.kvs);
    } else if (isMessage<RegistrySnapshotMessage>(m, 'branch-proxy:registry-snapshot')) {
      const loading = this.#loading;
      if (loading?.snapshot !== m.snapshot) return true;
      this.#loading = undefined;
      this.registry.replace(loading.table, m.revision, Math.round(performance.now() - loading.started));
      const held = this.#held;
      this.#held = [];
      if (held.length > 0) this.registry.apply(held);
    } else if (isMessage<RegistryEventsMessage>(m, 'branch-proxy:registry-events')) {
      const events = messageEvents(m);
      if (this.#loading || !this.registry.ready) for (const e of events) this.#held.push(e);
      else this.registry.apply(events);
    } else if (isMessage<RegistryConnectionMessage>(m, 'branch-proxy:registry-connection')) {
      this.registry.setConnected(m.connected);
    } else {
      return false;
    }
    return true;
  }
}

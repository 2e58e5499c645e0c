import type { Worker } from 'node:cluster';
import type { Etcd3 } from 'etcd3';
import type { Logger } from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import { readSnapshot } from '../registry/read-snapshot.ts';
import type { RegistryFeed } from '../registry/registry-feed.ts';
import type { Latin1Page } from '../registry/range-response.ts';
import type { Registry, RegistryEvent } from '../registry/registry.ts';
import type { RouteTable } from '../routing/route-table.ts';
import type { RegistryConnectionMessage, RegistryPageMessage, RegistrySnapshotMessage } from './registry-messages.ts';
import { eventsMessage, pageMessage } from './registry-messages.ts';

/** Keys per page of a snapshot read for one worker, as EtcdSource reads its own. */
const PAGE_SIZE = 20_000;
/** Between attempts to read a snapshot for a worker while etcd is away. */
const RETRY_MS = 1000;

/**
 * The primary's half of one etcd watch per host. EtcdSource feeds this in place of
 * the primary's registry: everything is applied to that registry and passed on to
 * the subscribed workers, whose RegistryFollower applies it to theirs, so the host
 * reads a snapshot once and holds one watch, however many workers it runs.
 *
 * A worker that subscribes while the primary loads a snapshot gets the pages loaded
 * so far, then the rest as they come. One that subscribes later (a replacement for a
 * worker that died) gets a snapshot read for it alone, followed by the watch's events,
 * which it holds until that snapshot is complete. While etcd is away it waits, as
 * it would with a watch of its own, for the primary's next snapshot.
 */
export class RegistryRelay implements RegistryFeed<RouteTable> {
  readonly #subscribers = new Map<Worker, { loaded: boolean }>();
  /** The primary's own snapshot while it loads, kept for workers that subscribe meanwhile. */
  #loading: { snapshot: number; pages: RegistryPageMessage[] } | undefined;
  #nextSnapshot = 1;
  readonly #stop = new AbortController();

  constructor(
    private readonly registry: Registry,
    private readonly etcd: Etcd3,
    private readonly log: Logger,
  ) {}

  get prefix(): string {
    return this.registry.prefix;
  }
  get ready(): boolean {
    return this.registry.ready;
  }
  get revision(): number {
    return this.registry.revision;
  }

  newTable(): RouteTable {
    this.#loading = { snapshot: this.#nextSnapshot++, pages: [] };
    return this.registry.newTable();
  }

  load(into: RouteTable, kvs: Latin1Page): void {
    // Sent first: the workers, whose tables serve the requests, load it while this process does.
    const loading = this.#loading!;
    const page = pageMessage(loading.snapshot, kvs);
    loading.pages.push(page);
    this.#broadcast(page);
    this.registry.load(into, kvs);
  }

  replace(next: RouteTable, revision: number, loadMs?: number): void {
    this.registry.replace(next, revision, loadMs);
    this.#broadcast({ type: 'branch-proxy:registry-snapshot', snapshot: this.#loading!.snapshot, revision } satisfies RegistrySnapshotMessage);
    for (const state of this.#subscribers.values()) state.loaded = true;
    this.#loading = undefined;
  }

  apply(events: readonly RegistryEvent[]): void {
    this.registry.apply(events);
    if (this.#subscribers.size > 0) this.#broadcast(eventsMessage(events));
  }

  setConnected(connected: boolean): void {
    this.registry.setConnected(connected);
    this.#broadcast(connectionMessage(connected));
  }

  /** Starts sending `worker` the registry: a whole snapshot, then every change. */
  subscribe(worker: Worker): void {
    const state = { loaded: false };
    this.#subscribers.set(worker, state);
    send(worker, connectionMessage(this.registry.connected));
    if (this.#loading) for (const page of this.#loading.pages) send(worker, page);
    else if (this.registry.ready) void this.#readFor(worker, state);
    // Otherwise etcd has been away since the start: the primary's first snapshot reaches it.
  }

  stop(): void {
    this.#stop.abort();
  }

  /**
   * A snapshot read for one worker. Retried while etcd is away, until it succeeds or a
   * snapshot of the primary's own (after etcd is back) has reached the worker instead.
   */
  async #readFor(worker: Worker, state: { loaded: boolean }): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted && !state.loaded && !this.#loading && this.#subscribers.get(worker) === state) {
      const snapshot = this.#nextSnapshot++;
      try {
        const revision = await readSnapshot(this.etcd, this.prefix, PAGE_SIZE, (kvs) => send(worker, pageMessage(snapshot, kvs)));
        // Sent even if a newer snapshot reached the worker meanwhile: the worker keeps the newest.
        send(worker, { type: 'branch-proxy:registry-snapshot', snapshot, revision } satisfies RegistrySnapshotMessage);
        return;
      } catch (err) {
        this.log.debug({ err, workerPid: worker.process.pid }, 'cannot read a registry snapshot for a worker; retrying');
        await sleep(RETRY_MS, undefined, { signal }).catch(() => undefined);
      }
    }
  }

  #broadcast(m: object): void {
    for (const worker of this.#subscribers.keys()) {
      if (worker.isConnected()) send(worker, m);
      else this.#subscribers.delete(worker);
    }
  }
}

function connectionMessage(connected: boolean): RegistryConnectionMessage {
  return { type: 'branch-proxy:registry-connection', connected };
}

/** A worker that has just died fails the send with EPIPE, reported on its 'error' event (WorkerPool logs it). */
function send(worker: Worker, m: object): void {
  if (worker.isConnected()) worker.send(m);
}

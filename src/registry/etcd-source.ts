import type { Etcd3, IKeyValue, IWatchResponse, Watcher } from 'etcd3';
import type { IBackoff } from 'cockatiel';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { RegistryFeed } from './registry-feed.ts';
import type { RegistryEvent } from './registry.ts';
import { readSnapshot } from './read-snapshot.ts';

export interface EtcdSourceOptions {
  /** Keys per range page: bounds each gRPC message and the memory of a snapshot load. */
  readonly pageSize?: number;
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
}

/**
 * Feeds the registry from etcd: a paged range read at one revision R, then a
 * watch from R + 1. Any watch failure (disconnect, compaction, expired auth) ends
 * that watch and starts over with a fresh snapshot, so no event is ever skipped;
 * etcd3's own watch resumption can skip events in flight, so it is not relied on.
 * The last table keeps serving while etcd is away.
 */
export class EtcdSource<Table> {
  readonly #pageSize: number;
  readonly #backoffOptions: { initialDelay: number; maxDelay: number };

  constructor(
    private readonly client: Etcd3,
    private readonly registry: RegistryFeed<Table>,
    private readonly log: Logger,
    options: EtcdSourceOptions = {},
  ) {
    this.#pageSize = options.pageSize ?? 20_000;
    this.#backoffOptions = { initialDelay: options.initialDelayMs ?? 100, maxDelay: options.maxDelayMs ?? 2000 };
  }

  /** Runs until the signal aborts. Never throws: etcd being away is a state, not an error. */
  async run(signal: AbortSignal): Promise<void> {
    // Here, not at the top: a cluster worker, which follows its primary's watch, never runs one.
    const { ExponentialBackoff } = await import('cockatiel');
    let backoff: IBackoff<unknown> = new ExponentialBackoff(this.#backoffOptions).next();
    let outageLogged = false;
    while (!signal.aborted) {
      try {
        const revision = await this.#loadSnapshot();
        this.registry.setConnected(true);
        if (outageLogged) this.log.info({ revision }, 'etcd reachable again; registry resynchronised');
        outageLogged = false;
        backoff = new ExponentialBackoff(this.#backoffOptions).next();
        const reason = await this.#watch(revision + 1, signal);
        if (signal.aborted) break;
        this.log.warn({ event: 'registry-watch-ended', err: reason, revision: this.registry.revision }, 'registry watch ended; reloading snapshot');
      } catch (err) {
        if (signal.aborted) break;
        this.registry.setConnected(false);
        if (!outageLogged) {
          this.log.error({ event: 'etcd-unreachable', err, endpoints: this.registry.ready ? undefined : 'see ETCD_ENDPOINTS' }, 'etcd unreachable; serving the last table and retrying');
          outageLogged = true;
        } else {
          this.log.debug({ err, delayMs: backoff.duration }, 'etcd still unreachable');
        }
      }
      await sleep(backoff.duration, undefined, { signal }).catch(() => undefined);
      backoff = backoff.next(undefined);
    }
  }

  /** Loads a whole snapshot into a table that goes live in one step, and returns its revision. */
  async #loadSnapshot(): Promise<number> {
    const next = this.registry.newTable();
    const started = performance.now();
    const revision = await readSnapshot(this.client, this.registry.prefix, this.#pageSize, (kvs) => this.registry.load(next, kvs));
    this.registry.replace(next, revision, Math.round(performance.now() - started));
    return revision;
  }

  /** Resolves with the reason the watch ended (or undefined when aborted). */
  #watch(fromRevision: number, signal: AbortSignal): Promise<unknown> {
    // Stopped while the snapshot loaded: an already-aborted signal never fires its listener.
    if (signal.aborted) return Promise.resolve(undefined);
    const watcher: Watcher = this.client.watch().prefix(this.registry.prefix).startRevision(String(fromRevision)).watcher();
    return new Promise((resolve) => {
      const stop = (reason: unknown): void => {
        signal.removeEventListener('abort', onAbort);
        watcher.removeAllListeners();
        this.registry.setConnected(false);
        // Never await cancel(): after a compaction error it can wait forever.
        watcher.on('error', () => undefined);
        watcher.cancel().catch(() => undefined);
        resolve(reason);
      };
      const onAbort = (): void => stop(undefined);
      signal.addEventListener('abort', onAbort, { once: true });
      watcher.on('connected', () => this.registry.setConnected(true));
      watcher.on('data', (res: IWatchResponse) => {
        // Timing for the propagation benchmark's stages (put acked -> first 200); off at info level.
        // Process CPU time (all threads) next to wall time tells work from waiting for a core.
        const debug = this.log.isLevelEnabled('debug');
        const receivedMs = debug ? monotonicMs() : 0;
        const cpu = debug ? process.cpuUsage() : undefined;
        this.registry.apply(res.events.map(toRegistryEvent));
        if (cpu) {
          const appliedMs = monotonicMs();
          const used = process.cpuUsage(cpu);
          const line = { event: 'registry-batch-applied', revision: Number(res.header.revision), events: res.events.length, receivedMs, appliedMs, cpuMs: (used.user + used.system) / 1000 };
          // Written a little later: formatting and writing the line right away competed with the
          // first requests to the new route and added ~0.2 ms to the median it measures.
          setTimeout(() => this.log.debug(line, 'registry watch batch applied'), DEBUG_LINE_DELAY_MS).unref();
        }
      });
      watcher.on('disconnected', (err: Error) => stop(err));
      watcher.on('error', (err: Error) => stop(err));
    });
  }
}

function toRegistryEvent(event: { type: string; kv: IKeyValue }): RegistryEvent {
  return {
    type: event.type === 'Delete' ? 'delete' : 'put',
    key: event.kv.key,
    value: event.kv.value,
    revision: Number(event.kv.mod_revision),
  };
}

/** Past the first requests to a just-added route, which the line is there to time. */
const DEBUG_LINE_DELAY_MS = 50;

/**
 * CLOCK_MONOTONIC in milliseconds (libuv's hrtime). Unlike performance.now(), which
 * counts from each process's start, it is comparable across processes on one host.
 */
function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

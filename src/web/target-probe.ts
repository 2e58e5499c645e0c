import { EventEmitter } from 'node:events';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RegistryView } from '../registry/registry-view.ts';
import type { RouteChange, Target } from '../routing/route-table.ts';
import type { Reachability } from './deployments-view.ts';

export interface TargetProbeOptions {
  /** Pause between two sweeps over every target in the table. */
  readonly intervalMs: number;
  /** A target that has not accepted within this time counts as down. */
  readonly timeoutMs?: number;
  /** Connection attempts in flight at once, whatever the size of the table. */
  readonly concurrency?: number;
  readonly clock?: () => number;
}

export interface TargetProbeEvents {
  /** These deployments have a target whose reachability changed. */
  change: [deployments: string[]];
}

const NOT_PROBED: Reachability = { reachable: null, checkedAt: undefined };

/**
 * Tells whether each target accepts TCP connections, from the proxy's side.
 * Viewers only read the cached result: the number of probes depends on the
 * table (new routes at once, then a sweep every interval, a bounded number in
 * flight), never on how many people have the dashboard open.
 */
export class TargetProbe extends EventEmitter<TargetProbeEvents> {
  readonly #status = new Map<string, { reachable: boolean; checkedAt: number }>();
  readonly #queue = new Map<string, Target>();
  readonly #timeoutMs: number;
  readonly #concurrency: number;
  readonly #clock: () => number;
  #active = 0;
  #idle: (() => void) | undefined;
  #stopped = false;
  #changed = new Set<string>();
  #announceTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly registry: RegistryView,
    private readonly options: TargetProbeOptions,
  ) {
    super();
    this.#timeoutMs = options.timeoutMs ?? 2000;
    this.#concurrency = options.concurrency ?? 16;
    this.#clock = options.clock ?? Date.now;
  }

  status(target: Target): Reachability {
    return this.#status.get(target.address) ?? NOT_PROBED;
  }

  /** Sweeps until the signal aborts; new and moved routes are probed as they arrive. */
  async run(signal: AbortSignal): Promise<void> {
    const onRoute = (change: RouteChange): void => {
      if (change.target) this.#enqueue(change.target);
    };
    this.registry.on('route', onRoute);
    try {
      while (!signal.aborted) {
        this.#sweep();
        await this.#drained();
        await sleep(this.options.intervalMs, undefined, { signal }).catch(() => undefined);
      }
    } finally {
      this.#stopped = true;
      this.#queue.clear();
      clearTimeout(this.#announceTimer);
      this.registry.off('route', onRoute);
    }
  }

  /** Queues every target of the table once and forgets targets that left it. */
  #sweep(): void {
    const live = new Set<string>();
    for (const { target } of this.registry.table.routes()) {
      live.add(target.address);
      this.#enqueue(target);
    }
    for (const address of this.#status.keys()) if (!live.has(address)) this.#status.delete(address);
  }

  #enqueue(target: Target): void {
    if (this.#stopped) return;
    this.#queue.set(target.address, target);
    this.#pump();
  }

  #pump(): void {
    while (this.#active < this.#concurrency && this.#queue.size > 0) {
      const [address, target] = this.#queue.entries().next().value as [string, Target];
      this.#queue.delete(address);
      this.#active++;
      void accepts(target, this.#timeoutMs).then((reachable) => {
        this.#active--;
        this.#record(target, reachable);
        this.#pump();
        if (this.#active === 0 && this.#queue.size === 0) this.#idle?.();
      });
    }
  }

  #drained(): Promise<void> {
    if (this.#active === 0 && this.#queue.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#idle = () => {
        this.#idle = undefined;
        resolve();
      };
    });
  }

  #record(target: Target, reachable: boolean): void {
    const before = this.#status.get(target.address);
    this.#status.set(target.address, { reachable, checkedAt: this.#clock() });
    if (before?.reachable === reachable) return;
    this.#changed.add(target.address);
    // One scan of the table per batch of changes, not one per target: the first sweep changes them all.
    this.#announceTimer ??= setTimeout(() => this.#announce(), 50).unref();
  }

  #announce(): void {
    this.#announceTimer = undefined;
    const changed = this.#changed;
    this.#changed = new Set();
    const names = new Set<string>();
    for (const r of this.registry.table.routes()) if (changed.has(r.target.address)) names.add(r.deployment);
    if (names.size > 0 && !this.#stopped) this.emit('change', [...names]);
  }
}

/** One TCP connection attempt, closed as soon as it is accepted. */
function accepts(target: Target, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: target.host, port: target.port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

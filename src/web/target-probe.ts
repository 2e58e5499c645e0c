import { EventEmitter } from 'node:events';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { resolveAllowed } from '../proxy/resolve-allowed.ts';
import { classifyUpstreamError } from '../proxy/upstream-error.ts';
import type { RegistryView } from '../registry/registry-view.ts';
import type { BackendPolicy } from '../routing/backend-policy.ts';
import type { RouteChange, Target } from '../routing/route-table.ts';
import type { Reachability } from './deployments-view.ts';

export interface TargetProbeOptions {
  /** The forwarder's policy: a target whose host resolves to a denied address is never connected to. */
  readonly policy: BackendPolicy;
  /** Pause between two sweeps over every target in the table. */
  readonly intervalMs: number;
  /** A target that has not accepted within this time counts as down. */
  readonly timeoutMs?: number;
  /** Connection attempts in flight at once, whatever the size of the table. */
  readonly concurrency?: number;
  readonly clock?: () => number;
}

export interface TargetProbeEvents {
  /** The reachability of these targets (their `address`, host:port) changed. */
  change: [addresses: string[]];
}

const NOT_PROBED: Reachability = { reachable: null, checkedAt: undefined };

/**
 * Tells whether each target accepts TCP connections, from the proxy's side.
 * Viewers only read the cached result: the number of probes depends on the
 * table (new routes at once, then a sweep every interval, a bounded number in
 * flight), never on how many people have the dashboard open.
 */
export class TargetProbe extends EventEmitter<TargetProbeEvents> {
  readonly #status = new Map<string, Reachability>();
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
    return this.statusOf(target.address);
  }

  statusOf(address: string): Reachability {
    return this.#status.get(address) ?? NOT_PROBED;
  }

  /** Every target of the table probed so far, by address. */
  probed(): IterableIterator<string> {
    return this.#status.keys();
  }

  /** Sweeps until the signal aborts; new and moved routes are probed as they arrive. */
  async run(signal: AbortSignal): Promise<void> {
    const onRoute = (change: RouteChange): void => {
      if (change.target) this.#enqueue(change.target);
    };
    // A first table comes with no route events (see Registry.replace): probe it whole.
    const onResync = (): void => this.#sweep();
    this.registry.on('route', onRoute);
    this.registry.on('resync', onResync);
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
      this.registry.off('resync', onResync);
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
      void accepts(target, this.#timeoutMs, this.options.policy).then((outcome) => {
        this.#active--;
        this.#record(target, outcome);
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

  #record(target: Target, outcome: ProbeOutcome): void {
    const before = this.#status.get(target.address);
    this.#status.set(target.address, { ...outcome, checkedAt: this.#clock() });
    if (before?.reachable === outcome.reachable && before.reason === outcome.reason) return;
    this.#changed.add(target.address);
    // One event per batch of changes, not one per target: the first sweep changes them all.
    this.#announceTimer ??= setTimeout(() => this.#announce(), 50).unref();
  }

  #announce(): void {
    this.#announceTimer = undefined;
    const changed = this.#changed;
    this.#changed = new Set();
    if (!this.#stopped) this.emit('change', [...changed]);
  }
}

type ProbeOutcome = Pick<Reachability, 'reachable' | 'reason'>;

/**
 * One TCP connection attempt, closed as soon as it is accepted. SECURITY: the
 * host is resolved and checked against the backend policy first, as when
 * forwarding (resolveAllowed), and the checked address is the one connected to:
 * a registry entry naming a host that resolves to a metadata address is never
 * touched, not even by the probe.
 */
export async function accepts(target: Target, timeoutMs: number, policy: BackendPolicy): Promise<ProbeOutcome> {
  let address: string;
  try {
    address = await resolveAllowed(target.host, target.port, policy);
  } catch (err) {
    return { reachable: false, reason: classifyUpstreamError(err).reason };
  }
  return new Promise((resolve) => {
    const socket = connect({ host: address, port: target.port });
    const done = (outcome: ProbeOutcome): void => {
      socket.destroy();
      resolve(outcome);
    };
    socket.setTimeout(timeoutMs, () => done({ reachable: false, reason: `the backend did not accept a connection within ${timeoutMs} ms` }));
    socket.once('connect', () => done({ reachable: true }));
    socket.once('error', (err) => done({ reachable: false, reason: classifyUpstreamError(err).reason }));
  });
}

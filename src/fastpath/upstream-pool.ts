import { connect } from 'node:net';
import type { Socket } from 'node:net';
import type { BackendPolicy } from '../routing/backend-policy.ts';
import type { Target } from '../routing/route-table.ts';
import { resolveAllowed } from '../proxy/resolve-allowed.ts';

/** An idle upstream connection is dropped after this long, as undici's keepAliveTimeout in the other path. */
const IDLE_MS = 30_000;

/** What an upstream connection reports to the request using it. */
export interface UpstreamUser {
  onUpstreamData(chunk: Buffer): void;
  /** The backend closed its side (EOF). */
  onUpstreamEnd(): void;
  /** The connection failed or closed; called once, after onUpstreamEnd when there was one. */
  onUpstreamClose(err: Error | undefined): void;
  onUpstreamDrain(): void;
}

/**
 * One keep-alive connection to a backend. Its listeners are attached once, when it
 * connects, and report to whichever request uses it now: nothing is added or
 * removed per request. Idle, any byte from the backend or its closing drops it.
 */
export class Upstream {
  user: UpstreamUser | undefined;
  /** Set once it has served a request: a failure before any response byte may then be a backend that closed it while idle. */
  reused = false;
  #error: Error | undefined;

  constructor(
    readonly socket: Socket,
    private readonly pool: UpstreamPool,
    readonly key: string,
  ) {
    socket.on('data', (chunk: Buffer) => (this.user ? this.user.onUpstreamData(chunk) : socket.destroy()));
    socket.on('end', () => (this.user ? this.user.onUpstreamEnd() : socket.destroy()));
    socket.on('drain', () => this.user?.onUpstreamDrain());
    socket.on('error', (err) => (this.#error = err));
    socket.on('close', () => {
      pool.forget(this);
      const user = this.user;
      this.user = undefined;
      user?.onUpstreamClose(this.#error);
    });
    socket.setTimeout(IDLE_MS, () => {
      if (!this.user) socket.destroy();
    });
  }

  /** Back to the pool for the next request to the same backend. */
  release(): void {
    this.user = undefined;
    this.reused = true;
    this.pool.park(this);
  }
}

/**
 * Keep-alive connections to backends, by address, most recently used first.
 * New connections are checked against the backend policy after resolving the
 * host (as the undici connector of the other path does), and time out like it.
 */
export class UpstreamPool {
  readonly #idle = new Map<string, Upstream[]>();
  readonly #policy: BackendPolicy;
  readonly #connectTimeoutMs: number;

  constructor(policy: BackendPolicy, connectTimeoutMs: number) {
    this.#policy = policy;
    this.#connectTimeoutMs = connectTimeoutMs;
  }

  /** An idle connection to `target`, or undefined when there is none. */
  take(target: Target, user: UpstreamUser): Upstream | undefined {
    const idle = this.#idle.get(target.origin);
    while (idle !== undefined && idle.length > 0) {
      const upstream = idle.pop()!;
      if (upstream.socket.destroyed || !upstream.socket.writable) continue;
      upstream.user = user;
      return upstream;
    }
    return undefined;
  }

  /** Opens a new connection for `user`; `done` gets it once connected, or the error. */
  open(target: Target, user: UpstreamUser, done: (err: Error | undefined, upstream: Upstream | undefined) => void): void {
    resolveAllowed(target.host, target.port, this.#policy).then(
      (address) => {
        const socket = connect({ host: address, port: target.port, noDelay: true });
        const timer = setTimeout(() => socket.destroy(Object.assign(new Error('connecting to the backend timed out'), { code: 'UND_ERR_CONNECT_TIMEOUT' })), this.#connectTimeoutMs);
        const failed = (err: Error): void => {
          clearTimeout(timer);
          done(err, undefined);
        };
        socket.once('error', failed);
        socket.once('connect', () => {
          clearTimeout(timer);
          socket.off('error', failed);
          const upstream = new Upstream(socket, this, target.origin);
          upstream.user = user;
          done(undefined, upstream);
        });
      },
      (err: Error) => done(err, undefined),
    );
  }

  park(upstream: Upstream): void {
    let idle = this.#idle.get(upstream.key);
    if (!idle) this.#idle.set(upstream.key, (idle = []));
    idle.push(upstream);
  }

  forget(upstream: Upstream): void {
    const idle = this.#idle.get(upstream.key);
    const i = idle?.indexOf(upstream) ?? -1;
    if (i === -1) return;
    idle!.splice(i, 1);
    if (idle!.length === 0) this.#idle.delete(upstream.key);
  }

  /** Closes every idle connection (at shutdown; busy ones end with their request). */
  close(): void {
    for (const idle of [...this.#idle.values()]) for (const upstream of [...idle]) upstream.socket.destroy();
    this.#idle.clear();
  }
}

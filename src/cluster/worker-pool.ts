import cluster from 'node:cluster';
import type { Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { StartupError } from '../startup-error.ts';
import type { ReadyMessage } from './messages.ts';
import { ADMIN_PORT_ENV, LISTEN_AFTER_LOAD_ENV, isMessage } from './messages.ts';
import type { WorkersReadiness } from './readiness.ts';

/** A worker that dies is replaced after this pause (so a crash loop logs once a second, not flat out). */
const RESTART_DELAY_MS = 1000;

export interface WorkerPoolOptions {
  readonly size: number;
  readonly log: Logger;
  /** A worker (re)started and listens: send it what it needs from the primary. */
  readonly onListening: (worker: Worker, port: number) => void;
  /** A message from a worker other than the pool's own. */
  readonly onMessage?: (worker: Worker, m: unknown) => void;
}

/**
 * Forks the workers, replaces the ones that die, and knows which have loaded
 * their route table. Node's cluster module shares the public port among them.
 */
export class WorkerPool {
  readonly #ready = new Set<number>();
  /** Workers that listen on the public port now: a replacement waits for its table only while some do. */
  readonly #listening = new Set<number>();
  /** Replacements loading their table before they take connections. */
  readonly #waiting = new Set<number>();
  readonly #o: WorkerPoolOptions;
  readonly #restarts = new Set<NodeJS.Timeout>();
  #stopping = false;
  /** Handed to every worker it forks, first ones and replacements. */
  #adminPort = 0;

  constructor(o: WorkerPoolOptions) {
    this.#o = o;
  }

  /** Forks the workers; resolves once every one listens, rejects if one exits before it does (a bad port, say). */
  start(adminPort: number): Promise<void> {
    this.#adminPort = adminPort;
    return new Promise((resolve, reject) => {
      for (let i = 0; i < this.#o.size; i++) {
        const worker = this.#fork(false);
        const onExit = (code: number | null, signal: string | null): void =>
          reject(new StartupError(`worker ${worker.id} exited (${signal ?? `code ${code}`}) before it listened; its reason is printed above`));
        worker.once('exit', onExit);
        // After #fork's own 'listening' handler, which adds the worker to #listening.
        worker.once('listening', () => {
          worker.off('exit', onExit);
          if (this.#listening.size === this.#o.size) resolve();
        });
      }
    });
  }

  /**
   * `serving`: some worker takes connections and every one that does has its table. A
   * replacement still loading takes none, so it does not make the whole replica unready.
   */
  readiness(): WorkersReadiness {
    const serving = this.#listening.size > 0 && [...this.#listening].every((id) => this.#ready.has(id));
    return { ready: this.#ready.size, total: this.#o.size, waiting: this.#waiting.size, serving };
  }

  workers(): Worker[] {
    return Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
  }

  /** Asks every worker to drain (SIGTERM: each lets its in-flight requests finish) and waits until all have exited. */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const t of this.#restarts) clearTimeout(t);
    await Promise.all(
      this.workers().map((w) => {
        if (w.isDead()) return undefined;
        const exited = new Promise((resolve) => w.once('exit', resolve));
        w.process.kill('SIGTERM');
        return exited;
      }),
    );
  }

  /**
   * A replacement forked while other workers listen joins the port only once its table
   * has loaded (until then they take every connection); the first workers, and a
   * replacement with none left to cover for it, listen at once and answer 503 until loaded.
   */
  #fork(replacement: boolean): Worker {
    const listenAfterLoad = replacement && this.#listening.size > 0;
    const worker = cluster.fork({ [ADMIN_PORT_ENV]: String(this.#adminPort), [LISTEN_AFTER_LOAD_ENV]: listenAfterLoad ? '1' : '0' });
    const log = this.#o.log.child({ worker: worker.id });
    if (listenAfterLoad) this.#waiting.add(worker.id);
    let listened = false;
    worker.on('listening', (address) => {
      if (listened) return; // the TLS redirect port listens too
      listened = true;
      this.#waiting.delete(worker.id);
      this.#listening.add(worker.id);
      log.info({ event: 'worker-listening', workerPid: worker.process.pid, port: address.port }, 'worker listening');
      this.#o.onListening(worker, address.port);
    });
    // A message to a worker that has just died (the probe refresh, /metrics) fails with EPIPE,
    // emitted as 'error': unhandled, it would crash the primary. Its exit is handled below.
    worker.on('error', (err) => log.debug({ err, workerPid: worker.process.pid }, 'cannot message worker; it is exiting'));
    worker.on('message', (m: unknown) => {
      if (isMessage<ReadyMessage>(m, 'branch-proxy:ready')) this.#ready.add(worker.id);
      else this.#o.onMessage?.(worker, m);
    });
    worker.on('exit', (code, signal) => {
      this.#ready.delete(worker.id);
      this.#listening.delete(worker.id);
      this.#waiting.delete(worker.id);
      // A first worker that never listened fails start(); a replacement is replaced whenever it dies.
      if (this.#stopping || (!listened && !replacement)) return;
      log.error({ event: 'worker-died', workerPid: worker.process.pid, code, signal, restartInMs: RESTART_DELAY_MS }, 'worker died; starting a replacement');
      const t = setTimeout(() => {
        this.#restarts.delete(t);
        if (!this.#stopping) this.#fork(true);
      }, RESTART_DELAY_MS);
      this.#restarts.add(t);
    });
    return worker;
  }
}

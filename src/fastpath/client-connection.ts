import type { Socket } from 'node:net';
import type { ClientSide } from './exchange.ts';
import { Exchange } from './exchange.ts';
import type { FastContext } from './fast-context.ts';
import { parseRequestHead } from './request-head.ts';

/**
 * One client connection while the fast path serves it: reads request heads,
 * runs one exchange at a time (pipelined requests wait their turn, in order),
 * and hands the connection to Node's HTTP server, at a request boundary, as soon
 * as a request is one the fast path does not take. Idle, it closes after the
 * keep-alive timeout.
 */
export class ClientConnection implements ClientSide {
  /** Bytes read but not yet used: the next request(s). */
  #pending: Buffer | undefined;
  #exchange: Exchange | undefined;
  #done = false;
  readonly remoteAddress: string;

  readonly #onData = (chunk: Buffer): void => this.#read(chunk);
  readonly #onEnd = (): void => this.#clientEnded();
  readonly #onClose = (): void => this.#closed();
  readonly #onDrain = (): void => this.#exchange?.clientDrained();
  /** No request yet: as in Node, the headers timeout runs from the connection's start; after one, the keep-alive timeout. */
  #served = false;
  readonly #onTimeout = (): void => {
    if (this.#exchange) return;
    if (this.#served) this.socket.destroy();
    else this.ctx.requestTimeout(this.socket);
  };

  constructor(
    readonly socket: Socket,
    private readonly ctx: FastContext,
  ) {
    this.remoteAddress = socket.remoteAddress ?? '';
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onClose);
    socket.on('drain', this.#onDrain);
    socket.on('error', noop);
    // Refreshed by every read and write; only an idle connection is closed by it.
    socket.setTimeout(ctx.headersTimeoutMs);
    socket.on('timeout', this.#onTimeout);
  }

  get busy(): boolean {
    return this.#exchange !== undefined;
  }

  #read(chunk: Buffer): void {
    const exchange = this.#exchange;
    if (exchange) {
      const used = exchange.bodyDone ? 0 : exchange.feedBody(chunk, 0);
      if (used < chunk.length && !this.#done) this.#keep(used === 0 ? chunk : chunk.subarray(used));
      this.flow();
      return;
    }
    this.#keep(chunk);
    this.#next();
  }

  #keep(bytes: Buffer): void {
    this.#pending = this.#pending ? Buffer.concat([this.#pending, bytes]) : bytes;
  }

  /** Starts on the next request read, if any; no exchange is running. */
  #next(): void {
    const pending = this.#pending;
    if (pending === undefined) return;
    const parsed = parseRequestHead(pending, 0, this.ctx.maxHeadBytes);
    // A head that is not whole yet goes to Node too: its headersTimeout then bounds a slow client, as today.
    const route = parsed.kind === 'request' ? this.ctx.route(parsed.head) : undefined;
    if (parsed.kind !== 'request' || route === undefined) {
      this.#handover();
      return;
    }
    const head = parsed.head;
    if (!this.#served) {
      this.#served = true;
      this.socket.setTimeout(this.ctx.keepAliveMs);
    }
    const exchange = new Exchange(this, this.ctx, head, route);
    this.#exchange = exchange;
    this.#pending = undefined;
    if (head.headEnd < pending.length) {
      const used = exchange.feedBody(pending, head.headEnd);
      if (head.headEnd + used < pending.length) this.#pending = pending.subarray(head.headEnd + used);
    }
    exchange.start();
    this.flow();
  }

  /** Reads pause while the backend cannot take the body as fast, or pipelined requests pile up. */
  flow(): void {
    const hold = (this.#exchange?.holdsClient ?? false) || (this.#pending !== undefined && this.#pending.length > this.ctx.maxHeadBytes);
    if (hold) {
      if (!this.socket.isPaused()) this.socket.pause();
    } else if (this.socket.isPaused()) this.socket.resume();
  }

  write(data: Buffer | string): boolean {
    if (this.socket.destroyed) return true;
    return typeof data === 'string' ? this.socket.write(data, 'latin1') : this.socket.write(data);
  }

  exchangeDone(close: boolean): void {
    this.#exchange = undefined;
    if (close || this.ctx.closing || this.#done) {
      this.#finish();
      return;
    }
    this.#next();
    if (!this.#exchange) this.flow();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** No further request on this connection: end it once what was written is sent. */
  #finish(): void {
    this.#done = true;
    this.#pending = undefined;
    this.socket.destroySoon();
  }

  /** Closes the connection if it is between requests (at shutdown); a busy one ends after its response. */
  closeIfIdle(): void {
    if (!this.#exchange) this.socket.destroy();
  }

  /** As Node's server (without httpAllowHalfOpen): the client's FIN aborts what it asked for and ends the connection. */
  #clientEnded(): void {
    const exchange = this.#exchange;
    this.#exchange = undefined;
    exchange?.abort();
    this.#finish();
  }

  #closed(): void {
    this.ctx.forget(this);
    const exchange = this.#exchange;
    this.#exchange = undefined;
    exchange?.abort();
  }

  /** From here on the connection is Node's: our listeners go, the unread bytes are put back to be read first. */
  #handover(): void {
    const socket = this.socket;
    socket.off('data', this.#onData);
    socket.off('end', this.#onEnd);
    socket.off('close', this.#onClose);
    socket.off('drain', this.#onDrain);
    socket.off('error', noop);
    socket.off('timeout', this.#onTimeout);
    socket.setTimeout(0);
    this.ctx.forget(this);
    const pending = this.#pending;
    this.#pending = undefined;
    socket.pause();
    if (pending) socket.unshift(pending);
    this.ctx.handover(socket);
    socket.resume();
  }
}

function noop(): void {}

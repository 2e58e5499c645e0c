import { performance } from 'node:perf_hooks';
import { ChunkedScanner } from './chunked.ts';
import type { FastContext, FastRoute } from './fast-context.ts';
import type { RequestHead } from './request-head.ts';
import { upstreamRequestHead } from './request-rewrite.ts';
import type { ResponseHead } from './response-head.ts';
import { parseResponseHead } from './response-head.ts';
import { clientResponseHead } from './response-rewrite.ts';
import type { Upstream, UpstreamUser } from './upstream-pool.ts';

/** What an exchange needs of its client connection. */
export interface ClientSide {
  /** Writes to the client; false when its buffer is full (then `clientDrained` follows). */
  write(data: Buffer | string): boolean;
  /** The exchange ended; `close`: the connection cannot carry another request. */
  exchangeDone(close: boolean): void;
  /** Reading from the client may have to pause or resume. */
  flow(): void;
  destroy(): void;
  readonly remoteAddress: string;
}

/** Body bytes that arrive before the backend connection is up are queued up to this much, then the client is paused. */
const QUEUE_LIMIT = 64 * 1024;
/** Up to this much of a response body is copied behind its head, to go out in one write; a larger part is written on its own. */
const COALESCE_MAX_BYTES = 16 * 1024;

/**
 * Errors carry the codes of the other path's client (undici), so that
 * classifyUpstreamError maps both paths' failures to the same status, metric and page.
 */
function upstreamError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

/**
 * One request on the fast path: its head and body to a pooled backend connection,
 * the backend's response back to the client, both streamed with backpressure, framed
 * by the parsers (never by trust in the peer), and every way it can fail ended once.
 */
export class Exchange implements UpstreamUser {
  readonly startedAt = performance.now();
  #upstream: Upstream | undefined;
  #upstreamHead: string;
  #finished = false;
  #retried = false;
  /** The connection came from the pool: failing before any response byte may mean the backend closed it while idle. */
  #wasReused = false;

  // Request body.
  #bodyLeft: number;
  readonly #bodyScanner: ChunkedScanner | undefined;
  bodyDone: boolean;
  #bodySent = false;
  #queue: Buffer[] | undefined;
  #queued = 0;
  #upstreamFull = false;

  // Response.
  #responseBytes = false;
  #pendingHead: Buffer | undefined;
  #response: ResponseHead | undefined;
  #responseLeft = 0;
  #responseScanner: ChunkedScanner | undefined;
  /** The backend sent more than its response: the connection cannot be trusted for another one. */
  #extraBytes = false;
  #responded = false;
  /** The client's response head, once the backend's is read and until it is written with the first part of the body. */
  #headOut: string | undefined;
  #status = 200;
  #closeClient: boolean;
  #headerTimer: NodeJS.Timeout | undefined;
  /** With SLEEP_AFTER: a response still open keeps its deployment awake (src/activity/open-streams.ts). */
  readonly #endStream: (() => void) | undefined;

  constructor(
    private readonly client: ClientSide,
    private readonly ctx: FastContext,
    readonly head: RequestHead,
    readonly route: FastRoute,
  ) {
    this.#upstreamHead = upstreamRequestHead(head, client.remoteAddress, ctx.trustProxy);
    this.#bodyLeft = typeof head.body === 'number' ? head.body : 0;
    this.#bodyScanner = head.body === 'chunked' ? new ChunkedScanner() : undefined;
    this.bodyDone = head.body === 0;
    this.#closeClient = !head.keepAlive;
    this.#endStream = ctx.openStream?.(route);
  }

  /** Whether the client must stop sending for now (the backend is not taking the body fast enough). */
  get holdsClient(): boolean {
    return this.#upstreamFull || this.#queued > QUEUE_LIMIT;
  }

  start(): void {
    const upstream = this.ctx.pool.take(this.route.resolution.target, this);
    if (upstream) this.#attach(upstream);
    else this.#open();
  }

  #open(): void {
    this.ctx.pool.open(this.route.resolution.target, this, (err, upstream) => {
      if (this.#finished) {
        upstream?.socket.destroy();
        return;
      }
      if (err || !upstream) return this.#fail(err ?? upstreamError('no connection', 'ECONNREFUSED'));
      this.#attach(upstream);
    });
  }

  #attach(upstream: Upstream): void {
    this.#upstream = upstream;
    this.#wasReused = upstream.reused;
    const socket = upstream.socket;
    socket.write(this.#upstreamHead, 'latin1');
    if (this.#queue) {
      for (const chunk of this.#queue) this.#upstreamFull = !socket.write(chunk);
      this.#bodySent = true;
      this.#queue = undefined;
      this.#queued = 0;
      this.client.flow();
    }
    if (this.bodyDone) this.#armHeaderTimer();
  }

  /** Takes what belongs to this request's body from `chunk[offset..]`; returns how many bytes that was. */
  feedBody(chunk: Buffer, offset: number): number {
    if (this.bodyDone || this.#finished) return 0;
    let take: number;
    if (this.#bodyScanner) {
      const scanned = this.#bodyScanner.scan(chunk, offset);
      if ('error' in scanned) {
        this.#malformed(scanned.error);
        return chunk.length - offset;
      }
      take = scanned.consumed;
      if (scanned.done) this.bodyDone = true;
    } else {
      take = Math.min(this.#bodyLeft, chunk.length - offset);
      this.#bodyLeft -= take;
      if (this.#bodyLeft === 0) this.bodyDone = true;
    }
    if (take > 0) this.#sendBody(offset === 0 && take === chunk.length ? chunk : chunk.subarray(offset, offset + take));
    if (this.bodyDone && this.#upstream) this.#armHeaderTimer();
    return take;
  }

  #sendBody(part: Buffer): void {
    const socket = this.#upstream?.socket;
    if (socket) {
      this.#bodySent = true;
      if (!socket.write(part)) this.#upstreamFull = true;
    } else {
      (this.#queue ??= []).push(part);
      this.#queued += part.length;
    }
  }

  onUpstreamDrain(): void {
    if (!this.#upstreamFull) return;
    this.#upstreamFull = false;
    this.client.flow();
  }

  /** The client's buffer emptied: read from the backend again. */
  clientDrained(): void {
    this.#upstream?.socket.resume();
  }

  #armHeaderTimer(): void {
    if (this.#response || this.#headerTimer) return;
    this.#headerTimer = setTimeout(() => this.#fail(upstreamError('the backend sent no response headers in time', 'UND_ERR_HEADERS_TIMEOUT')), this.ctx.upstreamTimeoutMs);
  }

  onUpstreamData(chunk: Buffer): void {
    if (this.#finished) return;
    this.#responseBytes = true;
    let offset = 0;
    if (!this.#response) {
      const buf = this.#pendingHead ? Buffer.concat([this.#pendingHead, chunk]) : chunk;
      this.#pendingHead = undefined;
      offset = this.#readHeads(buf);
      if (offset < 0) return;
      chunk = buf;
    }
    this.#relayBody(chunk, offset);
  }

  /** Reads interim and final heads from `buf`; returns where the body starts, or -1 when no final head is complete yet (or the exchange ended). */
  #readHeads(buf: Buffer): number {
    let offset = 0;
    for (;;) {
      const parsed = parseResponseHead(buf, offset, this.ctx.maxHeadBytes, this.head.method);
      if (parsed.kind === 'incomplete') {
        this.#pendingHead = offset === 0 ? buf : buf.subarray(offset);
        return -1;
      }
      if (parsed.kind === 'invalid') {
        this.#fail(upstreamError(`the backend sent an invalid response (${parsed.reason})`, 'HPE_INVALID_RESPONSE'));
        return -1;
      }
      const head = parsed.head;
      if (head.statusCode < 200) {
        // 100 Continue, 103 Early Hints: passed on as they came; the final response follows.
        this.client.write(buf.subarray(offset, head.headEnd));
        offset = head.headEnd;
        continue;
      }
      this.#startResponse(head, buf, offset);
      return head.headEnd;
    }
  }

  #startResponse(head: ResponseHead, buf: Buffer, start: number): void {
    clearTimeout(this.#headerTimer);
    this.#response = head;
    this.#status = head.statusCode;
    if (head.framing.kind === 'close' || this.ctx.closing) this.#closeClient = true;
    if (head.framing.kind === 'length') this.#responseLeft = head.framing.length;
    else if (head.framing.kind === 'chunked') this.#responseScanner = new ChunkedScanner();
    const servedBy = this.route.resolution.servedBy?.name;
    this.#responded = true;
    // Sent by #relayBody, with the body that came in the same read: one write (one system call) instead of two.
    this.#headOut = clientResponseHead(head, statusReason(buf, start), { noindex: this.route.noindex, servedBy }, this.#closeClient, this.ctx.keepAliveLine);
  }

  #relayBody(chunk: Buffer, offset: number): void {
    const framing = this.#response!.framing;
    let end = chunk.length;
    let done = false;
    if (framing.kind === 'none') {
      end = offset;
      done = true;
    } else if (framing.kind === 'length') {
      const take = Math.min(this.#responseLeft, chunk.length - offset);
      this.#responseLeft -= take;
      end = offset + take;
      done = this.#responseLeft === 0;
    } else if (framing.kind === 'chunked') {
      const scanned = this.#responseScanner!.scan(chunk, offset);
      if ('error' in scanned) {
        this.#flushHead(undefined);
        return this.#fail(upstreamError(`the backend sent an invalid chunked body (${scanned.error})`, 'HPE_INVALID_CHUNK_SIZE'));
      }
      end = offset + scanned.consumed;
      done = scanned.done;
    }
    const body = end > offset ? (offset === 0 && end === chunk.length ? chunk : chunk.subarray(offset, end)) : undefined;
    if (this.#headOut !== undefined) this.#flushHead(body);
    else if (body !== undefined) this.#writeClient(body);
    if (end < chunk.length) this.#extraBytes = true;
    if (done) this.#complete();
  }

  /** Writes the held response head, with `body` in the same buffer when it is small enough to copy. */
  #flushHead(body: Buffer | undefined): void {
    const head = this.#headOut!;
    this.#headOut = undefined;
    if (body === undefined) return this.#writeClient(head);
    if (body.length > COALESCE_MAX_BYTES) {
      this.#writeClient(head);
      return this.#writeClient(body);
    }
    const out = Buffer.allocUnsafe(head.length + body.length);
    out.write(head, 0, 'latin1');
    body.copy(out, head.length);
    this.#writeClient(out);
  }

  #writeClient(data: Buffer | string): void {
    if (!this.client.write(data)) this.#upstream?.socket.pause();
  }

  onUpstreamEnd(): void {
    if (this.#response?.framing.kind === 'close' && !this.#finished) this.#complete();
  }

  onUpstreamClose(err: Error | undefined): void {
    this.#upstream = undefined;
    if (this.#finished) return;
    if (!this.#responseBytes && !this.#bodySent && !this.#retried && this.#wasReused) {
      // A kept-alive connection the backend closed while it sat idle: try once on a new one.
      this.#retried = true;
      this.#open();
      return;
    }
    this.#fail(err ?? upstreamError('the backend closed the connection', 'UND_ERR_SOCKET'));
  }

  /** The response was sent whole. */
  #complete(): void {
    this.#finished = true;
    clearTimeout(this.#headerTimer);
    const upstream = this.#upstream;
    this.#upstream = undefined;
    if (upstream) {
      if (this.#response!.keepAlive && this.bodyDone && !this.#extraBytes && this.#response!.framing.kind !== 'close' && !upstream.socket.destroyed) {
        upstream.socket.resume();
        upstream.release();
      } else {
        upstream.user = undefined;
        upstream.socket.destroy();
      }
    }
    this.#report(this.#status, false);
    // A body the client is still sending cannot be skipped: the connection ends with the response.
    this.client.exchangeDone(this.#closeClient || !this.bodyDone);
  }

  #fail(err: Error): void {
    if (this.#finished) return;
    this.#finished = true;
    clearTimeout(this.#headerTimer);
    this.#dropUpstream();
    const close = this.#closeClient || !this.bodyDone;
    const page = this.ctx.upstreamFailed(err, this.route, this.head, this.#responded, close);
    if (page) {
      this.#status = page.status;
      this.client.write(page.head);
      if (page.body.length > 0) this.client.write(page.body);
      this.#report(this.#status, false);
      this.client.exchangeDone(close);
    } else {
      this.#report(this.#status, true);
      this.client.destroy();
    }
  }

  #malformed(reason: string): void {
    if (this.#finished) return;
    this.#finished = true;
    clearTimeout(this.#headerTimer);
    this.#dropUpstream();
    // As Node's server answers a body it cannot parse (src/proxy/client-error.ts).
    if (!this.#responded) this.client.write('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    this.ctx.malformedBody(this.client.remoteAddress, reason);
    this.#report(this.#responded ? this.#status : 400, true);
    if (this.#responded) this.client.destroy();
    else this.client.exchangeDone(true);
  }

  /** The client went away: the backend connection is closed, never reused half-read. */
  abort(): void {
    if (this.#finished) return;
    this.#finished = true;
    clearTimeout(this.#headerTimer);
    this.#dropUpstream();
    this.#report(this.#status, true);
  }

  /** Ends the exchange's open-stream mark (SLEEP_AFTER) and hands its outcome to the access log and metrics: once per exchange. */
  #report(status: number, aborted: boolean): void {
    this.#endStream?.();
    this.ctx.finished({ head: this.head, route: this.route, status, startedAt: this.startedAt, aborted });
  }

  #dropUpstream(): void {
    const upstream = this.#upstream;
    this.#upstream = undefined;
    this.#queue = undefined;
    if (upstream) {
      upstream.user = undefined;
      upstream.socket.destroy();
    }
  }
}

/** The reason phrase of the status line at `start` (`HTTP/1.1 200 OK`), as the backend sent it. */
function statusReason(buf: Buffer, start: number): string {
  const end = buf.indexOf(13, start);
  return end > start + 13 ? buf.toString('latin1', start + 13, end) : '';
}

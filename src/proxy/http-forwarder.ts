import type { IncomingMessage, ServerResponse } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { Agent, Dispatcher, buildConnector } from 'undici';
import type { BackendPolicy } from '../routing/backend-policy.ts';
import type { Target } from '../routing/route-table.ts';
import type { ForwardErrorHandler } from './forwarder.ts';
import { H2_FORBIDDEN_RESPONSE_HEADERS, h2RequestHasBody } from './h2-headers.ts';
import { endToEndHeaders } from './hop-by-hop.ts';
import { resolveAllowed } from './resolve-allowed.ts';
import { responseFinished } from './response-finished.ts';

export interface HttpForwarderOptions {
  /** Connecting, and then waiting for response headers, each get this long. */
  readonly upstreamTimeoutMs: number;
  /** Checked on every new upstream connection, after resolving the backend's host name. */
  readonly policy: BackendPolicy;
  readonly trustProxy?: TrustProxy;
}

export interface HttpForwarder {
  web(req: IncomingMessage, res: ServerResponse, target: Target, onError: ForwardErrorHandler, onClose?: () => void, body?: Buffer): void;
  close(): Promise<void>;
}

/**
 * Plain HTTP forwarding through undici's connection pools, with its low-level
 * dispatch API: no intermediate streams, one small handler object per request.
 * Measured about twice the throughput of http-proxy-3 at half the CPU per
 * request (docs/benchmarks.md). Bodies stream both ways with backpressure; the
 * header timeout never cuts a streamed body (bodyTimeout 0).
 * undici (20 MB of a process's idle memory) is loaded by the first request that needs
 * it: with the fast path on, most requests never do.
 */
export function createHttpForwarder(options: HttpForwarderOptions): HttpForwarder {
  let agent: Agent | undefined;
  let loading: Promise<Agent> | undefined;
  const load = (): Promise<Agent> =>
    (loading ??= import('undici').then(({ Agent, buildConnector }) => {
      const connectTcp = buildConnector({ timeout: options.upstreamTimeoutMs });
      const connect: buildConnector.connector = (opts, callback) => {
        resolveAllowed(opts.hostname, Number(opts.port), options.policy).then(
          (address) => connectTcp({ ...opts, hostname: address }, callback),
          (err: Error) => callback(err, null),
        );
      };
      return (agent = new Agent({ connect, headersTimeout: options.upstreamTimeoutMs, bodyTimeout: 0, keepAliveTimeout: 30_000 }));
    }));
  return {
    web(req, res, target, onError, onClose, body) {
      const headers = req.headers;
      // A request has a body when it says so; GET/HEAD without one must not wait for it.
      const hasBody = headers['content-length'] !== undefined ? headers['content-length'] !== '0' : headers['transfer-encoding'] !== undefined || (req.httpVersionMajor === 2 && h2RequestHasBody(req));
      // A new list rather than edits to req.headers: no `delete`, and undici walks an array fastest.
      const list = endToEndHeaders(headers, REPLACED_REQUEST_HEADERS);
      const forwarded = forwardedHeaders(req.socket.remoteAddress ?? '', 'encrypted' in req.socket, headers, options.trustProxy);
      list.push('x-forwarded-for', forwarded.for, 'x-forwarded-proto', forwarded.proto);
      if (forwarded.host !== undefined) list.push('x-forwarded-host', forwarded.host);
      const handler = new ResponseRelay(res, onError, onClose, req.httpVersionMajor === 2);
      // The one 'close' listener of the request (`on`, not `once`: it fires once anyway, without a wrapper).
      res.on('close', handler.onClose);
      // `as string[]`: undici's types list strings only; an array value (set-cookie) is sent as repeated lines, as from an object.
      const request: Dispatcher.DispatchOptions = { origin: target.origin, path: originForm(req.url), method: req.method ?? 'GET', headers: list as string[], body: hasBody ? (body ?? req) : null };
      if (agent) agent.dispatch(request, handler);
      // Only until undici has loaded; a client that left meanwhile is not forwarded.
      else load().then((loaded) => void (res.destroyed || loaded.dispatch(request, handler)), (err: Error) => onError(err, false));
    },
    close: async () => {
      if (loading) await (await loading).close();
    },
  };
}

/** Streams one upstream response into the client's response. */
class ResponseRelay implements Dispatcher.DispatchHandler {
  #controller: Dispatcher.DispatchController | undefined;
  #resume: (() => void) | undefined;

  readonly #res: ServerResponse;
  // Not `onError`: that name belongs to undici's legacy handler interface.
  readonly #onFailure: ForwardErrorHandler;
  readonly #onClosed: (() => void) | undefined;
  /** HTTP/2 has no reason phrase (Node warns when given one). */
  readonly #h2: boolean;
  /** Set when the client left before the response finished (an HTTP/2 response has no `destroyed` to ask). */
  #clientGone = false;

  constructor(res: ServerResponse, onFailure: ForwardErrorHandler, onClosed: (() => void) | undefined, h2: boolean) {
    this.#res = res;
    this.#onFailure = onFailure;
    this.#onClosed = onClosed;
    this.#h2 = h2;
  }

  /** The response finished or the client went away: stop an unfinished upstream request, then tell the caller. */
  readonly onClose = (): void => {
    if (!responseFinished(this.#res)) {
      this.#clientGone = true;
      if (this.#controller && !this.#controller.aborted) this.#controller.abort(new Error('client closed the connection'));
    }
    this.#onClosed?.();
  };

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    // 1xx informational responses (103 Early Hints) are not relayed.
    if (statusCode < 200 || this.#clientGone || this.#res.destroyed) return;
    // Connection-specific headers are dropped for HTTP/1.1 clients as hop-by-hop, and must be for HTTP/2 ones.
    this.#res.writeHead(statusCode, this.#h2 ? undefined : statusMessage || undefined, endToEndHeaders(headers, H2_FORBIDDEN_RESPONSE_HEADERS));
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#res.write(chunk)) return;
    controller.pause();
    this.#resume ??= () => this.#controller?.resume();
    this.#res.once('drain', this.#resume);
  }

  onResponseEnd(): void {
    this.#res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    // The client left first and we aborted: nothing to tell anyone.
    if (this.#clientGone) return;
    this.#onFailure(err, this.#res.headersSent);
  }
}

/** Whether the peer is a load balancer from TRUSTED_PROXIES, whose X-Forwarded-* headers are believed. */
export type TrustProxy = (address: string, hop: number) => boolean;

/**
 * X-Forwarded-For is appended to, as every proxy does. Proto and Host describe
 * the original request: kept as a trusted load balancer set them (it ended TLS),
 * otherwise overwritten. SECURITY: a client could otherwise make a backend build
 * links to any host it likes.
 */
export function addForwardedHeaders(req: IncomingMessage, headers: IncomingHttpHeaders, trustProxy?: TrustProxy): void {
  const forwarded = forwardedHeaders(req.socket.remoteAddress ?? '', 'encrypted' in req.socket, headers, trustProxy);
  headers['x-forwarded-for'] = forwarded.for;
  headers['x-forwarded-proto'] = forwarded.proto;
  headers['x-forwarded-host'] = forwarded.host;
}

/**
 * The X-Forwarded-* values to send for a request with these headers from `remote` (see addForwardedHeaders);
 * `encrypted`: it came over TLS. Shared by both forwarding paths (src/fastpath/ too).
 */
export function forwardedHeaders(remote: string, encrypted: boolean, headers: IncomingHttpHeaders, trustProxy?: TrustProxy): { for: string; proto: string | string[]; host: string | string[] | undefined } {
  const prior = headers['x-forwarded-for'];
  const trusted = trustProxy?.(remote, 0) === true;
  return {
    for: prior ? `${prior}, ${remote}` : remote,
    proto: trusted && headers['x-forwarded-proto'] !== undefined ? headers['x-forwarded-proto'] : encrypted ? 'https' : 'http',
    host: trusted && headers['x-forwarded-host'] !== undefined ? headers['x-forwarded-host'] : headers.host,
  };
}

/**
 * Request headers not copied as they are: X-Forwarded-* get their new values,
 * and `Expect: 100-continue` has already been answered by Node's server (undici refuses it).
 */
const REPLACED_REQUEST_HEADERS: ReadonlySet<string> = new Set(['expect', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']);

/** `GET http://host/path` (absolute form) becomes `/path`; undici sends origin form only. */
function originForm(url: string | undefined): string {
  if (url === undefined || url === '') return '/';
  if (url.charCodeAt(0) === 47 /* / */) return url;
  try {
    const parsed = new URL(url);
    return parsed.pathname + parsed.search;
  } catch {
    return '/';
  }
}

import type { Socket } from 'node:net';
import type { TrustProxy } from '../proxy/http-forwarder.ts';
import type { Resolution } from '../routing/route-table.ts';
import type { UpstreamPool } from './upstream-pool.ts';
import type { RequestHead } from './request-head.ts';

/** A request the fast path forwards: where to, and what the response gets added. */
export interface FastRoute {
  readonly resolution: Extract<Resolution, { kind: 'route' }>;
  /** `<label>.<domain>`, for error pages. */
  readonly host: string;
  readonly noindex: boolean;
}

/** One fast request as it ended, for the access log and metrics. */
export interface FastOutcome {
  readonly head: RequestHead;
  readonly route: FastRoute;
  readonly status: number;
  readonly startedAt: number;
  /** The client left, or the exchange was cut, before the response was sent whole. */
  readonly aborted: boolean;
}

/** What every connection and exchange of the fast path shares; prepared once. */
export interface FastContext {
  readonly pool: UpstreamPool;
  readonly trustProxy: TrustProxy | undefined;
  readonly upstreamTimeoutMs: number;
  /** Heads larger than this are handed to Node (which answers 431 above its own limit). */
  readonly maxHeadBytes: number;
  /** Idle client connections close after this long, as Node's keepAliveTimeout. */
  readonly keepAliveMs: number;
  /** A connection that sent no request within this long gets 408, as from Node's headersTimeout. */
  readonly headersTimeoutMs: number;
  /** Answers and closes such a connection the way Node's server does (its clientError handler). */
  requestTimeout(socket: Socket): void;
  /** `keep-alive: timeout=N`, as Node's server sends it. */
  readonly keepAliveLine: string;
  /** Set once the server is closing: connections end after their current response. */
  closing: boolean;
  /** The route for a request the fast path takes; undefined: hand the connection to Node. */
  route(head: RequestHead): FastRoute | undefined;
  /** Gives the connection to Node's HTTP server (the unread bytes already put back). */
  handover(socket: Socket): void;
  /** Defined with SLEEP_AFTER only: marks the route's service busy until the returned function is called. */
  openStream?(route: FastRoute): () => void;
  finished(outcome: FastOutcome): void;
  /** Counts and logs a backend failure; returns the error page when the client can still get one. */
  upstreamFailed(err: Error, route: FastRoute, head: RequestHead, responded: boolean, close: boolean): { status: number; head: string; body: Buffer } | undefined;
  /** A request body that is not valid chunked encoding (answered 400, as Node answers what it cannot parse): one log line. */
  malformedBody(remote: string, reason: string): void;
  forget(connection: { readonly socket: Socket }): void;
}

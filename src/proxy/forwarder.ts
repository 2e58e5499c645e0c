import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { BackendPolicy } from '../routing/backend-policy.ts';
import type { Target } from '../routing/route-table.ts';
import { createHttpForwarder } from './http-forwarder.ts';
import type { TrustProxy } from './http-forwarder.ts';
import { createWebSocketForwarder } from './websocket-forwarder.ts';

/**
 * Called at most once when forwarding fails. `responded` tells whether the
 * client has already been sent a status line, in which case only closing the
 * connection is left.
 */
export type ForwardErrorHandler = (err: Error, responded: boolean) => void;

/** Moves one request (or WebSocket) to a backend. The engines behind it are replaceable. */
export interface Forwarder {
  /**
   * `onClose` runs once when the response has finished or the client has gone, after an unfinished upstream request was aborted.
   * `body`: the request body, already read (a request held while its deployment woke); otherwise it streams from `req`.
   */
  web(req: IncomingMessage, res: ServerResponse, target: Target, onError: ForwardErrorHandler, onClose?: () => void, body?: Buffer): void;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: Target, onError: ForwardErrorHandler): void;
  /** Open WebSocket pairs; for metrics. */
  readonly openWebSockets: number;
  close(): Promise<void>;
}

/** Plain HTTP through undici (the fast path), WebSocket upgrades through http-proxy-3. */
export function createForwarder(options: { upstreamTimeoutMs: number; policy: BackendPolicy; trustProxy?: TrustProxy }): Forwarder {
  const http = createHttpForwarder(options);
  const ws = createWebSocketForwarder(options.policy, options.trustProxy);
  return {
    web: http.web,
    upgrade: ws.upgrade,
    get openWebSockets() {
      return ws.open;
    },
    async close() {
      ws.close();
      await http.close();
    },
  };
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Target } from '../routing/route-table.ts';

/**
 * Called at most once when forwarding fails. `responded` tells whether the
 * client has already been sent a status line, in which case only closing the
 * connection is left.
 */
export type ForwardErrorHandler = (err: Error, responded: boolean) => void;

/** Moves one request (or WebSocket) to a backend. The engine behind it is replaceable. */
export interface Forwarder {
  web(req: IncomingMessage, res: ServerResponse, target: Target, onError: ForwardErrorHandler): void;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: Target, onError: ForwardErrorHandler): void;
  /** Open WebSocket pairs; for metrics and shutdown. */
  readonly openWebSockets: number;
  close(): void;
}

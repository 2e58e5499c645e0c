import { Agent } from 'node:http';
import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { createProxyServer } from 'http-proxy-3';
import type { Target } from '../routing/route-table.ts';
import type { ForwardErrorHandler, Forwarder } from './forwarder.ts';
import { stripHopByHop } from './hop-by-hop.ts';
import { UpstreamTimeoutError } from './upstream-error.ts';

export interface HttpProxyForwarderOptions {
  /** How long to wait for a backend's response headers (connect included). */
  readonly upstreamTimeoutMs: number;
}

/**
 * Forwarding with http-proxy-3, the maintained rewrite of http-proxy, over a
 * keep-alive agent. The library's gaps are closed here:
 * - no `error` listener kills the process, so every call passes a callback;
 * - a backend resetting mid-response would leave the client hanging, so the
 *   client side is destroyed when the upstream response errors;
 * - its socket timeout would also cut idle streams (SSE), so the header timeout
 *   is a timer that stops once response headers arrive.
 */
export function createHttpProxyForwarder(options: HttpProxyForwarderOptions): Forwarder {
  // Without keep-alive every request opens a new upstream connection: several times slower.
  const agent = new Agent({ keepAlive: true, maxFreeSockets: 256, scheduling: 'lifo' });
  const proxy = createProxyServer({ xfwd: true, agent });
  const upgraded = new WeakSet<Duplex>();
  let openWebSockets = 0;

  proxy.on('proxyReq', (proxyReq: ClientRequest) => {
    const timer = setTimeout(() => proxyReq.destroy(new UpstreamTimeoutError(options.upstreamTimeoutMs)), options.upstreamTimeoutMs);
    proxyReq.once('response', () => clearTimeout(timer));
    proxyReq.once('close', () => clearTimeout(timer));
  });

  proxy.on('proxyRes', (proxyRes: IncomingMessage, _req: IncomingMessage, res: ServerResponse) => {
    stripHopByHop(proxyRes.headers);
    const abort = (): void => {
      if (!res.writableFinished) res.destroy();
    };
    proxyRes.once('error', abort);
    proxyRes.once('aborted', abort);
  });

  proxy.on('proxyReqWs', (proxyReq: ClientRequest, _req: IncomingMessage, socket: Duplex) => {
    proxyReq.once('upgrade', () => {
      upgraded.add(socket);
      openWebSockets++;
      socket.once('close', () => openWebSockets--);
    });
  });

  // Only reached if a call forgot its callback; without it http-proxy-3 throws.
  proxy.on('error', () => undefined);

  return {
    web(req, res, target: Target, onError: ForwardErrorHandler) {
      stripHopByHop(req.headers);
      proxy.web(req, res, { target }, (err: Error) => onError(err, res.headersSent));
    },
    upgrade(req, socket, head, target: Target, onError: ForwardErrorHandler) {
      stripHopByHop(req.headers, { upgrade: true });
      proxy.ws(req, socket, head, { target, agent: false }, (err: Error) => onError(err, upgraded.has(socket)));
    },
    get openWebSockets() {
      return openWebSockets;
    },
    close() {
      proxy.close();
      agent.destroy();
    },
  };
}

import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ProxyServer } from 'http-proxy-3';
import type { BackendPolicy } from '../routing/backend-policy.ts';
import type { Target } from '../routing/route-table.ts';
import type { ForwardErrorHandler } from './forwarder.ts';
import { stripHopByHop } from './hop-by-hop.ts';
import { addForwardedHeaders } from './http-forwarder.ts';
import type { TrustProxy } from './http-forwarder.ts';
import { resolveAllowed } from './resolve-allowed.ts';

export interface WebSocketForwarder {
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: Target, onError: ForwardErrorHandler): void;
  /** Open WebSocket pairs, for metrics. */
  readonly open: number;
  close(): void;
}

/**
 * WebSocket upgrades through http-proxy-3, the maintained rewrite of http-proxy.
 * Every call passes an error callback: without one the library throws and kills
 * the process. The backend's address is resolved and checked against the policy first.
 * http-proxy-3 is loaded by the first upgrade: most processes never see one.
 */
export function createWebSocketForwarder(policy: BackendPolicy, trustProxy?: TrustProxy): WebSocketForwarder {
  const upgraded = new WeakSet<Duplex>();
  let open = 0;
  let proxy: ProxyServer | undefined;
  let loading: Promise<ProxyServer> | undefined;
  const load = (): Promise<ProxyServer> =>
    (loading ??= import('http-proxy-3').then(({ createProxyServer }) => {
      const created = createProxyServer({ xfwd: false });
      created.on('proxyReqWs', (proxyReq: ClientRequest, _req: IncomingMessage, socket: Duplex) => {
        proxyReq.once('upgrade', () => {
          upgraded.add(socket);
          open++;
          socket.once('close', () => open--);
        });
      });
      // Only reached if a call forgot its callback; without a listener http-proxy-3 throws.
      created.on('error', () => undefined);
      return (proxy = created);
    }));

  return {
    upgrade(req, socket, head, target, onError) {
      stripHopByHop(req.headers, { upgrade: true });
      addForwardedHeaders(req, req.headers, trustProxy);
      Promise.all([resolveAllowed(target.host, target.port, policy), load()]).then(
        ([address, ws]) => ws.ws(req, socket, head, { target: { host: address, port: target.port } }, (err: Error) => onError(err, upgraded.has(socket))),
        (err: Error) => onError(err, false),
      );
    },
    get open() {
      return open;
    },
    close() {
      proxy?.close();
    },
  };
}

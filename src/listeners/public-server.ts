import { createServer, Server as HttpServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createSecureServer } from 'node:http2';
import type { Http2SecureServer, Http2Session } from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { ServeConfig } from '../config/serve-config.ts';
import { createClientErrorHandler } from '../proxy/client-error.ts';
import { adoptAuthority, authorityConflictInfo } from '../proxy/h2-headers.ts';
import { readCertificate } from '../tls/certificate-reloader.ts';
import { sendError } from '../web/error-page.ts';

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;
export type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** The public listener, whichever protocol it speaks, with the connection controls a graceful shutdown needs. */
export type PublicServer = (HttpServer | HttpsServer | Http2SecureServer) & {
  closeIdleConnections(): void;
  closeAllConnections(): void;
};

/** An idle client connection is closed after this long: above the 60 s idle timeout of common load balancers. */
const KEEP_ALIVE_MS = 65_000;
const HEADERS_TIMEOUT_MS = 30_000;

/**
 * HTTP/2 limits (docs/deploying.md, test/faults/http2-abuse.test.ts). The rest stay at
 * Node's defaults, which already bound abuse: 10 outstanding PINGs, 32 SETTINGS entries,
 * 1000 invalid frames and 100 refused streams per session, 10 MB of memory per session,
 * and nghttp2's rate limit on stream resets (CVE-2023-44487).
 */
const H2_SETTINGS = {
  /** Browsers open at most 100–256 at once; more per connection only serves a flood. */
  maxConcurrentStreams: 128,
  /** HTTP/1.1's header limit (16 KiB) with room for HPACK's 32 bytes of overhead per field. */
  maxHeaderListSize: 32 * 1024,
};

/**
 * The public listener: plain HTTP, or with TLS HTTPS offering `h2` and `http/1.1` by ALPN
 * (HTTP/1.1 only when HTTP2=false). Browsers on HTTP/2 load many small files over one
 * connection instead of six; backends are still spoken to over HTTP/1.1.
 *
 * WebSockets stay on HTTP/1.1: the server does not advertise RFC 8441 extended CONNECT,
 * so browsers open a separate HTTP/1.1 connection for `wss://`, which this server hands
 * to `onUpgrade` as any HTTP/1.1 server does.
 */
export function createPublicServer(tls: ServeConfig['tls'], onRequest: RequestListener, onUpgrade: UpgradeListener, log: Logger): PublicServer {
  let server: PublicServer;
  if (tls?.http2) {
    server = createHttp2Server(tls, http2RequestListener(onRequest, log));
  } else {
    server = tls ? createHttpsServer({ ...readCertificate(tls), ALPNProtocols: ['http/1.1'] }, onRequest) : createServer(onRequest);
  }
  server.on('upgrade', onUpgrade);
  server.on('clientError', createClientErrorHandler(log));
  // Read by Node's HTTP/1.1 connections, also those an HTTP/2 server takes with allowHTTP1.
  Object.assign(server, { keepAliveTimeout: KEEP_ALIVE_MS, headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: 0 });
  return server;
}

function createHttp2Server(tls: NonNullable<ServeConfig['tls']>, onRequest: RequestListener): PublicServer {
  // The compat API's request and response offer what the handlers use of IncomingMessage and ServerResponse.
  // noDelay: Node's HTTP and HTTPS servers turn Nagle's algorithm off, its HTTP/2 server leaves it on.
  // A proxy writes each response as its backend answers, one small write at a time, and Nagle holds
  // each one back until the browser has acknowledged the last (docs/deploying.md#http2, issue #15).
  const server = createSecureServer({ ...readCertificate(tls), allowHTTP1: true, settings: H2_SETTINGS, noDelay: true }, onRequest as never);
  const sessions = new Set<Http2Session>();
  server.on('session', (session: Http2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    // GOAWAY after idling: streams still open finish first, as with HTTP/1.1's keep-alive timeout.
    session.setTimeout(KEEP_ALIVE_MS, () => session.close());
  });
  // Node's HTTP/2 server closes HTTP/1.1 connections only; sessions are tracked here.
  return Object.assign(server, {
    closeIdleConnections(): void {
      HttpServer.prototype.closeIdleConnections.call(server);
      for (const session of sessions) session.close();
    },
    closeAllConnections(): void {
      HttpServer.prototype.closeAllConnections.call(server);
      for (const session of sessions) session.destroy();
    },
  });
}

/**
 * Before routing, an HTTP/2 request gets its `:authority` as Host (or is refused when
 * the two disagree); HTTP/1.1 requests on the same server pass straight through.
 */
function http2RequestListener(onRequest: RequestListener, log: Logger): RequestListener {
  return (req, res) => {
    if (req.httpVersionMajor === 2) {
      const conflict = adoptAuthority(req.headers);
      if (conflict) {
        log.warn({ authority: conflict.authority, host: conflict.host, url: req.url, remote: req.socket.remoteAddress }, 'refused HTTP/2 request naming two hosts');
        sendError(req, res, authorityConflictInfo(conflict));
        return;
      }
    }
    onRequest(req, res);
  };
}

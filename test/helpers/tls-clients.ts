import { request as httpsRequest } from 'node:https';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { connect, constants } from 'node:http2';
import type { ClientHttp2Session } from 'node:http2';
import type { Readable } from 'node:stream';
import type { ConnectionOptions, TLSSocket } from 'node:tls';

export type Protocol = 'http/1.1' | 'h2';
export const PROTOCOLS: readonly Protocol[] = ['http/1.1', 'h2'];

export interface Response {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The protocol ALPN chose. */
  readonly alpn: string | false;
  readonly body: Readable;
}

export interface Opened {
  /** Status, headers and the body stream, once the headers arrive. */
  readonly response: Promise<Response>;
  /** Goes away mid-response: RST_STREAM on HTTP/2, a closed connection on HTTP/1.1. */
  cancel(): void;
}

export interface TlsReply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** The protocol ALPN chose. */
  readonly alpn: string | false;
  json<T = Record<string, unknown>>(): T;
}

export interface RequestOptions {
  readonly method?: string;
  readonly headers?: OutgoingHttpHeaders;
  readonly body?: string | Buffer;
}

/** One client of the TLS proxy speaking `protocol`; HTTP/2 requests share one connection, as a browser's do. */
export interface TlsClient {
  readonly protocol: Protocol;
  open(host: string, path: string, options?: RequestOptions): Opened;
  request(host: string, path: string, options?: RequestOptions): Promise<TlsReply>;
  close(): void;
}

/** Certificates from test/helpers/certs.ts name 127.0.0.1 and localhost; routing goes by Host / :authority. */
export function tlsClient(protocol: Protocol, port: number, ca: Buffer): TlsClient {
  let session: ClientHttp2Session | undefined;
  const h2Session = (): ClientHttp2Session => {
    if (!session || session.closed || session.destroyed) {
      session = connect(`https://127.0.0.1:${port}`, { ca, servername: 'localhost' });
      session.on('error', () => undefined);
    }
    return session;
  };

  function open(host: string, path: string, options: RequestOptions = {}): Opened {
    if (protocol === 'h2') {
      const s = h2Session();
      const stream = s.request({ ':method': options.method ?? 'GET', ':path': path, ':authority': host, ...options.headers });
      const response = new Promise<Response>((resolve, reject) => {
        stream.once('response', (headers) => resolve({ status: Number(headers[':status']), headers, alpn: s.alpnProtocol ?? false, body: stream }));
        stream.once('error', reject);
        stream.once('close', () => reject(new Error(`stream closed before a response (code ${stream.rstCode})`)));
      });
      stream.end(options.body);
      return { response, cancel: () => stream.close(constants.NGHTTP2_CANCEL) };
    }
    // ALPN offered as a browser does, so an HTTP/1.1 client really chose HTTP/1.1.
    const tlsOptions: ConnectionOptions = { ca, servername: 'localhost', ALPNProtocols: ['http/1.1'] };
    const req = httpsRequest({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', ...tlsOptions, headers: { host, ...options.headers }, agent: false });
    const response = new Promise<Response>((resolve, reject) => {
      req.once('response', (res) => resolve({ status: res.statusCode ?? 0, headers: res.headers, alpn: (res.socket as TLSSocket).alpnProtocol ?? false, body: res }));
      req.once('error', reject);
      req.once('close', () => reject(new Error('connection closed before a response')));
    });
    req.end(options.body);
    return { response, cancel: () => req.destroy() };
  }

  return {
    protocol,
    open,
    async request(host, path, options) {
      const { status, headers, alpn, body: stream } = await open(host, path, options).response;
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks).toString();
      return { status, headers, alpn, body, json: <T>() => JSON.parse(body) as T };
    },
    close() {
      session?.close();
    },
  };
}

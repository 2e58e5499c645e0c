/**
 * Node's own HTTP/1 parser (llhttp), run for real as the oracle of the fast path's differential
 * tests: a node:http server that records what it parsed from a byte stream written to it, and a
 * node:http client that records what it parsed from a response stream a `net` server writes.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import { request } from 'node:http';
import { connect, createServer as createNetServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { once } from 'node:events';

/** What Node made of one request, in a form `deepEqual` compares. */
export interface ParsedRequest {
  readonly method: string;
  readonly url: string;
  readonly httpVersion: string;
  readonly rawHeaders: readonly string[];
  /** The whole body arrived (llhttp reached message complete). */
  readonly complete: boolean;
  /** The body as hex, only meaningful when complete. */
  readonly body: string;
  readonly rawTrailers: readonly string[];
}

export interface ParsedRequests {
  readonly requests: ParsedRequest[];
  /** Node's keep-alive decision per request. */
  readonly keepAlive: boolean[];
  /** llhttp's error code when it rejected the stream (Node answered 400/431 or closed). */
  readonly parseError: string | undefined;
  /** The stream ended in an upgrade or CONNECT request (not among `requests`). */
  readonly tunnel: 'upgrade' | 'connect' | undefined;
}

const GIVE_UP_MS = 15_000;

export interface RequestOracle {
  /** Writes `bytes` to a fresh connection, half-closes it, and reports what Node parsed once it closes. */
  parse(bytes: Buffer): Promise<ParsedRequests>;
  close(): Promise<void>;
}

interface Recording {
  readonly requests: { readonly req: IncomingMessage; readonly chunks: Buffer[] }[];
  readonly keepAlive: boolean[];
  parseError: string | undefined;
  tunnel: 'upgrade' | 'connect' | undefined;
}

export async function startRequestOracle(): Promise<RequestOracle> {
  const server: Server = createServer();
  // Answer pipelined requests and end the connection after the last one once the client has half-closed.
  // (httpAllowHalfOpen is a public property of http.Server that @types/node does not declare.)
  Object.assign(server, { httpAllowHalfOpen: true });
  const recordings = new Map<Socket, Recording>();
  const closed = new Map<number, Recording>();
  const waiting = new Map<number, (r: Recording) => void>();
  server.on('connection', (socket: Socket) => {
    const recording: Recording = { requests: [], keepAlive: [], parseError: undefined, tunnel: undefined };
    const port = socket.remotePort!;
    recordings.set(socket, recording);
    socket.on('close', () => {
      recordings.delete(socket);
      const resolve = waiting.get(port);
      if (resolve) {
        waiting.delete(port);
        resolve(recording);
      } else closed.set(port, recording);
    });
  });
  server.on('request', (req: IncomingMessage, res) => {
    const recording = recordings.get(req.socket)!;
    const chunks: Buffer[] = [];
    recording.requests.push({ req, chunks });
    recording.keepAlive.push(res.shouldKeepAlive);
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    // A length on the answer lets Node keep an HTTP/1.0 keep-alive connection open, as the client asked.
    req.on('end', () => res.writeHead(200, { 'Content-Length': '0' }).end());
    req.on('error', () => {});
  });
  // The proxy takes upgrades and CONNECT itself; here they end the stream (the fast path hands both over).
  const endTunnel = (req: IncomingMessage, socket: Socket): void => {
    const recording = recordings.get(socket);
    if (recording) recording.tunnel = req.method === 'CONNECT' ? 'connect' : 'upgrade';
    socket.destroy();
  };
  server.on('upgrade', endTunnel);
  server.on('connect', endTunnel);
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    const recording = recordings.get(socket);
    if (recording && err.code?.startsWith('HPE_') === true) recording.parseError ??= err.code;
    socket.destroy();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    async parse(bytes: Buffer): Promise<ParsedRequests> {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => {});
      await once(socket, 'connect');
      const local = socket.localPort!;
      const done = new Promise<Recording>((resolve, reject) => {
        const early = closed.get(local);
        if (early) {
          closed.delete(local);
          return resolve(early);
        }
        const timer = setTimeout(() => reject(new Error(`node:http did not close the connection within ${GIVE_UP_MS} ms; stream: ${JSON.stringify(bytes.toString('latin1').slice(0, 300))}`)), GIVE_UP_MS);
        waiting.set(local, (r) => {
          clearTimeout(timer);
          resolve(r);
        });
      });
      socket.resume();
      socket.end(bytes);
      const recording = await done;
      socket.destroy();
      return {
        requests: recording.requests.map(({ req, chunks }) => ({
          method: req.method ?? '',
          url: req.url ?? '',
          httpVersion: req.httpVersion,
          rawHeaders: req.rawHeaders,
          complete: req.complete,
          body: req.complete ? Buffer.concat(chunks).toString('hex') : '',
          rawTrailers: req.complete ? req.rawTrailers : [],
        })),
        keepAlive: recording.keepAlive,
        parseError: recording.parseError,
        tunnel: recording.tunnel,
      };
    },
    async close(): Promise<void> {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** What Node's client made of a response stream. */
export interface ParsedResponse {
  /** Status codes of interim (1xx) responses, in order. */
  readonly interim: number[];
  /** Undefined when Node never got a final response head. */
  readonly statusCode: number | undefined;
  readonly httpVersion: string;
  readonly rawHeaders: readonly string[];
  readonly complete: boolean;
  readonly body: string;
  /** The error the request ended with, if any (llhttp's HPE_* code when it rejected the bytes). */
  readonly error: string | undefined;
}

export interface ResponseOracle {
  /** Sends a `method` request to a `net` server that answers with `bytes` and closes. */
  parse(bytes: Buffer, method: string): Promise<ParsedResponse>;
  close(): Promise<void>;
}

export async function startResponseOracle(): Promise<ResponseOracle> {
  let answer: Buffer = Buffer.alloc(0);
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.resume();
    socket.end(answer);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    parse(bytes: Buffer, method: string): Promise<ParsedResponse> {
      answer = bytes;
      return new Promise((resolve, reject) => {
        const interim: number[] = [];
        let response: IncomingMessage | undefined;
        const chunks: Buffer[] = [];
        let error: string | undefined;
        const timer = setTimeout(() => reject(new Error(`node:http client did not finish within ${GIVE_UP_MS} ms; stream: ${JSON.stringify(bytes.toString('latin1').slice(0, 300))}`)), GIVE_UP_MS);
        const req = request({ host: '127.0.0.1', port, method, path: '/', agent: false });
        req.on('information', (info) => interim.push(info.statusCode));
        req.on('response', (res) => {
          response = res;
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', () => {});
        });
        req.on('error', (err: NodeJS.ErrnoException) => (error ??= err.code ?? err.message));
        req.on('socket', (socket) => {
          socket.on('close', () => {
            // Let the response's own end/close events run first.
            setImmediate(() => {
              clearTimeout(timer);
              resolve({
                interim,
                statusCode: response?.statusCode,
                httpVersion: response?.httpVersion ?? '',
                rawHeaders: response?.rawHeaders ?? [],
                complete: response?.complete ?? false,
                body: response?.complete === true ? Buffer.concat(chunks).toString('hex') : '',
                error,
              });
            });
          });
        });
        req.end();
      });
    },
    async close(): Promise<void> {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

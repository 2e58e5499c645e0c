import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer } from 'ws';

/** A real backend on a loopback port, with the endpoints the proxy tests need. */
export interface Backend {
  readonly port: number;
  readonly name: string;
  /** Requests seen, for asserting what the proxy forwarded. */
  readonly seen: IncomingMessage[];
  close(): Promise<void>;
}

/**
 * Routes:
 *   /echo       JSON with the backend's name, method, url and request headers
 *   /upload     echoes the request body's byte count
 *   /sse        server-sent events: one event, then another on `/sse?next` ... (sends 3 events 100 ms apart)
 *   /slow?ms=N  answers after N ms
 *   /reset      sends headers and part of a body, then resets the connection
 *   /big?mb=N   streams N MiB
 *   ws          WebSocket echo on any path
 */
export async function startBackend(name: string, host = '127.0.0.1'): Promise<Backend> {
  const seen: IncomingMessage[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    seen.push(req);
    handle(name, req, res);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws, req) => {
    ws.send(`hello from ${name} ${req.headers.host ?? ''}`);
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    name,
    seen,
    async close() {
      for (const client of wss.clients) client.terminate();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function handle(name: string, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  switch (url.pathname) {
    case '/upload': {
      let bytes = 0;
      req.on('data', (c: Buffer) => (bytes += c.length));
      req.on('end', () => res.end(JSON.stringify({ bytes })));
      return;
    }
    case '/sse': {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      let n = 0;
      res.write(`data: ${n++}\n\n`);
      const timer = setInterval(() => {
        res.write(`data: ${n++}\n\n`);
        if (n === 3) {
          clearInterval(timer);
          res.end();
        }
      }, 300);
      res.on('close', () => clearInterval(timer));
      return;
    }
    case '/slow': {
      const timer = setTimeout(() => res.end('slow'), Number(url.searchParams.get('ms') ?? 1000));
      res.on('close', () => clearTimeout(timer));
      return;
    }
    case '/reset':
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000' });
      res.write('partial');
      setTimeout(() => req.socket.resetAndDestroy(), 50);
      return;
    case '/big': {
      const chunk = Buffer.alloc(64 * 1024, 'x');
      let left = Number(url.searchParams.get('mb') ?? 1) * 16;
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const pump = (): void => {
        while (left > 0) {
          left--;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
      return;
    }
    default:
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ backend: name, method: req.method, url: req.url, headers: req.headers }));
  }
}

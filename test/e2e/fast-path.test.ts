import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { connect } from 'node:net';
import { WebSocket } from 'ws';
import { startFixture, useFixture } from '../helpers/fixture.ts';
import type { Fixture } from '../helpers/fixture.ts';

import { waitFor } from '../helpers/wait.ts';

/** A backend on raw sockets that answers each request head with whatever `answer` writes: framings Node's own server never sends. */
interface RawBackend {
  readonly port: number;
  /** Connections accepted so far, and how many of them have closed. */
  readonly connections: Socket[];
  closed: number;
  close(): Promise<void>;
}

type Answer = (req: { method: string; path: string; connection: number; request: number }, socket: Socket) => void;

async function rawBackend(answer: Answer): Promise<RawBackend> {
  const connections: Socket[] = [];
  const backend: RawBackend = {
    port: 0,
    connections,
    closed: 0,
    close: async () => {
      for (const s of connections) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
  const server: Server = createServer((socket) => {
    const connection = connections.push(socket) - 1;
    let buffered = '';
    let requests = 0;
    socket.on('error', () => {});
    socket.on('close', () => backend.closed++);
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      for (let end = buffered.indexOf('\r\n\r\n'); end !== -1; end = buffered.indexOf('\r\n\r\n')) {
        const [method = '', path = ''] = buffered.slice(0, buffered.indexOf('\r\n')).split(' ');
        buffered = buffered.slice(end + 4);
        answer({ method, path, connection, request: requests++ }, socket);
      }
      // Request bodies are not looked at; only heads are answered.
      if (buffered.length > 65536) buffered = buffered.slice(-3);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return Object.assign(backend, { port: (server.address() as AddressInfo).port });
}

/** Writes `data` to the proxy on one connection and collects what comes back until `done` says so (or the proxy closes). */
async function exchange(port: number, data: string, done: (text: string) => boolean, timeoutMs = 5000): Promise<{ text: string; closed: boolean }> {
  const socket = connect(port, '127.0.0.1');
  let text = '';
  let closed = false;
  socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
  socket.on('close', () => (closed = true));
  socket.on('error', () => {});
  socket.write(data);
  try {
    await waitFor('the expected response', () => (done(text) || closed ? true : undefined), timeoutMs);
  } finally {
    socket.destroy();
  }
  return { text, closed };
}

/** The last log line that matches (Array#findLast is not in this project's lib). */
function lastLog(f: Fixture, match: (line: Record<string, unknown>) => boolean): Record<string, unknown> | undefined {
  for (let i = f.proxy.logs.length - 1; i >= 0; i--) if (match(f.proxy.logs[i]!)) return f.proxy.logs[i];
  return undefined;
}

const count = (text: string, what: string): number => text.split(what).length - 1;

async function fastCounts(f: Fixture): Promise<{ fast: number; handedOver: number }> {
  const m = await f.metrics();
  return { fast: m.value('branch_proxy_fast_path_total', { path: 'fast' }) ?? NaN, handedOver: m.value('branch_proxy_fast_path_total', { path: 'handed-over' }) ?? NaN };
}

describe('the fast path', () => {
  const f = useFixture({ backends: ['app/web'] });
  let raw: RawBackend;
  /** The backend connection that served each path last (the proxy's probe connects too, so connections are told apart by this). */
  const servedBy = new Map<string, Socket>();
  let staleDropped = 0;

  before(async () => {
    raw = await rawBackend(({ method, path, connection, request: n }, socket) => {
      servedBy.set(path, socket);
      switch (path) {
        case '/length':
          return void socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Kind: length\r\n\r\nhello');
        case '/chunked':
          return void socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n');
        case '/close':
          socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end');
          return void socket.end();
        case '/head':
          // HEAD: the length of the body a GET would get, and no body.
          return void socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n${method === 'HEAD' ? '' : 'x'.repeat(1000)}`);
        case '/204':
          return void socket.write('HTTP/1.1 204 No Content\r\nX-Kind: none\r\n\r\n');
        case '/304':
          return void socket.write('HTTP/1.1 304 Not Modified\r\nContent-Length: 42\r\n\r\n');
        case '/early-hints':
          return void socket.write('HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
        case '/reason':
          return void socket.write('HTTP/1.1 299 Custom Words\r\nContent-Length: 0\r\n\r\n');
        case '/stale':
          // Answers the first request of a connection, then closes it when the next one arrives, unanswered:
          // a kept-alive connection the backend dropped just as the proxy reused it.
          if (n > 0) {
            staleDropped++;
            return void socket.destroy();
          }
          return void socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${String(connection).length}\r\n\r\n${connection}`);
        case '/dies':
          socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\npartial');
          return void setTimeout(() => socket.destroy(), 20);
        case '/hangs':
          // Head and part of the body, then nothing: the client gives up.
          return void socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\npartial');
        default:
          return void socket.write('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      }
    });
    await f.register('raw', 'web', raw.port);
    await f.synced();
  });
  after(() => raw.close());

  test('forwards a routed request without node:http, and hands the dashboard to it: the counter shows both', async () => {
    const before = await fastCounts(f);
    const reply = await f.get('app-web.dev.localhost', '/echo');
    assert.equal(reply.status, 200);
    assert.equal(reply.json().backend, 'app/web');
    assert.equal(reply.headers.connection, 'close', 'the client asked for close');
    const { text, closed } = await exchange(f.proxy.port, 'GET /length HTTP/1.1\r\nHost: raw-web.dev.localhost\r\n\r\n', (t) => t.endsWith('hello'));
    assert.ok(!closed);
    assert.match(text, /\r\nconnection: keep-alive\r\nkeep-alive: timeout=65\r\n/i, 'kept alive, as node:http keeps it');
    assert.match(text, /\r\ndate: \w{3}, \d\d \w{3} \d{4} [\d:]{8} GMT\r\n/i, 'a Date header, as node:http adds');
    const dashboard = await f.get('dev.localhost', '/', { headers: { accept: 'application/json' } });
    assert.equal(dashboard.status, 200);
    const after = await fastCounts(f);
    assert.equal(after.fast, before.fast + 2);
    assert.equal(after.handedOver, before.handedOver + 1);
    const line = lastLog(f, (l) => l.msg === 'request' && l.path === '/echo');
    assert.deepEqual(Object.keys(line ?? {}).filter((k) => !['level', 'time', 'pid', 'hostname', 'msg'].includes(k)), ['host', 'deployment', 'service', 'target', 'method', 'path', 'proto', 'status', 'ms']);
    assert.equal(line?.deployment, 'app');
  });

  test('forwards X-Forwarded-* and drops hop-by-hop headers, also those Connection names', async () => {
    const reply = await f.get('app-web.dev.localhost', '/echo', { headers: { 'x-forwarded-for': '10.1.1.1', 'x-forwarded-host': 'evil.example', connection: 'keep-alive, x-secret', 'x-secret': 'no', 'x-kept': 'yes' } });
    const headers = reply.json<{ headers: Record<string, string> }>().headers;
    assert.equal(headers['x-forwarded-for'], '10.1.1.1, 127.0.0.1');
    assert.equal(headers['x-forwarded-host'], 'app-web.dev.localhost', 'an untrusted client cannot choose the host');
    assert.equal(headers['x-forwarded-proto'], 'http');
    assert.equal(headers['x-secret'], undefined);
    assert.equal(headers['x-kept'], 'yes');
  });

  test('pipelined requests are answered in order, also when one in the middle is handed over', async () => {
    const get = (host: string, path: string): string => `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`;
    const { text } = await exchange(
      f.proxy.port,
      get('app-web.dev.localhost', '/echo?n=1') + get('raw-web.dev.localhost', '/length') + get('app-web.dev.localhost', '/echo?n=3') + get('nosuch.dev.localhost', '/') + get('app-web.dev.localhost', '/echo?n=5'),
      (t) => count(t, 'HTTP/1.1 ') === 5 && t.endsWith('}'),
    );
    const order = [...text.matchAll(/"url":"\/echo\?n=(\d)"|X-Kind: length|HTTP\/1\.1 404/g)].map((m) => m[1] ?? m[0]);
    assert.deepEqual(order, ['1', 'X-Kind: length', '3', 'HTTP/1.1 404', '5']);
  });

  test('Content-Length, chunked and close-delimited responses reach the client whole; close-delimited closes the connection', async () => {
    const length = await f.get('raw-web.dev.localhost', '/length');
    assert.equal(length.body, 'hello');
    assert.equal(length.headers['content-length'], '5');
    const chunked = await f.get('raw-web.dev.localhost', '/chunked');
    assert.equal(chunked.body, 'hello world');
    assert.equal(chunked.headers['transfer-encoding'], 'chunked');
    const { text, closed } = await exchange(f.proxy.port, 'GET /close HTTP/1.1\r\nHost: raw-web.dev.localhost\r\n\r\n', () => false);
    assert.ok(closed, 'the proxy closes the connection after a close-delimited body');
    assert.match(text, /\r\nconnection: close\r\n/i);
    assert.ok(text.endsWith('\r\n\r\nuntil the end'), text);
    const reason = await exchange(f.proxy.port, 'GET /reason HTTP/1.1\r\nHost: raw-web.dev.localhost\r\n\r\n', (t) => t.includes('\r\n\r\n'));
    assert.match(reason.text, /^HTTP\/1\.1 299 Custom Words\r\n/, 'the backend reason phrase is kept');
  });

  test('HEAD, 204 and 304 have no body whatever their headers say: the next response on the connection is framed right', async () => {
    const request = (method: string, path: string): string => `${method} ${path} HTTP/1.1\r\nHost: raw-web.dev.localhost\r\n\r\n`;
    const { text } = await exchange(f.proxy.port, request('HEAD', '/head') + request('GET', '/204') + request('GET', '/304') + request('GET', '/length'), (t) => t.endsWith('hello'));
    const statuses = [...text.matchAll(/^HTTP\/1\.1 (\d+)/gm)].map((m) => m[1]);
    assert.deepEqual(statuses, ['200', '204', '304', '200']);
    assert.ok(!text.includes('xxx'), 'no body for HEAD');
  });

  test('103 Early Hints and 100 Continue from the backend are passed on before the response', async () => {
    const { text } = await exchange(f.proxy.port, 'GET /early-hints HTTP/1.1\r\nHost: raw-web.dev.localhost\r\n\r\n', (t) => t.endsWith('ok'));
    assert.match(text, /^HTTP\/1\.1 103 Early Hints\r\nLink: <\/a\.css>; rel=preload\r\n\r\nHTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
  });

  test('request bodies of both framings reach the backend whole', async () => {
    const body = Buffer.alloc(3 * 1024 * 1024 + 7, 'b');
    const sized = await f.get('app-web.dev.localhost', '/upload', { method: 'POST', body });
    assert.deepEqual(sized.json(), { bytes: body.length });
    const chunks = 'POST /upload HTTP/1.1\r\nHost: app-web.dev.localhost\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n4\r\ndefg\r\n0\r\nx-trailer: t\r\n\r\n';
    const { text } = await exchange(f.proxy.port, chunks, (t) => t.endsWith('}'));
    assert.ok(text.endsWith('{"bytes":7}'), text);
    const fast = lastLog(f, (l) => l.msg === 'request' && l.path === '/upload');
    assert.equal(fast?.status, 200);
  });

  test('a malformed chunked request body is refused with 400, as Node refuses it', async () => {
    const { text, closed } = await exchange(f.proxy.port, 'POST /upload HTTP/1.1\r\nHost: app-web.dev.localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', () => false);
    assert.match(text, /^HTTP\/1\.1 400 /);
    assert.ok(closed);
  });

  test('a client that reads slowly holds the backend back (backpressure): memory stays bounded, the body arrives whole', async () => {
    // More than the kernel's socket buffers on both sides of the proxy can hold (tcp_rmem allows 32 MiB each).
    const total = 256 * 1024 * 1024;
    let written = 0;
    let blocked = false;
    const big = await rawBackend((_req, socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${total}\r\n\r\n`);
      const chunk = Buffer.alloc(256 * 1024, 'z');
      const pump = (): void => {
        blocked = false;
        while (written < total) {
          written += chunk.length;
          if (!socket.write(chunk)) {
            blocked = true;
            return void socket.once('drain', pump);
          }
        }
      };
      pump();
    });
    after(() => big.close());
    await f.register('big', 'web', big.port);
    await f.synced();
    const client = connect(f.proxy.port, '127.0.0.1');
    client.on('error', () => {});
    after(() => client.destroy());
    client.pause();
    client.write('GET / HTTP/1.1\r\nHost: big-web.dev.localhost\r\n\r\n');
    // Stalled: the backend waits for 'drain' and has written no more after a while.
    let last = -1;
    await waitFor('the backend to stall', async () => {
      const stalled = blocked && written === last;
      last = written;
      await new Promise((r) => setTimeout(r, 100));
      return stalled ? true : undefined;
    }, 20_000);
    assert.ok(written < total / 2, `the backend could write only ${written} of ${total} bytes while the client did not read`);
    let received = 0;
    client.on('data', (c: Buffer) => (received += c.length));
    client.resume();
    await waitFor('the whole body', () => (received > total ? true : undefined), 30_000);
  });

  test('a backend that cannot keep up with an upload holds the client back (backpressure)', async () => {
    // More than the kernel's socket buffers on both sides of the proxy can hold (tcp_rmem allows 32 MiB each).
    const total = 256 * 1024 * 1024;
    let reader: Socket | undefined;
    // Reads the request head, then nothing.
    const slow = await rawBackend((_req, socket) => {
      reader = socket;
      socket.pause();
    });
    after(() => slow.close());
    await f.register('slowread', 'web', slow.port);
    await f.synced();
    const client = connect(f.proxy.port, '127.0.0.1');
    client.on('error', () => {});
    after(() => client.destroy());
    client.write(`POST / HTTP/1.1\r\nHost: slowread-web.dev.localhost\r\nContent-Length: ${total}\r\n\r\n`);
    let sent = 0;
    let blockedAt = -1;
    const chunk = Buffer.alloc(256 * 1024, 'u');
    const pump = (): void => {
      while (sent < total) {
        sent += chunk.length;
        if (!client.write(chunk)) {
          blockedAt = sent;
          return void client.once('drain', pump);
        }
      }
    };
    pump();
    let last = -1;
    await waitFor('the client to stall', async () => {
      const stalled = blockedAt === sent && sent === last;
      last = sent;
      await new Promise((r) => setTimeout(r, 100));
      return stalled ? true : undefined;
    }, 20_000);
    assert.ok(sent < total / 2, `the client could send only ${sent} of ${total} bytes while the backend did not read`);
    assert.ok(reader, 'the request reached the backend');
    const upstream = reader;
    upstream.resume();
    // Its head (over 100 bytes with the X-Forwarded headers) and the whole body.
    await waitFor('the whole upload at the backend', () => (upstream.bytesRead > total + 100 ? true : undefined), 30_000);
  });

  test('a client that leaves mid-response closes the backend connection: it is never reused half-read', async () => {
    const client = connect(f.proxy.port, '127.0.0.1');
    client.on('error', () => {});
    let text = '';
    client.on('data', (c: Buffer) => (text += c.toString()));
    client.write('GET /hangs HTTP/1.1\r\nHost: raw-web.dev.localhost\r\n\r\n');
    await waitFor('the start of the body', () => (text.includes('partial') ? true : undefined));
    client.destroy();
    const upstream = servedBy.get('/hangs')!;
    await waitFor('the backend to see its connection closed', () => (upstream.destroyed ? true : undefined));
    const line = await waitFor('the access log line', () => lastLog(f, (l) => l.msg === 'request' && l.path === '/hangs'));
    assert.equal(line.value.aborted, true);
  });

  test('a backend that dies mid-response: the client connection is closed, the failure logged', async () => {
    const { text, closed } = await exchange(f.proxy.port, 'GET /dies HTTP/1.1\r\nHost: raw-web.dev.localhost\r\n\r\n', () => false);
    assert.ok(closed);
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n[^]*partial$/);
    const line = await waitFor('the upstream-error log line', () => lastLog(f, (l) => l.event === 'upstream-error' && l.deployment === 'raw'));
    assert.equal(line.value.kind, 'reset');
  });

  test('a pooled connection the backend dropped is retried once on a new one', async () => {
    const first = await f.get('raw-web.dev.localhost', '/stale');
    assert.equal(first.status, 200);
    // The next request reuses the pooled connection; the backend closes it unanswered.
    const second = await f.get('raw-web.dev.localhost', '/stale');
    assert.equal(second.status, 200, second.body);
    assert.equal(staleDropped, 1, 'the pooled connection was tried first');
    assert.notEqual(second.body, first.body, 'answered on a new connection');
  });

  test('an unreachable backend gets the same 502 page, metric and log line as node:http gives', async () => {
    await f.register('gone', 'web', 1);
    await f.synced();
    const reply = await f.get('gone-web.dev.localhost', '/', { headers: { accept: 'application/json' } });
    assert.equal(reply.status, 502);
    assert.equal(reply.json().error, 'upstream-unavailable');
    assert.equal(reply.headers['content-type'], 'application/json; charset=utf-8');
    const html = await f.get('gone-web.dev.localhost', '/');
    assert.match(html.body, /<title>502 Bad Gateway · branch-proxy<\/title>/);
    assert.ok(f.proxy.logs.some((l) => l.event === 'upstream-error' && l.deployment === 'gone' && l.kind === 'refused'));
  });

  test('requests the fast path does not take are answered by node:http as before', async () => {
    const before = await fastCounts(f);
    const absolute = await exchange(f.proxy.port, 'GET http://app-web.dev.localhost/echo HTTP/1.1\r\nHost: app-web.dev.localhost\r\n\r\n', (t) => t.endsWith('}'));
    assert.match(absolute.text, /^HTTP\/1\.1 200 OK/);
    const expect = await f.get('app-web.dev.localhost', '/upload', { method: 'POST', headers: { expect: '100-continue' }, body: 'abc' });
    assert.deepEqual(expect.json(), { bytes: 3 });
    const missing = await f.get('nosuch.dev.localhost', '/', { headers: { accept: 'application/json' } });
    assert.equal(missing.status, 404);
    const ws = new WebSocket(`ws://127.0.0.1:${f.proxy.port}/socket`, { headers: { host: 'app-web.dev.localhost' } });
    const [hello] = (await once(ws, 'message')) as [Buffer];
    assert.match(hello.toString(), /^hello from app\/web/);
    ws.close();
    const http10 = await exchange(f.proxy.port, 'GET /echo HTTP/1.0\r\nHost: app-web.dev.localhost\r\n\r\n', () => false);
    assert.match(http10.text, /^HTTP\/1\.1 200 OK[^]*"backend":"app\/web"/);
    const after = await fastCounts(f);
    assert.equal(after.fast, before.fast);
    assert.equal(after.handedOver, before.handedOver + 5);
  });
});

describe('the fast path, off or out of play', () => {
  test('FAST_PATH=false: everything goes through node:http, no fast-path counter', async (t) => {
    const f = await startFixture(t, { backends: ['app/web'], settings: { FAST_PATH: 'false' } });
    const reply = await f.get('app-web.dev.localhost', '/echo');
    assert.equal(reply.status, 200);
    assert.equal((await f.metrics()).value('branch_proxy_fast_path_total'), undefined);
  });

  test('with the access gate on, every request is checked by node:http (no fast forwarding)', async (t) => {
    const token = 'a-token-of-sixteen-chars';
    const f = await startFixture(t, { backends: ['app/web'], settings: { AUTH_TOKEN: token } });
    assert.equal((await f.get('app-web.dev.localhost', '/echo')).status, 403);
    assert.equal((await f.get('app-web.dev.localhost', '/echo', { headers: { 'x-branch-proxy-token': token } })).status, 200);
    assert.equal((await f.metrics()).value('branch_proxy_fast_path_total'), undefined);
  });
});



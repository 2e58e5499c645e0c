import { after, before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Socket } from 'node:net';
import type { Backend } from '../helpers/backend.ts';
import { useFixture } from '../helpers/fixture.ts';
import type { TestProxy } from '../helpers/proxy.ts';
import { waitFor } from '../helpers/wait.ts';
import { createFigures } from './lib/figures.ts';
import { startLoad } from './lib/load.ts';
import { describeTally, heapAfterGcMiB, openFds, runPool, tally } from './lib/process.ts';
import { DOMAIN, tableOf } from '../helpers/registry.ts';

const figures = createFigures(import.meta.filename);
const HOST = `app.${DOMAIN}`;
const ABORTS = Number(process.env.FAULTS_ABORTS ?? 10_000);
const SLOW_CLIENTS = 40;
/** The proxy's headersTimeout (src/server.ts); Node checks it every 30 s (connectionsCheckingInterval). */
const HEADERS_TIMEOUT_MS = 30_000;
const CHECK_INTERVAL_MS = 30_000;

/**
 * Writes raw bytes to the proxy and collects what comes back until the
 * connection closes (at most `ms`). With `halfClose` the client sends FIN
 * after its bytes, as `nc -N` does.
 */
function raw(port: number, bytes: string | Buffer, ms = 3000, halfClose = false): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => socket.destroy(), ms);
    socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(data);
    });
    if (halfClose) socket.end(bytes);
    else socket.write(bytes);
  });
}

function statusLine(response: string): string {
  return response.split('\r\n')[0] || '(connection closed without an answer)';
}

/** A slowloris client: sends a request line, then one header line a second, never finishing; or nothing at all. */
interface SlowClient {
  readonly kind: 'slow headers' | 'silent';
  readonly connectedAt: number;
  closedAt?: number;
  answer: string;
}

function startSlowClient(port: number, kind: SlowClient['kind'], maxMs: number): SlowClient {
  const client: SlowClient = { kind, connectedAt: performance.now(), answer: '' };
  const socket = connect(port, '127.0.0.1');
  let timer: NodeJS.Timeout | undefined;
  socket.on('error', () => undefined);
  socket.on('data', (d: Buffer) => (client.answer += d.toString('latin1')));
  socket.on('close', () => {
    clearInterval(timer);
    client.closedAt = performance.now();
  });
  if (kind === 'slow headers') {
    socket.write(`GET /echo HTTP/1.1\r\nHost: ${HOST}\r\n`);
    let n = 0;
    timer = setInterval(() => {
      if (performance.now() - client.connectedAt > maxMs) return void socket.destroy();
      socket.write(`X-Slow-${n++}: ${'x'.repeat(10)}\r\n`);
    }, 1000);
  } else {
    timer = setInterval(() => performance.now() - client.connectedAt > maxMs && socket.destroy(), 1000);
  }
  return client;
}

/**
 * One client that gives up at a random point. Resolves with where it stopped,
 * once its socket is closed.
 */
function abortingClient(port: number, kind: number): Promise<string> {
  return new Promise((resolve) => {
    const socket: Socket = connect(port, '127.0.0.1');
    const hard = Math.random() < 0.5;
    const stop = (where: string): void => {
      if (hard) socket.resetAndDestroy();
      else socket.destroy();
      resolve(where);
    };
    const guard = setTimeout(() => stop('guard timeout'), 5000);
    socket.on('close', () => clearTimeout(guard));
    socket.on('error', () => undefined);
    socket.on('connect', () => {
      switch (kind) {
        case 0: {
          const head = `GET /echo?during-headers HTTP/1.1\r\nHost: ${HOST}\r\nUser-Agent: fault-suite\r\nAccept: */*\r\n\r\n`;
          socket.write(head.slice(0, 1 + Math.floor(Math.random() * (head.length - 2))), () => setTimeout(() => stop('during request headers'), Math.random() * 5));
          return;
        }
        case 1: {
          const length = 256 * 1024;
          socket.write(`POST /upload HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: ${length}\r\n\r\n`);
          socket.write(Buffer.alloc(Math.floor(Math.random() * length), 'u'), () => setTimeout(() => stop('during upload body'), Math.random() * 5));
          return;
        }
        case 2: {
          socket.write(`GET /slow?ms=200 HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
          setTimeout(() => stop('waiting for response headers'), Math.random() * 150);
          return;
        }
        default: {
          socket.write(`GET /big?mb=1 HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
          const limit = 1 + Math.floor(Math.random() * 1024 * 1024);
          let got = 0;
          socket.on('data', (d: Buffer) => {
            got += d.length;
            if (got >= limit && !socket.destroyed) stop('during response body');
          });
        }
      }
    });
  });
}

describe('hostile and careless clients: aborts, slowloris, oversized headers, smuggling; sockets and memory return to baseline', () => {
  const f = useFixture({ backends: ['app'], routes: { 'app/web': 'app' } });
  let backend: Backend;
  let proxy: TestProxy;
  const baseline = { fds: 0, heapMiB: 0 };
  const slow: SlowClient[] = [];

  before(async () => {
    ({ proxy } = f);
    backend = f.backend('app');
    assert.equal(tableOf(proxy).length, 1);
    // Warm up every path that is measured later (JIT, pools, lazily loaded modules), then let it settle.
    await runPool(400, 20, (i) => abortingClient(proxy.port, i % 4));
    const warm = startLoad(proxy.port, [{ host: HOST, backend: 'app' }], { connections: 10, maxRequests: 2000 });
    await sleep(500);
    await warm.stop();
    await raw(proxy.port, `GET /echo HTTP/1.1\r\nHost: ${HOST}\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    await settle();
    baseline.fds = openFds();
    baseline.heapMiB = await heapAfterGcMiB();
    for (let i = 0; i < SLOW_CLIENTS; i++) slow.push(startSlowClient(proxy.port, i % 2 ? 'silent' : 'slow headers', HEADERS_TIMEOUT_MS + CHECK_INTERVAL_MS + 15_000));
  });
  after(() => figures.finish());

  /** Waits until the upstream keep-alive connections have closed (backend keep-alive is 5 s) and drops captured log lines. */
  async function settle(): Promise<number> {
    proxy.logs.length = 0;
    backend.seen.length = 0;
    const t0 = performance.now();
    let last = openFds();
    let stableSince = performance.now();
    await waitFor('open fds stable for 6 s', () => {
      const now = openFds();
      if (now !== last) {
        last = now;
        stableSince = performance.now();
      }
      return performance.now() - stableSince > 6000 ? true : undefined;
    }, 30_000);
    return performance.now() - t0;
  }

  test(`slow clients (${SLOW_CLIENTS} slowloris connections) do not hold up others`, async (t: TestContext) => {
    const load = startLoad(proxy.port, [{ host: HOST, backend: 'app' }], { connections: 10, maxMs: 3000 });
    await sleep(3000);
    const result = await load.stop();
    figures.record(t, `${SLOW_CLIENTS} slowloris connections open (half trickling headers, half silent)`, 'other clients: requests / failed / p99', `${result.sent} / ${result.failed} / ${result.p99Ms.toFixed(1)} ms`);
    assert.equal(result.failed, 0);
    assert.ok(slow.every((c) => c.closedAt === undefined), 'slow clients are not dropped before the headers timeout');
  });

  test(`${ABORTS} requests aborted at random points`, async (t: TestContext) => {
    const t0 = performance.now();
    const wheres = await runPool(ABORTS, 50, (i) => abortingClient(proxy.port, i % 4));
    const seconds = (performance.now() - t0) / 1000;
    figures.record(t, `${ABORTS} aborted requests (50 at a time, half with a TCP reset)`, 'aborted where', describeTally(tally(wheres)));
    figures.record(t, `${ABORTS} aborted requests (50 at a time, half with a TCP reset)`, 'took', seconds, 's');
    assert.ok(!wheres.includes('guard timeout'));
    const check = startLoad(proxy.port, [{ host: HOST, backend: 'app' }], { connections: 10, maxRequests: 1000 });
    await waitFor('1000 requests', () => (check.sent >= 1000 ? true : undefined), 10_000);
    const result = await check.stop();
    assert.equal(result.failed, 0, 'the proxy still answers afterwards');
  });

  test('a client that half-closes (FIN) right after its request', async (t: TestContext) => {
    // Node's server (httpAllowHalfOpen false) treats the FIN as the client leaving and aborts the
    // request; the proxy then aborts the upstream request too. Recorded, not a promise: nginx answers these.
    const answers = await runPool(50, 10, () => raw(proxy.port, `GET /echo HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`, 3000, true));
    figures.record(t, 'client half-closes (FIN) after a complete request, 50 times', 'answers', describeTally(tally(answers.map(statusLine))));
  });

  /** The `malformed-request-rejected` log lines since `mark` (an index into the proxy's logs), by status. */
  const rejectedSince = (mark: number): string => describeTally(tally(proxy.logs.slice(mark).filter((l) => l.event === 'malformed-request-rejected').map((l) => String(l.status))));

  test('oversized headers get 431, one log line each, and never reach the backend', async (t: TestContext) => {
    backend.seen.length = 0;
    const mark = proxy.logs.length;
    const variants = {
      'one 20 KiB header': `GET /echo?oversized HTTP/1.1\r\nHost: ${HOST}\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`,
      '3,000 small headers (34 KiB)': `GET /echo?oversized HTTP/1.1\r\nHost: ${HOST}\r\n${Array.from({ length: 3000 }, (_, i) => `X-H${i}: v`).join('\r\n')}\r\n\r\n`,
      '20 KiB request line': `GET /echo?${'q'.repeat(20 * 1024)} HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`,
      '20 KiB Host': `GET /echo HTTP/1.1\r\nHost: ${'h'.repeat(20 * 1024)}.${DOMAIN}\r\n\r\n`,
    };
    const outcomes: string[] = [];
    for (const [name, request] of Object.entries(variants)) {
      const answers = await runPool(100, 20, () => raw(proxy.port, request));
      const seen = describeTally(tally(answers.map(statusLine)));
      outcomes.push(`${name}: ${seen}`);
      assert.equal(seen, '100 HTTP/1.1 431 Request Header Fields Too Large', name);
    }
    figures.record(t, 'oversized headers (4 kinds x 100)', 'answers', outcomes.join('; '));
    assert.equal(backend.seen.length, 0, 'nothing reached the backend');
    assert.equal(rejectedSince(mark), '400 431');
  });

  test('request smuggling attempts get 400, one log line each, and the smuggled request never reaches the backend', async (t: TestContext) => {
    backend.seen.length = 0;
    const mark = proxy.logs.length;
    const H = `Host: ${HOST}\r\n`;
    const smuggled = `GET /smuggled HTTP/1.1\r\n${H}\r\n`;
    const variants: Record<string, string> = {
      'Content-Length + Transfer-Encoding': `POST /echo HTTP/1.1\r\n${H}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`,
      'Transfer-Encoding + Content-Length': `POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${smuggled}`,
      'two different Content-Lengths': `POST /echo HTTP/1.1\r\n${H}Content-Length: 0\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`,
      'Content-Length list': `POST /echo HTTP/1.1\r\n${H}Content-Length: 0, ${smuggled.length}\r\n\r\n${smuggled}`,
      'obs-fold hiding chunked': `POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: identity\r\n chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${smuggled}`,
      'obs-fold': `GET /echo HTTP/1.1\r\n${H}X-Folded: a\r\n b\r\n\r\n`,
      'space before colon': `POST /echo HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${smuggled}`,
      'Transfer-Encoding: xchunked': `POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${smuggled}`,
      'chunked, identity': `POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n${smuggled}`,
      'two Transfer-Encodings': `POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n${smuggled}`,
      'bare LF line ends': `POST /echo HTTP/1.1\n${H.trim()}\nContent-Length: 4\nTransfer-Encoding: chunked\n\n0\n\n${smuggled}`,
      'NUL in a header': `GET /echo HTTP/1.1\r\n${H}X-A: a\0b\r\n\r\n`,
      'HTTP/1.0 with both lengths': `POST /echo HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${smuggled}`,
    };
    for (const [name, request] of Object.entries(variants)) {
      const answers = await runPool(50, 10, () => raw(proxy.port, request));
      assert.equal(describeTally(tally(answers.map(statusLine))), '50 HTTP/1.1 400 Bad Request', name);
      assert.ok(answers.every((a) => (a.match(/HTTP\/1\.1 /g) ?? []).length === 1), `${name}: exactly one answer per connection`);
    }
    figures.record(t, `request smuggling (${Object.keys(variants).length} kinds x 50)`, 'answered 400 / forwarded', `${Object.keys(variants).length * 50} / ${backend.seen.length}`);
    assert.equal(backend.seen.length, 0, `forwarded: ${backend.seen.map((r) => r.url).join(' ')}`);
    assert.equal(rejectedSince(mark), `${Object.keys(variants).length * 50} 400`);

    // Bodies that turn invalid after valid headers: the headers were forwarded, but nothing after the broken body.
    const lateBreaks = {
      'LF after a chunk extension': `POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3;x\nabc\r\n0\r\n\r\n${smuggled}`,
      'invalid chunk size': `POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n${smuggled}`,
    };
    const lateAnswers: string[] = [];
    for (const request of Object.values(lateBreaks)) lateAnswers.push(...(await runPool(50, 10, () => raw(proxy.port, request))).map(statusLine));
    figures.record(t, 'chunked bodies that break after valid headers (2 kinds x 50)', 'client answers / smuggled requests forwarded', `${describeTally(tally(lateAnswers))} / ${backend.seen.filter((r) => r.url === '/smuggled').length}`);
    assert.equal(backend.seen.filter((r) => r.url === '/smuggled').length, 0);
  });

  test('slowloris connections are closed with 408 once the 30 s headers timeout has passed', async (t: TestContext) => {
    const bound = HEADERS_TIMEOUT_MS + CHECK_INTERVAL_MS + 5000;
    await waitFor('every slow client closed', () => (slow.every((c) => c.closedAt !== undefined) ? true : undefined), bound + 5000);
    const lifetimes = slow.map((c) => c.closedAt! - c.connectedAt).sort((a, b) => a - b);
    const answers = tally(slow.map((c) => `${c.kind}: ${statusLine(c.answer)}`));
    figures.record(t, `${SLOW_CLIENTS} slowloris connections`, 'answers', describeTally(answers));
    figures.record(t, `${SLOW_CLIENTS} slowloris connections`, 'closed after (min / max)', `${(lifetimes[0]! / 1000).toFixed(1)} / ${(lifetimes.at(-1)! / 1000).toFixed(1)} s (headersTimeout 30 s, checked every 30 s)`);
    assert.ok(slow.every((c) => statusLine(c.answer) === 'HTTP/1.1 408 Request Timeout'), JSON.stringify(answers));
    assert.ok(lifetimes[0]! >= HEADERS_TIMEOUT_MS - 1000 && lifetimes.at(-1)! <= bound, `closed after ${lifetimes[0]}..${lifetimes.at(-1)} ms`);
  });

  test('afterwards open sockets and memory are back to their baseline', async (t: TestContext) => {
    const settleMs = await settle();
    const fds = openFds();
    const heapMiB = await heapAfterGcMiB();
    figures.record(t, 'after all client faults', 'open fds before / after', `${baseline.fds} / ${fds} (settled after ${(settleMs / 1000).toFixed(1)} s)`);
    figures.record(t, 'after all client faults', 'heapUsed after GC before / after', `${baseline.heapMiB.toFixed(1)} / ${heapMiB.toFixed(1)} MiB`);
    assert.ok(fds <= baseline.fds + 2, `open fds ${fds}, baseline ${baseline.fds}`);
    // Over 10,000 requests, 6 MiB would be ~600 bytes kept per request; what remains is V8's own noise.
    assert.ok(heapMiB <= baseline.heapMiB + 6, `heap ${heapMiB.toFixed(1)} MiB, baseline ${baseline.heapMiB.toFixed(1)} MiB`);
  });
});

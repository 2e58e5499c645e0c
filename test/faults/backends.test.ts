import { after, before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest } from 'node:http';
import type { Server as HttpServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { useFixture } from '../helpers/fixture.ts';
import { scrapeMetrics } from '../helpers/metrics.ts';
import { freePort } from '../helpers/ports.ts';
import { waitFor } from '../helpers/wait.ts';
import { createFigures } from './lib/figures.ts';
import { describeTally, openFds, runPool, tally } from './lib/process.ts';
import { DOMAIN, tableOf } from '../helpers/registry.ts';

const figures = createFigures(import.meta.filename);
const UPSTREAM_TIMEOUT_MS = 1000;

/** What the client saw for one request: `status N` with a complete body, or how it broke. */
function outcome(port: number, host: string, path: string): Promise<string> {
  return new Promise((resolve) => {
    const req = httpRequest({ port, host: '127.0.0.1', path, headers: { host }, agent: false }, (res) => {
      res.on('data', () => undefined);
      res.on('error', () => resolve(`status ${res.statusCode} then aborted`));
      res.on('end', () => resolve(res.complete ? `status ${res.statusCode}` : `status ${res.statusCode} then aborted`));
    });
    req.on('error', (err: Error & { code?: string }) => resolve(`error ${err.code ?? err.message}`));
    req.end();
  });
}

/** A backend that accepts connections and never answers, counting its open sockets. */
async function startHangingBackend(): Promise<{ port: number; open: () => number; accepted: () => number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createTcpServer((s) => {
    accepted++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
    s.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    open: () => sockets.size,
    accepted: () => accepted,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A WebSocket backend that drops every connection abruptly: half with a TCP reset, half in the middle of a frame. */
async function startDroppingWsBackend(): Promise<{ port: number; close(): Promise<void> }> {
  const server: HttpServer = createServer();
  const wss = new WebSocketServer({ server });
  let n = 0;
  wss.on('connection', (ws) => {
    const mode = n++ % 2;
    ws.send('hello');
    setTimeout(() => {
      const socket = (ws as unknown as { _socket: Socket })._socket;
      if (mode === 0) socket.resetAndDestroy();
      else {
        // A text frame header announcing 256 bytes, then nothing: the frame never completes.
        socket.write(Buffer.from([0x81, 0x7e, 0x01, 0x00, 0x61, 0x62]));
        setTimeout(() => socket.destroy(), 20);
      }
    }, 50);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('backends that fail: the proxy answers with the right status, frees the upstream and stays healthy', () => {
  const f = useFixture({ backends: ['healthy'], routes: { 'healthy/web': 'healthy' }, settings: { UPSTREAM_TIMEOUT_MS: String(UPSTREAM_TIMEOUT_MS), LOG_LEVEL: 'warn' } });
  let hanging: Awaited<ReturnType<typeof startHangingBackend>>;
  let dropping: Awaited<ReturnType<typeof startDroppingWsBackend>>;
  let fdsBefore = 0;

  before(async () => {
    hanging = await startHangingBackend();
    dropping = await startDroppingWsBackend();
    await f.register('refusing', 'web', await freePort());
    await f.register('hanging', 'web', hanging.port);
    await f.register('dropping', 'web', dropping.port);
    await f.synced();
    assert.equal(tableOf(f.proxy).length, 4);
    assert.equal((await f.get(`healthy.${DOMAIN}`, '/echo')).status, 200);
    fdsBefore = openFds();
  });
  after(async () => {
    await hanging?.close();
    await dropping?.close();
    figures.finish();
  });

  /** Healthy routes still answer, concurrently with nothing else going on. */
  async function stillHealthy(): Promise<void> {
    const results = await runPool(50, 10, () => outcome(f.proxy.port, `healthy.${DOMAIN}`, '/echo'));
    assert.deepEqual(tally(results), { 'status 200': 50 });
  }

  test('a backend refusing connections: every request gets 502 upstream-unavailable', async (t: TestContext) => {
    const results = await runPool(1000, 20, () => outcome(f.proxy.port, `refusing.${DOMAIN}`, '/echo'));
    figures.record(t, 'backend refusing connections', 'requests / outcomes', `1000 / ${describeTally(tally(results))}`);
    assert.deepEqual(tally(results), { 'status 502': 1000 });
    await stillHealthy();
  });

  test('a backend resetting mid-response: the client sees the abort, never a complete response, and the proxy carries on', async (t: TestContext) => {
    const results = await runPool(300, 20, () => outcome(f.proxy.port, `healthy.${DOMAIN}`, '/reset'));
    figures.record(t, 'backend resetting mid-response', 'requests / outcomes', `300 / ${describeTally(tally(results))}`);
    assert.ok(results.every((r) => r.includes('aborted') || r.startsWith('error')), describeTally(tally(results)));
    await stillHealthy();
  });

  test('a backend that accepts and never answers: 504 after UPSTREAM_TIMEOUT_MS, and its sockets are closed', async (t: TestContext) => {
    const times: number[] = [];
    const results = await runPool(100, 50, async () => {
      const t0 = performance.now();
      const r = await outcome(f.proxy.port, `hanging.${DOMAIN}`, '/echo');
      times.push(performance.now() - t0);
      return r;
    });
    const { ms } = await waitFor('the hanging backend sockets closed', () => (hanging.open() === 0 ? true : undefined), 5000);
    times.sort((a, b) => a - b);
    figures.record(t, 'backend hanging (UPSTREAM_TIMEOUT_MS=1000)', 'requests / outcomes', `100 / ${describeTally(tally(results))}`);
    figures.record(t, 'backend hanging (UPSTREAM_TIMEOUT_MS=1000)', '504 after (min / max)', `${times[0]!.toFixed(0)} / ${times.at(-1)!.toFixed(0)} ms`);
    figures.record(t, 'backend hanging (UPSTREAM_TIMEOUT_MS=1000)', 'backend sockets accepted / open afterwards', `${hanging.accepted()} / 0 (closed ${ms.toFixed(0)} ms after the last 504)`);
    assert.deepEqual(tally(results), { 'status 504': 100 });
    assert.ok(times[0]! >= UPSTREAM_TIMEOUT_MS - 50 && times.at(-1)! < UPSTREAM_TIMEOUT_MS + 2000, `504 after ${times[0]}..${times.at(-1)} ms`);
    await stillHealthy();
  });

  test('WebSockets closed abruptly by the backend (reset, half a frame) or by the client: the other side is closed, nothing stays open', async (t: TestContext) => {
    const closes = await runPool(100, 20, () =>
      new Promise<string>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${f.proxy.port}/`, { headers: { host: `dropping.${DOMAIN}` } });
        const t0 = performance.now();
        const timer = setTimeout(() => {
          ws.terminate();
          resolve('still open after 5 s');
        }, 5000);
        ws.on('error', () => undefined);
        ws.on('close', (code) => {
          clearTimeout(timer);
          resolve(performance.now() - t0 < 5000 ? `closed ${code}` : 'closed late');
        });
      }),
    );
    figures.record(t, 'WebSocket dropped by the backend (reset or mid-frame)', 'connections / client saw', `100 / ${describeTally(tally(closes))}`);
    assert.ok(closes.every((c) => c.startsWith('closed ') && c !== 'closed late'), describeTally(tally(closes)));

    // The client vanishes: the backend must see its side closed.
    const echo = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((resolve) => echo.once('listening', resolve));
    try {
      await f.register('echo', 'web', (echo.address() as AddressInfo).port);
      await waitFor('echo routed', () => (f.proxy.registry.table.deployments.has('echo') ? true : undefined));
      echo.on('connection', (ws) => ws.send('hello'));
      await runPool(100, 20, () =>
        new Promise<void>((resolve, reject) => {
          const ws = new WebSocket(`ws://127.0.0.1:${f.proxy.port}/`, { headers: { host: `echo.${DOMAIN}` } });
          ws.on('error', reject);
          ws.once('message', () => {
            (ws as unknown as { _socket: Socket })._socket.resetAndDestroy();
            resolve();
          });
        }),
      );
      const { ms } = await waitFor('backend sides closed', () => (echo.clients.size === 0 ? true : undefined), 5000);
      figures.record(t, 'WebSocket dropped by the client (TCP reset)', 'connections / backend sides open afterwards', `100 / 0 (${ms.toFixed(0)} ms)`);
    } finally {
      for (const c of echo.clients) c.terminate();
      await new Promise((resolve) => echo.close(resolve));
    }
    const { ms } = await waitFor('no WebSocket counted open', async () => ((await scrapeMetrics(f.proxy.adminPort)).value('branch_proxy_websockets_open') === 0 ? true : undefined), 5000);
    t.diagnostic(`branch_proxy_websockets_open back to 0 after ${ms.toFixed(0)} ms`);
  });

  test('afterwards the process holds no more file descriptors than before', async (t: TestContext) => {
    // Keep-alive upstream connections to the healthy backend may stay pooled; they close after the backend's 5 s keep-alive.
    const { ms } = await waitFor('open fds back to the baseline', () => (openFds() <= fdsBefore + 2 ? true : undefined), 10_000).catch((err: Error) => {
      throw new Error(`${err.message}: ${openFds()} open, ${fdsBefore} before`);
    });
    figures.record(t, 'after all backend faults', 'open fds before / after', `${fdsBefore} / ${openFds()} (${ms.toFixed(0)} ms to settle)`);
  });
});

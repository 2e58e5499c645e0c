import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { createHttpForwarder } from '../../../src/proxy/http-forwarder.ts';
import type { HttpForwarder } from '../../../src/proxy/http-forwarder.ts';
import type { Target } from '../../../src/routing/route-table.ts';

/** A backend whose /stream never ends by itself, and a proxy in front of it that records what the forwarder reports. */
describe('http forwarder', () => {
  let backend: Server;
  let proxy: Server;
  let forwarder: HttpForwarder;
  let upstreamClosed: Promise<void>;
  const events: string[] = [];

  before(async () => {
    let closedUpstream!: () => void;
    upstreamClosed = new Promise((resolve) => (closedUpstream = resolve));
    backend = createServer((req, res) => {
      if (req.url === '/stream') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first chunk\n');
        res.on('close', () => closedUpstream());
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain', connection: 'keep-alive, x-private', 'x-private': 'hop', 'x-public': 'end' });
      res.end('hello');
    });
    backend.listen(0, '127.0.0.1');
    await once(backend, 'listening');
    const port = (backend.address() as AddressInfo).port;
    const target: Target = { host: '127.0.0.1', port, address: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${port}` };
    forwarder = createHttpForwarder({ upstreamTimeoutMs: 5000, policy: () => undefined });
    proxy = createServer((req: IncomingMessage, res: ServerResponse) => {
      forwarder.web(req, res, target, (err) => events.push(`error ${err.message}`), () => {
        events.push(`closed ${req.url} finished=${res.writableFinished} listeners=${res.listenerCount('close')}`);
      });
    });
    proxy.listen(0, '127.0.0.1');
    await once(proxy, 'listening');
  });

  after(async () => {
    proxy.closeAllConnections();
    proxy.close();
    await forwarder.close();
    backend.closeAllConnections();
    backend.close();
  });

  function get(path: string): Promise<IncomingMessage> {
    const req = request({ port: (proxy.address() as AddressInfo).port, host: '127.0.0.1', path, headers: { host: 'example' } });
    req.end();
    return once(req, 'response').then(([res]) => res as IncomingMessage);
  }

  test('relays the response without hop-by-hop headers and reports the close once, with one listener', async () => {
    events.length = 0;
    const res = await get('/plain');
    let body = '';
    for await (const chunk of res) body += String(chunk);
    assert.equal(body, 'hello');
    assert.equal(res.headers['x-public'], 'end');
    assert.equal(res.headers['x-private'], undefined, 'named in Connection');
    assert.equal(res.headers['keep-alive'], 'timeout=5', "the proxy's own keep-alive, not the backend's");
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(events, ['closed /plain finished=true listeners=1']);
  });

  test('a client that leaves mid-stream aborts the upstream request and is reported unfinished', async () => {
    events.length = 0;
    const res = await get('/stream');
    const [first] = (await once(res, 'data')) as [Buffer];
    assert.equal(String(first), 'first chunk\n');
    res.destroy();
    await upstreamClosed;
    while (events.length === 0) await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(events, ['closed /stream finished=false listeners=1']);
  });
});

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
      if (req.url === '/echo') {
        let body = '';
        req.on('data', (chunk: Buffer) => (body += String(chunk)));
        req.on('end', () => res.end(JSON.stringify({ headers: req.headers, body })));
        return;
      }
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

  test('sends the body and end-to-end request headers, with X-Forwarded-* replaced and Expect dropped', async () => {
    const req = request({
      port: (proxy.address() as AddressInfo).port,
      host: '127.0.0.1',
      path: '/echo',
      method: 'POST',
      headers: { host: 'app.example', expect: '100-continue', connection: 'keep-alive, x-drop', 'x-drop': '1', te: 'trailers', 'x-forwarded-proto': 'https', 'x-kept': 'yes', 'content-length': '4' },
    });
    req.on('continue', () => req.end('ping'));
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    let text = '';
    for await (const chunk of res) text += String(chunk);
    const seen = JSON.parse(text) as { headers: Record<string, string>; body: string };
    assert.equal(seen.body, 'ping');
    assert.equal(seen.headers['x-kept'], 'yes');
    for (const dropped of ['expect', 'x-drop', 'te']) assert.equal(seen.headers[dropped], undefined, dropped);
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen.headers['x-forwarded-proto'], 'http', 'an untrusted client cannot claim https');
    assert.equal(seen.headers['x-forwarded-host'], 'app.example');
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

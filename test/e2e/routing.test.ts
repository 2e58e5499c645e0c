import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { WebSocket } from 'ws';
import { deploymentKey, serviceKey } from '../../src/registry/keys.ts';
import { useFixture } from '../helpers/fixture.ts';
import { PREFIX as P } from '../helpers/registry.ts';
import { waitFor } from '../helpers/wait.ts';

describe('routing through a live etcd watch', () => {
  const f = useFixture({ backends: ['web', 'api'], settings: { UPSTREAM_TIMEOUT_MS: '500' } });
  const port = (backend: string) => f.backend(backend).port;

  test('a route is live after a put and gone after a delete', async (t) => {
    await f.register('feature-login', 'api', port('api'));
    const liveMs = await f.waitStatus('feature-login-api.dev.localhost', 200);
    const reply = await f.get('feature-login-api.dev.localhost', '/echo');
    assert.equal(reply.json().backend, 'api');
    await f.etcd.client.delete().key(serviceKey(P, 'feature-login', 'api', 'port'));
    const goneMs = await f.waitStatus('feature-login-api.dev.localhost', 404);
    t.diagnostic(`put -> 200 after ${liveMs.toFixed(1)} ms (poll every 5 ms); delete -> 404 after ${goneMs.toFixed(1)} ms`);
    const logged = f.proxy.logs.filter((l) => l.deployment === 'feature-login' && l.service === 'api' && String(l.event).startsWith('route-'));
    assert.deepEqual(logged.map((l) => l.event), ['route-added', 'route-removed']);
  });

  test('regression: keys written in one transaction (same revision) are all applied', async () => {
    await f.etcd.client
      .if(serviceKey(P, 'txn', 'web', 'ip'), 'Create', '==', 0)
      .then(f.etcd.client.put(serviceKey(P, 'txn', 'web', 'ip')).value('127.0.0.1'), f.etcd.client.put(serviceKey(P, 'txn', 'web', 'port')).value(String(port('web'))))
      .commit();
    await f.waitStatus('txn.dev.localhost', 200);
  });

  test('the bare deployment opens its default service, and /default overrides it', async () => {
    await f.register('main', 'web', port('web'));
    await f.register('main', 'api', port('api'));
    await f.waitStatus('main.dev.localhost', 200);
    assert.equal((await f.get('MAIN.dev.localhost.:8080', '/echo')).json().backend, 'web');
    await f.etcd.client.put(deploymentKey(P, 'main', 'default')).value('api');
    await waitFor('default switched to api', async () => ((await f.get('main.dev.localhost', '/echo')).json().backend === 'api' ? true : undefined));
  });

  test('dash split prefers the longest deployment name that has the service', async () => {
    await f.register('feature', 'login-api', port('web'));
    await f.register('feature-login', 'api', port('api'));
    await waitFor('both registered', async () => ((await f.get('feature-login-api.dev.localhost', '/echo')).json().backend === 'api' ? true : undefined));
  });

  test('partial and invalid registrations are not routed and warn once', async () => {
    await f.etcd.client.put(serviceKey(P, 'partial', 'web', 'ip')).value('127.0.0.1');
    await f.register('badport', 'web', port('web'));
    await f.waitStatus('badport.dev.localhost', 200);
    await f.etcd.client.put(serviceKey(P, 'badport', 'web', 'port')).value('http');
    await f.waitStatus('badport.dev.localhost', 404);
    await f.etcd.client.put(`${P}garbage/service/web/ip`).value(Buffer.from([0xff, 0x00, 0xfe]));
    await f.etcd.client.put(`${P}garbage/service/web/port`).value('8080');
    await f.etcd.client.put(`${P}UPPER/service/web/port`).value('1');
    const partial = await f.get('partial.dev.localhost', '/', { headers: { accept: 'application/json' } });
    assert.equal(partial.status, 404);
    assert.equal(partial.json().error, 'unknown-service');
    const warnings = await waitFor('warnings', () => {
      const w = f.proxy.logs.filter((l) => l.event === 'registry-entry-ignored').map((l) => l.key);
      return w.length >= 3 ? w : undefined;
    });
    assert.deepEqual(warnings.value, [`${P}badport/service/web/port`, `${P}garbage/service/web/ip`, `${P}UPPER/service/web/port`]);
    // Other routes are undisturbed.
    assert.equal((await f.get('main-web.dev.localhost', '/echo')).status, 200);
  });

  test('404 pages name what was asked for and list what exists, in HTML and JSON', async () => {
    const json = await f.get('nosuch-web.dev.localhost', '/', { headers: { accept: 'application/json' } });
    assert.equal(json.status, 404);
    assert.match(json.headers['content-type'] ?? '', /application\/json/);
    const body = json.json<{ error: string; message: string; links: { label: string; href: string }[] }>();
    assert.equal(body.error, 'unknown-deployment');
    assert.match(body.message, /nosuch-web/);
    assert.ok(body.links.some((l) => l.href === 'http://main.dev.localhost'), JSON.stringify(body.links));
    const html = await f.get('main-nope.dev.localhost:8080', '/', { headers: { accept: 'text/html' } });
    assert.equal(html.status, 404);
    assert.match(html.body, /Deployment &quot;main&quot; has no running service &quot;nope&quot;/);
    assert.match(html.body, /href="http:\/\/main-web\.dev\.localhost:8080"/);
  });

  test('hosts outside the base domains and a missing Host are refused, never proxied', async () => {
    const foreign = await f.get('evil.example.com', '/echo');
    assert.equal(foreign.status, 421);
    assert.match(foreign.body, /dev\.localhost/);
    const deeper = await f.get('a.main.dev.localhost', '/echo');
    assert.equal(deeper.status, 421);
    const missing = await rawRequest(f.proxy.port, 'GET /echo HTTP/1.0\r\n\r\n');
    assert.match(missing, /^HTTP\/1\.1 400 /);
  });

  // The 504 itself is error-pages.test.ts's (status and body) and the fault suite's (sockets freed).
  test('streams are not cut by UPSTREAM_TIMEOUT_MS', async () => {
    // SSE events arrive 300 ms apart and the stream lasts longer than the 500 ms header timeout.
    const events = await readSse(f.proxy.port, 'main-web.dev.localhost');
    assert.deepEqual(events.map((e) => e.data), ['0', '1', '2']);
    assert.ok(events[2]!.at - events[0]!.at >= 400, 'events arrived as they were sent, not buffered');
  });

  test('forwards Host and X-Forwarded-*, drops hop-by-hop headers, keeps upstream keep-alive', async () => {
    const reply = await f.get('main-web.dev.localhost:8080', '/echo?q=1', {
      headers: { connection: 'close, x-drop-me', 'x-drop-me': '1', 'keep-alive': '5', 'x-kept': 'yes', te: 'trailers' },
    });
    const seen = reply.json<{ url: string; headers: Record<string, string> }>();
    assert.equal(seen.url, '/echo?q=1');
    assert.equal(seen.headers.host, 'main-web.dev.localhost:8080');
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.equal(seen.headers['x-forwarded-host'], 'main-web.dev.localhost:8080');
    assert.equal(seen.headers['x-kept'], 'yes');
    for (const h of ['x-drop-me', 'keep-alive', 'te']) assert.equal(seen.headers[h], undefined, h);
    assert.notEqual(seen.headers.connection, 'close');
  });

  test('spoofed X-Forwarded-Proto/Host are replaced and X-Forwarded-For is appended to', async () => {
    const reply = await f.get('main-web.dev.localhost', '/echo', {
      headers: { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example.com' },
    });
    const seen = reply.json<{ headers: Record<string, string> }>().headers;
    assert.equal(seen['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
    assert.equal(seen['x-forwarded-proto'], 'http');
    assert.equal(seen['x-forwarded-host'], 'main-web.dev.localhost');
  });

  test('HEAD, absolute-form request targets and Expect: 100-continue uploads', async () => {
    const head = await f.get('main-web.dev.localhost', '/echo', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    const absolute = await f.get('main-web.dev.localhost', 'http://main-web.dev.localhost/echo?abs=1');
    assert.equal(absolute.json().url, '/echo?abs=1');
    const upload = await f.get('main-web.dev.localhost', '/upload', { method: 'PUT', headers: { expect: '100-continue', 'content-length': '5' }, body: 'hello' });
    assert.deepEqual(upload.json(), { bytes: 5 });
  });

  test('uploads and large bodies stream through', async () => {
    const body = Buffer.alloc(3 * 1024 * 1024, 'y');
    const up = await f.get('main-web.dev.localhost', '/upload', { method: 'POST', body });
    assert.deepEqual(up.json(), { bytes: body.length });
    const big = await f.get('main-web.dev.localhost', '/big?mb=8');
    assert.equal(big.body.length, 8 * 1024 * 1024);
  });

  test('WebSocket echo through the proxy; unknown hosts get a 404 before any upgrade', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${f.proxy.port}/socket`, { headers: { host: 'main-web.dev.localhost' } });
    const messages: string[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.on('message', (m) => {
        messages.push(m.toString());
        if (messages.length === 1) ws.send('ping');
        else resolve();
      });
      ws.on('error', reject);
    });
    ws.close();
    assert.deepEqual(messages, ['hello from web main-web.dev.localhost', 'ping']);
    const refused = new WebSocket(`ws://127.0.0.1:${f.proxy.port}/`, { headers: { host: 'nosuch.dev.localhost' } });
    const status = await new Promise<number>((resolve) => refused.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    assert.equal(status, 404);
  });

  test('a client aborting mid-response and a backend resetting mid-response leave the proxy healthy', async () => {
    await new Promise<void>((resolve) => {
      const req = httpRequest({ port: f.proxy.port, host: '127.0.0.1', path: '/big?mb=64', headers: { host: 'main-web.dev.localhost' } }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => undefined);
      req.end();
    });
    const reset = await new Promise<string>((resolve) => {
      const req = httpRequest({ port: f.proxy.port, host: '127.0.0.1', path: '/reset', headers: { host: 'main-web.dev.localhost' } }, (res) => {
        res.on('data', () => undefined);
        res.on('error', () => resolve('client saw the reset'));
        res.on('aborted', () => resolve('client saw the reset'));
        res.on('end', () => resolve('ended cleanly'));
      });
      req.on('error', () => resolve('client saw the reset'));
      req.end();
    });
    assert.equal(reset, 'client saw the reset');
    assert.equal((await f.get('main-web.dev.localhost', '/echo')).status, 200);
  });

  test('the bare domain lists deployments; readyz reports the table', async () => {
    const list = await f.get('dev.localhost', '/', { headers: { accept: 'application/json' } });
    assert.equal(list.status, 200);
    assert.ok(list.json<{ deployments: { name: string }[] }>().deployments.some((d) => d.name === 'main'));
    const ready = await fetch(`http://127.0.0.1:${f.proxy.adminPort}/readyz`);
    const body = (await ready.json()) as { ready: boolean; etcd: string; revision: number; routes: number };
    assert.equal(ready.status, 200);
    assert.equal(body.ready, true);
    assert.equal(body.etcd, 'connected');
    assert.ok(body.revision > 0 && body.routes >= 3, JSON.stringify(body));
  });
});

function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let data = '';
    socket.on('data', (d) => (data += d.toString()));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}

function readSse(port: number, host: string): Promise<{ data: string; at: number }[]> {
  return new Promise((resolve, reject) => {
    const events: { data: string; at: number }[] = [];
    const req = httpRequest({ port, host: '127.0.0.1', path: '/sse', headers: { host, accept: 'text/event-stream' } }, (res) => {
      res.on('data', (chunk: Buffer) => {
        for (const m of chunk.toString().matchAll(/data: (\S+)/g)) events.push({ data: m[1]!, at: performance.now() });
      });
      res.on('end', () => resolve(events));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

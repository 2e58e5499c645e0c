import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import type { ConnectionOptions } from 'node:tls';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { WebSocket } from 'ws';
import { mintShareToken, shareKey } from '../../src/access/share-token.ts';
import type { Backend } from '../helpers/backend.ts';
import { startBackend } from '../helpers/backend.ts';
import type { Certificates } from '../helpers/certs.ts';
import { makeCertificates } from '../helpers/certs.ts';
import { SUITE } from '../helpers/temp-dir.ts';
import type { EtcdServer } from '../helpers/etcd.ts';
import { startEtcd } from '../helpers/etcd.ts';
import type { TestProxy } from '../helpers/proxy.ts';
import { startProxy } from '../helpers/proxy.ts';
import { register } from '../helpers/registry.ts';
import type { TlsClient } from '../helpers/tls-clients.ts';
import { PROTOCOLS, tlsClient } from '../helpers/tls-clients.ts';
import { waitFor } from '../helpers/wait.ts';

const TOKEN = 'ci-token-0123456789abcdef';
const SECRET = 'share-secret-0123456789abcdef0123456789';
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
type Echo = { backend: string; url: string; headers: Record<string, string> };

/**
 * A backend answering as HTTP/1.1 servers may: with every connection-specific header
 * HTTP/2 forbids (RFC 9113 §8.2.2), which must be dropped, not fail the request.
 */
async function startChattyBackend(): Promise<Server & { port: number }> {
  const server = createServer((socket) => {
    socket.on('error', () => socket.destroy());
    socket.once('data', () => {
      socket.end(
        'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: keep-alive, X-Hop\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\n' +
          'Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\nX-Hop: 1\r\nX-Kept: yes\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(server, { port: (server.address() as { port: number }).port });
}

describe('HTTP/2 on the TLS listener', () => {
  let etcd: EtcdServer;
  let web: Backend;
  let api: Backend;
  let chatty: Server & { port: number };
  const certs: Certificates = makeCertificates(SUITE);
  let ca: Buffer;
  let dir: string;
  let proxy: TestProxy;
  let gatedProxy: TestProxy;
  let h1Only: TestProxy;

  before(async () => {
    etcd = await startEtcd();
    web = await startBackend('web');
    api = await startBackend('api');
    chatty = await startChattyBackend();
    await register(etcd.client, 'main', 'web', web.port);
    await register(etcd.client, 'main', 'api', api.port);
    await register(etcd.client, 'feature-x', 'web', web.port);
    await register(etcd.client, 'main', 'chatty', chatty.port);
    ca = readFileSync(certs.ca);
    dir = mkdtempSync(join(tmpdir(), 'branch-proxy-h2-'));
    writeFileSync(join(dir, 'htpasswd'), `alice:${bcrypt.hashSync('wonderland', 4)}\n`);
    const tls = { TLS_CERT_FILE: certs.serverCert, TLS_KEY_FILE: certs.serverKey };
    proxy = await startProxy(etcd.endpoint, tls);
    gatedProxy = await startProxy(etcd.endpoint, { ...tls, AUTH_HTPASSWD: join(dir, 'htpasswd'), AUTH_TOKEN: TOKEN, SHARE_SECRET: SECRET });
    h1Only = await startProxy(etcd.endpoint, { ...tls, HTTP2: 'false' });
    await waitFor('routes', () => ([proxy, gatedProxy, h1Only].every((p) => p.registry.table.routeCount === 4) ? true : undefined));
  });
  after(async () => {
    await Promise.all([proxy?.close(), gatedProxy?.close(), h1Only?.close()]);
    await Promise.all([web?.close(), api?.close(), new Promise((resolve) => chatty?.close(resolve))]);
    await etcd?.destroy();
    for (const d of [dir, certs?.dir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  test('ALPN offers h2 and http/1.1; HTTP2=false offers HTTP/1.1 only', async () => {
    const h2 = tlsClient('h2', proxy.port, ca);
    const h1 = tlsClient('http/1.1', proxy.port, ca);
    const h2ToH1Only = tlsClient('h2', h1Only.port, ca);
    try {
      assert.equal((await h2.request('main.dev.localhost', '/echo')).alpn, 'h2');
      assert.equal((await h1.request('main.dev.localhost', '/echo')).alpn, 'http/1.1');
      await assert.rejects(h2ToH1Only.request('main.dev.localhost', '/echo'), 'an HTTP/2-only client finds no h2 to speak');
      const offered = await new Promise<string | false>((resolve, reject) => {
        // A browser offers both; the HTTP/1.1-only listener picks http/1.1.
        import('node:tls').then(({ connect }) => {
          const socket = connect({ host: '127.0.0.1', port: h1Only.port, ca, servername: 'localhost', ALPNProtocols: ['h2', 'http/1.1'] }, () => {
            resolve(socket.alpnProtocol ?? false);
            socket.destroy();
          });
          socket.on('error', reject);
        }, reject);
      });
      assert.equal(offered, 'http/1.1');
    } finally {
      for (const c of [h2, h1, h2ToH1Only]) c.close();
    }
  });

  for (const protocol of PROTOCOLS) {
    describe(`over ${protocol}`, () => {
      let client: TlsClient;
      let gatedClient: TlsClient;
      before(() => {
        client = tlsClient(protocol, proxy.port, ca);
        gatedClient = tlsClient(protocol, gatedProxy.port, ca);
      });
      after(() => {
        client.close();
        gatedClient.close();
      });

      test('routing and the dash split; the backend sees HTTP/1.1 headers only, with X-Forwarded-Proto https', async () => {
        const reply = await client.request('main-api.dev.localhost', '/echo?x=1', { headers: { cookie: protocol === 'h2' ? ['a=1', 'b=2'] : 'a=1; b=2', 'x-custom': 'kept' } });
        assert.equal(reply.status, 200);
        const seen = reply.json<Echo>();
        assert.equal(seen.backend, 'api');
        assert.equal(seen.url, '/echo?x=1');
        assert.equal(seen.headers.host, 'main-api.dev.localhost');
        assert.equal(seen.headers['x-forwarded-proto'], 'https');
        assert.equal(seen.headers['x-forwarded-host'], 'main-api.dev.localhost');
        assert.equal(seen.headers.cookie, 'a=1; b=2', 'cookie fields joined for the HTTP/1.1 backend');
        assert.equal(seen.headers['x-custom'], 'kept');
        assert.deepEqual(Object.keys(seen.headers).filter((name) => name.startsWith(':')), [], 'no pseudo-header reaches the backend');
        assert.equal((await client.request('feature-x.dev.localhost', '/echo')).json<Echo>().backend, 'web');
        assert.equal(web.seen.at(-1)?.httpVersion, '1.1', 'backends are still spoken to over HTTP/1.1');
      });

      test('connection-specific response headers are dropped, the rest relayed', async () => {
        const reply = await client.request('main-chatty.dev.localhost', '/');
        assert.equal(reply.status, 200);
        assert.equal(reply.body, 'hello');
        assert.equal(reply.headers['x-kept'], 'yes');
        for (const name of ['keep-alive', 'proxy-connection', 'upgrade', 'http2-settings', 'x-hop']) assert.equal(reply.headers[name], undefined, name);
        if (protocol === 'h2') for (const name of ['connection', 'transfer-encoding']) assert.equal(reply.headers[name], undefined, name);
      });

      test('error pages in HTML and JSON', async () => {
        const json = await client.request('nosuch.dev.localhost', '/', { headers: { accept: 'application/json' } });
        assert.equal(json.status, 404);
        assert.equal(json.json().error, 'unknown-deployment');
        const html = await client.request('main-nosuch.dev.localhost', '/', { headers: { accept: 'text/html' } });
        assert.equal(html.status, 404);
        assert.match(html.headers['content-type'] as string, /^text\/html/);
        assert.match(html.body, /nosuch/);
        const foreign = await client.request('example.com', '/', { headers: { accept: 'application/json' } });
        assert.equal(foreign.status, 421);
      });

      test('request bodies and large responses stream through', async () => {
        const upload = await client.request('main.dev.localhost', '/upload', { method: 'POST', body: Buffer.alloc(3 * 1024 * 1024, 'y') });
        assert.deepEqual(upload.json(), { bytes: 3 * 1024 * 1024 });
        const big = await client.request('main.dev.localhost', '/big?mb=16');
        assert.equal(big.status, 200);
        assert.equal(big.body.length, 16 * 1024 * 1024);
      });

      test('backpressure: a client that stops reading holds the backend back, then gets every byte', async () => {
        const path = `/big?mb=64&who=${protocol}`;
        const { body } = await client.open('main.dev.localhost', path).response;
        body.pause();
        const upstream = (await waitFor('backend request', () => web.seen.find((r) => r.url === path))).value.socket;
        // Let the backend push what it can: socket buffers and flow-control windows, a few MiB, never the whole body.
        let written = -1;
        await waitFor('backend stalled', async () => {
          await new Promise((resolve) => setTimeout(resolve, 200));
          const now = upstream.bytesWritten;
          return now === written ? true : ((written = now), undefined);
        }, 20_000);
        assert.ok(written < 32 * 1024 * 1024, `the backend wrote ${written} bytes while the client read nothing`);
        let bytes = 0;
        for await (const chunk of body) bytes += (chunk as Buffer).length;
        assert.equal(bytes, 64 * 1024 * 1024);
      });

      test('server-sent events arrive one by one, unbuffered', async () => {
        const { status, headers, body } = await client.open('main.dev.localhost', '/sse').response;
        assert.equal(status, 200);
        assert.match(headers['content-type'] as string, /text\/event-stream/);
        const first = await new Promise<string>((resolve) => body.once('data', (c: Buffer) => resolve(c.toString())));
        assert.equal(first, 'data: 0\n\n', 'the first event arrives alone, before the stream ends');
        body.resume();
        await new Promise((resolve) => body.once('end', resolve));
      });

      test('the dashboard, its API and its live updates', async () => {
        const page = await client.request('dev.localhost', '/', { headers: { accept: 'text/html' } });
        assert.equal(page.status, 200);
        assert.match(page.body, /<html/i);
        const list = await client.request('dev.localhost', '/api/deployments');
        assert.equal(list.status, 200);
        assert.ok(JSON.stringify(list.json()).includes('feature-x'));
        const opened = client.open('dev.localhost', '/api/events', { headers: { accept: 'text/event-stream' } });
        const { status, body } = await opened.response;
        assert.equal(status, 200);
        let text = '';
        body.on('data', (c: Buffer) => (text += c.toString()));
        await waitFor('snapshot', () => (text.includes('event: snapshot') ? true : undefined));
        const name = `live-${protocol === 'h2' ? 'two' : 'one'}`;
        await register(etcd.client, name, 'web', web.port);
        await waitFor('update with the new deployment', () => (/event: update\ndata: .*live-/.test(text) && text.includes(name) ? true : undefined));
        opened.cancel();
      });

      test('the access gate: basic auth, automation header, share-link cookies', async () => {
        const denied = await gatedClient.request('main.dev.localhost', '/echo', { headers: { accept: 'application/json' } });
        assert.equal(denied.status, 401);
        assert.match(denied.headers['www-authenticate'] as string, /^Basic realm="branch-proxy"/);
        const authed = await gatedClient.request('main.dev.localhost', '/echo', { headers: { authorization: basic('alice', 'wonderland') } });
        assert.equal(authed.status, 200);
        assert.equal(authed.json<Echo>().headers.authorization, undefined, 'credentials stay with the proxy');
        assert.equal((await gatedClient.request('main.dev.localhost', '/echo', { headers: { 'x-branch-proxy-token': TOKEN } })).status, 200);
        const token = await mintShareToken(shareKey(SECRET), 'main', new Date(Date.now() + 3600_000));
        const opened = await gatedClient.request('main.dev.localhost', `/page?bp_share=${token}`);
        assert.equal(opened.status, 302);
        const setCookie = (opened.headers['set-cookie'] as string[])[0]!;
        const cookie = protocol === 'h2' ? [setCookie.split(';')[0]!, 'theirs=1'] : `${setCookie.split(';')[0]}; theirs=1`;
        const shared = await gatedClient.request('main-api.dev.localhost', '/echo', { headers: { cookie } });
        assert.equal(shared.status, 200);
        assert.equal(shared.json<Echo>().headers.cookie, 'theirs=1', 'the share cookie stays with the proxy');
        assert.equal((await gatedClient.request('dev.localhost', '/', { headers: { cookie } })).status, 401, 'not the dashboard');
      });

      test('access log lines carry the protocol; metrics count the requests', async () => {
        const path = `/echo?log=${protocol}`;
        await client.request('main.dev.localhost', path);
        const line = await waitFor('access log line', () => proxy.logs.find((l) => l.msg === 'request' && l.path === path));
        assert.equal(line.value.proto, protocol);
        assert.equal(line.value.status, 200);
        const metrics = await fetch(`http://127.0.0.1:${proxy.adminPort}/metrics`).then((r) => r.text());
        assert.match(metrics, /branch_proxy_requests_total\{[^}]*deployment="main"[^}]*\} [1-9]/);
      });

      test('a client going away mid-response aborts the upstream request without an upstream error', async () => {
        const upstreamErrors = proxy.logs.filter((l) => l.msg === 'upstream error').length;
        const opened = client.open('main.dev.localhost', `/slow?ms=5000&who=${protocol}`);
        const settled = opened.response.catch(() => undefined);
        const upstream = (await waitFor('request reached the backend', () => web.seen.find((r) => r.url === `/slow?ms=5000&who=${protocol}`))).value;
        opened.cancel();
        await waitFor('upstream request aborted', () => (upstream.socket.destroyed ? true : undefined));
        await settled;
        const line = await waitFor('aborted access log line', () => proxy.logs.find((l) => l.msg === 'request' && l.path === `/slow?ms=5000&who=${protocol}`));
        assert.equal(line.value.aborted, true);
        assert.equal(proxy.logs.filter((l) => l.msg === 'upstream error').length, upstreamErrors, 'a client leaving is not a backend failure');
        assert.equal((await client.request('main.dev.localhost', '/echo')).status, 200, 'still serving');
      });
    });
  }

  test('SECURITY: an HTTP/2 request whose :authority and Host disagree is refused with 400', async () => {
    const client = tlsClient('h2', proxy.port, ca);
    try {
      const reply = await client.request('main.dev.localhost', '/echo', { headers: { host: 'main-api.dev.localhost', accept: 'application/json' } });
      assert.equal(reply.status, 400);
      assert.equal(reply.json().error, 'authority-mismatch');
      assert.match(reply.json<{ message: string }>().message, /main\.dev\.localhost.*main-api\.dev\.localhost/);
      assert.ok(!api.seen.some((r) => r.headers.host === 'main-api.dev.localhost' && r.url === '/echo' && r.headers['x-forwarded-host'] === 'main.dev.localhost'));
      assert.equal((await client.request('main.dev.localhost', '/echo', { headers: { host: 'main.dev.localhost' } })).status, 200, 'the same host twice is fine');
    } finally {
      client.close();
    }
  });

  test('WebSockets: wss:// on the HTTP/2 listener is upgraded over HTTP/1.1, through the access gate too', async () => {
    for (const [port, headers] of [[proxy.port, {}], [gatedProxy.port, { 'x-branch-proxy-token': TOKEN }]] as const) {
      const tlsOptions: ConnectionOptions = { ca, servername: 'localhost' };
      const ws = new WebSocket(`wss://127.0.0.1:${port}/`, { ...tlsOptions, headers: { host: 'main.dev.localhost', ...headers } });
      const hello = await new Promise<string>((resolve, reject) => {
        ws.on('message', (m) => resolve(m.toString()));
        ws.on('error', reject);
      });
      assert.match(hello, /^hello from web/);
      ws.close();
    }
  });

  test('HTTP/2 sessions do not hold up shutdown', async () => {
    const extra = await startProxy(etcd.endpoint, { TLS_CERT_FILE: certs.serverCert, TLS_KEY_FILE: certs.serverKey, SHUTDOWN_GRACE_MS: '500' });
    await waitFor('routes', () => (extra.registry.table.routeCount >= 4 ? true : undefined));
    const client = tlsClient('h2', extra.port, ca);
    try {
      assert.equal((await client.request('main.dev.localhost', '/echo')).status, 200);
      const streaming = client.open('main.dev.localhost', '/slow?ms=60000&shutdown');
      streaming.response.catch(() => undefined);
      await waitFor('request reached the backend', () => web.seen.find((r) => r.url === '/slow?ms=60000&shutdown'));
      // Resolves once the open session was closed after the grace period, instead of waiting for the backend's minute.
      await extra.close();
    } finally {
      client.close();
    }
  });
});

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { WebSocketServer } from 'ws';
import type { Certificates } from '../helpers/certs.ts';
import { makeCertificates } from '../helpers/certs.ts';
import { SUITE } from '../helpers/temp-dir.ts';
import type { EtcdServer } from '../helpers/etcd.ts';
import { startEtcd } from '../helpers/etcd.ts';
import type { TestProxy } from '../helpers/proxy.ts';
import { startProxy } from '../helpers/proxy.ts';
import { register } from '../helpers/registry.ts';
import { waitFor } from '../helpers/wait.ts';

const RESULTS = join(import.meta.dirname, '..', '..', 'test-results');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--ignore-certificate-errors'];

/** What a dev server's hot-reload client does: open a WebSocket to its own host and show what arrives. */
const PAGE = `<!doctype html><meta charset="utf-8"><title>hot reload</title>
<p>Page loaded over <b id="proto">?</b></p><p id="status">connecting…</p><h1 id="message">no message yet</h1>
<script>
document.getElementById('proto').textContent = performance.getEntriesByType('navigation')[0].nextHopProtocol;
const ws = new WebSocket('wss://' + location.host + '/hmr');
ws.onopen = () => { document.getElementById('status').textContent = 'socket open'; ws.send('ping'); };
ws.onmessage = (e) => { document.getElementById('message').textContent = e.data; };
ws.onerror = () => { document.getElementById('status').textContent = 'socket failed'; };
</script>`;

/** A page plus a WebSocket endpoint that answers each message with an update. */
async function startPageBackend(): Promise<{ server: Server; port: number; update(text: string): void }> {
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE));
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => ws.on('message', () => ws.send('module app.js updated (1)')));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    update: (text) => wss.clients.forEach((c) => c.send(text)),
  };
}

describe('Chromium on the HTTP/2 listener: the page over h2, its wss:// through the proxy', () => {
  let etcd: EtcdServer;
  let backend: Awaited<ReturnType<typeof startPageBackend>>;
  const certs: Certificates = makeCertificates(SUITE);
  let proxy: TestProxy;
  let browser: Browser;

  before(async () => {
    mkdirSync(RESULTS, { recursive: true });
    etcd = await startEtcd();
    backend = await startPageBackend();
    await register(etcd.client, 'main', 'web', backend.port);
    proxy = await startProxy(etcd.endpoint, { TLS_CERT_FILE: certs.serverCert, TLS_KEY_FILE: certs.serverKey });
    await waitFor('routes', () => (proxy.registry.table.routeCount === 1 ? true : undefined));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });
  after(async () => {
    await browser?.close();
    await proxy?.close();
    backend?.server.closeAllConnections();
    await new Promise((resolve) => backend?.server.close(resolve));
    await etcd?.destroy();
    if (certs) rmSync(certs.dir, { recursive: true, force: true });
  });

  test('hot-reload style WebSocket messages show on a page loaded over HTTP/2', async () => {
    const context = await browser.newContext({ viewport: { width: 800, height: 400 }, ignoreHTTPSErrors: true });
    try {
      const page = await context.newPage();
      // Chromium resolves every *.localhost name to loopback by itself.
      await page.goto(`https://main.dev.localhost:${proxy.port}/`);
      const message = page.locator('#message');
      await message.getByText('module app.js updated (1)').waitFor({ state: 'visible', timeout: 15_000 });
      assert.equal(await page.locator('#proto').textContent(), 'h2', 'the page came over HTTP/2');
      assert.ok(await page.getByText('socket open').isVisible());
      backend.update('module app.js updated (2)');
      await message.getByText('module app.js updated (2)').waitFor({ state: 'visible', timeout: 15_000 });
      const box = await message.boundingBox();
      assert.ok(box && box.width > 0 && box.height > 0, 'the message takes space on screen');
      await page.screenshot({ path: join(RESULTS, 'http2-websocket.png') });
      const pageLine = proxy.logs.find((l) => l.msg === 'request' && l.host === `main.dev.localhost:${proxy.port}`);
      assert.equal(pageLine?.proto, 'h2', 'the access log says h2');
      assert.ok(proxy.logs.some((l) => l.msg === 'websocket opened' && l.deployment === 'main'), 'the WebSocket went through the proxy');
    } finally {
      await context.close();
    }
  });
});

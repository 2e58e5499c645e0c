import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, createServer, get as httpGet } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { WebSocket } from 'ws';
import { deploymentKey, serviceKey, sleepStateKey } from '../../src/registry/keys.ts';
import type { Backend } from '../helpers/backend.ts';
import { startBackend } from '../helpers/backend.ts';
import { CLI } from '../helpers/cli-process.ts';
import type { EtcdServer } from '../helpers/etcd.ts';
import { startEtcd } from '../helpers/etcd.ts';
import { request } from '../helpers/http.ts';
import { scrapeMetrics } from '../helpers/metrics.ts';
import { freePort } from '../helpers/ports.ts';
import type { ServeSettings, TestProxy } from '../helpers/proxy.ts';
import { startProxy } from '../helpers/proxy.ts';
import { DOMAIN } from '../helpers/registry.ts';
import { saveScreenshot } from '../helpers/screenshots.ts';
import { waitFor } from '../helpers/wait.ts';
import { isAlive } from '../helpers/process-alive.ts';

const TOKEN = 'sleep-wake-token-0123456789';
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const JSON_ACCEPT = { accept: 'application/json' };
const BROWSER = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0' };

/** A service that answers with what it got, so a held request's body can be compared. */
const ECHO_SERVICE = `import { createServer } from 'node:http';
createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ method: req.method, url: req.url, body: Buffer.concat(chunks).toString('utf8') }));
  });
}).listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;

describe('sleep and wake through the proxy (real etcd, a real backend started by WAKE_COMMAND)', () => {
  let etcd: EtcdServer;
  let dir: string;
  let prefix = '';
  let n = 0;
  let proxy: TestProxy | undefined;
  const backends: Backend[] = [];

  before(async () => {
    etcd = await startEtcd();
    dir = mkdtempSync(join(tmpdir(), 'branch-proxy-sleep-wake-'));
    writeFileSync(join(dir, 'echo.mjs'), ECHO_SERVICE);
  });
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
    await stopStarted();
  });
  after(async () => {
    await Promise.all(backends.map((b) => b.close()));
    rmSync(dir, { recursive: true, force: true });
    await etcd?.destroy();
  });

  /** Every `register` the wake commands started: SIGTERM lets it stop its service and deregister. */
  async function stopStarted(): Promise<void> {
    const pids = readLines('pids').map(Number);
    for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGTERM');
    await waitFor('registers to stop', () => (pids.some(isAlive) ? undefined : true), 10_000).catch(() => undefined);
    for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(join(dir, 'pids'), { force: true });
  }

  function readLines(file: string): string[] {
    const path = join(dir, file);
    return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter((l) => l !== '') : [];
  }

  /** Hook runs so far, one line `<hook> <deployment>` each. */
  const hookRuns = (deployment: string) => readLines('hooks').filter((l) => l.endsWith(` ${deployment}`));

  /** The wake command starts the service the way a deployment does: `register` wrapping it, in the background. */
  function wakeCommand(port: number): string {
    return (
      `echo "wake $DEPLOYMENT" >> "${dir}/hooks"; cd ${JSON.stringify(process.cwd())} && ` +
      `ETCD_ENDPOINTS=${etcd.endpoint} REGISTRY_PREFIX=${prefix} PORT=${port} ${JSON.stringify(process.execPath)} ${CLI.join(' ')} ` +
      `register --deployment "$DEPLOYMENT" --service web --ip 127.0.0.1 --port ${port} --ttl 5 -- ${JSON.stringify(process.execPath)} "${dir}/echo.mjs" ` +
      `> "${dir}/$DEPLOYMENT.log" 2>&1 & echo $! >> "${dir}/pids"`
    );
  }

  /** `settings` may be a function: the wake command names the test's prefix, set here. */
  async function start(settings: ServeSettings | ((port: number) => ServeSettings)): Promise<TestProxy> {
    prefix = `/sleep-wake-${++n}/`;
    const port = await freePort();
    const own = typeof settings === 'function' ? settings(port) : settings;
    proxy = await startProxy(etcd.endpoint, { REGISTRY_PREFIX: prefix, BASE_DOMAIN: DOMAIN, WAKE_COMMAND: wakeCommand(port), WAKE_TIMEOUT: '60s', ...own });
    await waitFor('snapshot', () => (proxy!.registry.ready ? true : undefined));
    return proxy;
  }

  /** A deployment that fell asleep with one service, `web`. */
  async function asleep(deployment: string, extra: Record<string, unknown> = {}): Promise<void> {
    await etcd.client.put(deploymentKey(prefix, deployment, 'created')).value('2026-01-30T10:00:00.000Z').exec();
    await etcd.client.put(sleepStateKey(prefix, deployment, 'sleep')).value(JSON.stringify({ state: 'asleep', since: new Date().toISOString(), services: ['web'], ...extra })).exec();
    await waitFor(`${deployment} asleep in the table`, () => (proxy!.registry.table.deployments.get(deployment)?.sleep ? true : undefined));
  }

  /** The access-log lines of requests to `deployment`: what each got and how the wake gate answered (`wake`). */
  const requestLines = (p: TestProxy, deployment: string) =>
    p.logs.filter((l) => l.msg === 'request' && l.deployment === deployment).map((l) => ({ method: l.method, path: l.path, status: l.status, wake: l.wake, service: l.service, aborted: l.aborted }));

  const record = async (deployment: string) => {
    const text = await etcd.client.get(sleepStateKey(prefix, deployment, 'sleep')).string();
    return text === null ? undefined : (JSON.parse(text) as Record<string, unknown>);
  };

  test('a held POST is forwarded with its body once the wake command has brought the service back; a browser gets the waiting page at once', async () => {
    const p = await start({});
    // Asleep for an hour: the page must count the wake from this visit, not from when it fell asleep.
    await asleep('feat-a', { since: new Date(Date.now() - 3_600_000).toISOString(), lastWake: { ms: 41000, at: '2026-01-30T10:00:00.000Z' } });
    const body = JSON.stringify({ hello: 'world', bytes: 'x'.repeat(5000) });
    const held = request(p.port, `feat-a.${DOMAIN}`, '/orders?id=7', { method: 'POST', headers: { ...JSON_ACCEPT, 'content-type': 'application/json' }, body });

    const page = await request(p.port, `feat-a.${DOMAIN}`, '/', { headers: BROWSER });
    assert.equal(page.status, 503);
    assert.equal(page.headers['cache-control'], 'no-store');
    assert.match(page.headers['retry-after'] ?? '', /^\d+$/);
    assert.match(page.headers['content-type'] ?? '', /^text\/html/);
    assert.match(page.body, /<h1>Waking up feat-a<\/h1>/);
    assert.match(page.body, /Its last wake took 41 s\./);
    const since = /data-since="([^"]+)"/.exec(page.body)?.[1];
    assert.ok(since && Date.now() - Date.parse(since) < 60_000, `waking since ${since}, not since it fell asleep`);

    const reply = await held;
    assert.equal(reply.status, 200, reply.body);
    assert.deepEqual(reply.json(), { method: 'POST', url: '/orders?id=7', body });
    assert.equal(reply.headers['x-robots-tag'], 'noindex, nofollow');
    assert.deepEqual(hookRuns('feat-a'), ['wake feat-a'], 'two requests, one wake');
    await waitFor('record removed', async () => ((await record('feat-a')) === undefined ? true : undefined));
    const lastWake = JSON.parse((await etcd.client.get(sleepStateKey(prefix, 'feat-a', 'last-wake')).string()) ?? '{}') as { ms: number };
    assert.ok(Number.isInteger(lastWake.ms) && lastWake.ms > 0, JSON.stringify(lastWake));
    const metrics = await scrapeMetrics(p.adminPort);
    assert.equal(metrics.value('branch_proxy_wakes_total', { result: 'ok' }), 1, 'the wake is counted once');
    assert.equal(metrics.value('branch_proxy_wake_duration_seconds_count', { result: 'ok' }), 1);
    assert.equal(metrics.value('branch_proxy_held_requests'), 0, 'the held request was let go');
    // The page is the gate's answer; the held POST is logged once, by the normal path, from its arrival.
    assert.deepEqual(requestLines(p, 'feat-a'), [
      { method: 'GET', path: '/', status: 503, wake: 'page', service: 'web', aborted: undefined },
      { method: 'POST', path: '/orders?id=7', status: 200, wake: 'held', service: 'web', aborted: undefined },
    ]);
    const heldLine = p.logs.find((l) => l.msg === 'request' && l.wake === 'held');
    const pageLine = p.logs.find((l) => l.msg === 'request' && l.wake === 'page');
    assert.ok(Number(heldLine?.ms) > Number(pageLine?.ms), 'the held time counts: the POST arrived before the page and was answered after it');
    assert.equal(metrics.value('branch_proxy_requests_total', { deployment: 'feat-a', service: 'web', code: '503' }), 1, 'the waiting page is counted');
    assert.equal(metrics.value('branch_proxy_requests_total', { deployment: 'feat-a', service: 'web', code: '200' }), 1, 'the held request is counted once');

    const robots = await request(p.port, `feat-a.${DOMAIN}`, '/robots.txt');
    assert.equal(robots.status, 200);
    assert.equal(robots.body, 'User-agent: *\nDisallow: /\n', 'answered by the proxy: the echo service would have echoed');
  });

  test('WAKE_HOLD expiry, an oversized body, an ignored user agent and a WebSocket', async () => {
    const p = await start({ WAKE_HOLD: '1s', WAKE_HOLD_MAX_BODY: '1KiB', WAKE_COMMAND: `echo "wake $DEPLOYMENT" >> "${dir}/hooks"` });
    await asleep('feat-b');
    await asleep('feat-c');
    await asleep('feat-d');

    // The command exits 0 but nothing comes back: the held request gets the 503 after WAKE_HOLD.
    const expired = await request(p.port, `feat-b.${DOMAIN}`, '/api', { headers: JSON_ACCEPT });
    assert.equal(expired.status, 503);
    assert.equal(expired.json().error, 'deployment-waking');
    assert.equal(expired.json().deployment, 'feat-b');
    assert.match(expired.headers['retry-after'] ?? '', /^\d+$/);
    assert.deepEqual(hookRuns('feat-b'), ['wake feat-b']);

    const big = await request(p.port, `feat-c.${DOMAIN}`, '/upload', { method: 'POST', headers: JSON_ACCEPT, body: Buffer.alloc(2048, 1) });
    assert.equal(big.status, 503);
    assert.match(String(big.json().reason), /larger than WAKE_HOLD_MAX_BODY \(1024 bytes\)/);

    for (const ua of ['Googlebot/2.1 (+http://www.google.com/bot.html)', 'Slackbot-LinkExpanding 1.0', 'UptimeRobot/2.0']) {
      const crawler = await request(p.port, `feat-d.${DOMAIN}`, '/', { headers: { ...BROWSER, 'user-agent': ua } });
      assert.equal(crawler.status, 503, ua);
    }
    assert.equal((await request(p.port, `feat-d.${DOMAIN}`, '/robots.txt')).body, 'User-agent: *\nDisallow: /\n');
    assert.deepEqual(hookRuns('feat-d'), [], 'crawlers and robots.txt wake nothing');
    assert.equal((await record('feat-d'))?.state, 'asleep');

    const ws = new WebSocket(`ws://127.0.0.1:${p.port}/`, { headers: { host: `feat-d.${DOMAIN}` } });
    const refused = await new Promise<{ status: number; retryAfter: string | undefined }>((resolve, reject) => {
      ws.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] }));
      ws.on('open', () => reject(new Error('a sleeping deployment accepted a WebSocket')));
      ws.on('error', () => undefined);
    });
    ws.terminate();
    assert.deepEqual({ status: refused.status, retryAfter: /^\d+$/.test(refused.retryAfter ?? '') }, { status: 503, retryAfter: true });
    await waitFor('the WebSocket started a wake', () => (hookRuns('feat-d').length === 1 ? true : undefined));

    // Each answer of the wake gate is one access-log line that says which it was, and one request in the metrics.
    await waitFor('every answer logged', () => (requestLines(p, 'feat-d').length === 4 ? true : undefined));
    assert.deepEqual(requestLines(p, 'feat-b'), [{ method: 'GET', path: '/api', status: 503, wake: 'timeout', service: 'web', aborted: undefined }]);
    assert.deepEqual(requestLines(p, 'feat-c'), [{ method: 'POST', path: '/upload', status: 503, wake: 'too-large', service: 'web', aborted: undefined }]);
    assert.deepEqual(
      requestLines(p, 'feat-d').map((l) => `${l.method} ${l.status} ${l.wake}`),
      ['GET 503 ignored', 'GET 503 ignored', 'GET 503 ignored', 'GET 503 websocket'],
    );
    const metrics = await scrapeMetrics(p.adminPort);
    const answered = (deployment: string) => metrics.value('branch_proxy_requests_total', { deployment, service: 'web', code: '503' });
    assert.deepEqual([answered('feat-b'), answered('feat-c'), answered('feat-d')], [1, 1, 4]);
  });

  test('with access control, only a request that passes it can start a wake', async () => {
    const p = await start({ AUTH_TOKEN: TOKEN });
    await asleep('feat-e');
    const denied = await request(p.port, `feat-e.${DOMAIN}`, '/', { headers: JSON_ACCEPT });
    assert.equal(denied.status, 403, denied.body);
    assert.deepEqual(hookRuns('feat-e'), []);
    const allowed = await request(p.port, `feat-e.${DOMAIN}`, '/', { headers: { ...JSON_ACCEPT, 'x-branch-proxy-token': TOKEN } });
    assert.equal(allowed.status, 200, allowed.body);
    assert.deepEqual(hookRuns('feat-e'), ['wake feat-e']);
  });

  test('the sleeper puts a deployment idle for SLEEP_AFTER to sleep, running SLEEP_COMMAND with the deployment in its environment', async () => {
    const backend = await startBackend('feat-f-web');
    backends.push(backend);
    const p = await start({ SLEEP_AFTER: '1s', SLEEP_COMMAND: `echo "sleep $DEPLOYMENT|$SERVICES|$BASE_DOMAIN|$BRANCH" >> "${dir}/hooks-env"; echo "sleep $DEPLOYMENT" >> "${dir}/hooks"` });
    const created = new Date().toISOString();
    await etcd.client.put(deploymentKey(prefix, 'feat-f', 'created')).value(created).exec();
    await etcd.client.put(deploymentKey(prefix, 'feat-f', 'branch')).value('feat/F').exec();
    await etcd.client.put(serviceKey(prefix, 'feat-f', 'web', 'ip')).value('127.0.0.1').exec();
    await etcd.client.put(serviceKey(prefix, 'feat-f', 'web', 'port')).value(String(backend.port)).exec();
    const asleepRecord = await waitFor('feat-f asleep', async () => ((await record('feat-f'))?.state === 'asleep' ? record('feat-f') : undefined), 20_000);
    assert.deepEqual(asleepRecord.value?.services, ['web']);
    assert.ok(Date.now() - Date.parse(created) >= 1000, 'not before SLEEP_AFTER');
    assert.deepEqual(readLines('hooks-env'), [`sleep feat-f|web|${DOMAIN}|feat/F`]);
    assert.deepEqual((await etcd.client.getAll().prefix(serviceKey(prefix, 'feat-f', 'web', 'ip').replace(/web\/ip$/, '')).keys()), [], 'its service keys are gone');
    assert.equal((await request(p.port, `feat-f.${DOMAIN}`, '/', { headers: BROWSER })).status, 503, 'still listed and opened: the waiting page');
  });

  test('an open WebSocket or a streamed response keeps its deployment awake; once it ends, the deployment falls asleep', async () => {
    const backend = await startBackend('feat-w-web');
    backends.push(backend);
    // A stream that sends its headers and one event, then stays open until the test ends it.
    const streams = new Set<ServerResponse>();
    const streaming = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: open\n\n');
      streams.add(res);
    });
    await new Promise<void>((resolve) => streaming.listen(0, '127.0.0.1', resolve));
    const p = await start({ SLEEP_AFTER: '2s', SLEEP_COMMAND: `echo "sleep $DEPLOYMENT" >> "${dir}/hooks"` });
    const client = new Agent({ keepAlive: false });
    try {
      const routed = async (deployment: string, port: number) => {
        await etcd.client.put(deploymentKey(prefix, deployment, 'created')).value(new Date().toISOString()).exec();
        await etcd.client.put(serviceKey(prefix, deployment, 'web', 'ip')).value('127.0.0.1').exec();
        await etcd.client.put(serviceKey(prefix, deployment, 'web', 'port')).value(String(port)).exec();
        await waitFor(`${deployment} routed`, () => (p.registry.table.deployments.get(deployment)?.services.get('web')?.target ? true : undefined));
      };
      await routed('feat-w', backend.port);
      await routed('feat-s', (streaming.address() as AddressInfo).port);
      const ws = new WebSocket(`ws://127.0.0.1:${p.port}/`, { headers: { host: `feat-w.${DOMAIN}` } });
      await new Promise((resolve, reject) => ws.once('message', resolve).once('error', reject));
      const stream = await new Promise<IncomingMessage>((resolve, reject) => {
        httpGet({ port: p.port, host: '127.0.0.1', path: '/events', headers: { host: `feat-s.${DOMAIN}`, accept: 'text/event-stream' }, agent: client }, resolve).on('error', reject);
      });
      assert.equal(stream.statusCode, 200);
      const firstEvent = await new Promise<string>((resolve) => stream.once('data', (c: Buffer) => resolve(c.toString())));
      assert.equal(firstEvent, 'data: open\n\n');
      const opened = Date.now();
      try {
        // Three times SLEEP_AFTER with nothing but the open WebSocket and the open stream.
        await new Promise((r) => setTimeout(r, 6000));
        assert.equal(await record('feat-w'), undefined, 'not put to sleep under an open WebSocket');
        assert.equal(await record('feat-s'), undefined, 'not put to sleep under an open streamed response');
        assert.deepEqual(readLines('hooks').filter((l) => l === 'sleep feat-w' || l === 'sleep feat-s'), []);
      } finally {
        ws.close();
        for (const res of streams) res.end();
      }
      await waitFor('both asleep once they ended', async () => ((await record('feat-w'))?.state === 'asleep' && (await record('feat-s'))?.state === 'asleep' ? true : undefined), 20_000);
      assert.ok(Date.now() - opened >= 6000);
    } finally {
      client.destroy();
      for (const res of streams) res.destroy();
      streaming.closeAllConnections();
      await new Promise((resolve) => streaming.close(resolve));
    }
  });

  test('requests from an ignored user agent are served but do not keep a deployment awake; a person\'s requests do', async () => {
    const backend = await startBackend('feat-q-web');
    backends.push(backend);
    const p = await start({ SLEEP_AFTER: '2s', SLEEP_COMMAND: `echo "sleep $DEPLOYMENT" >> "${dir}/hooks"` });
    for (const deployment of ['feat-q', 'feat-r']) {
      await etcd.client.put(deploymentKey(prefix, deployment, 'created')).value(new Date().toISOString()).exec();
      await etcd.client.put(serviceKey(prefix, deployment, 'web', 'ip')).value('127.0.0.1').exec();
      await etcd.client.put(serviceKey(prefix, deployment, 'web', 'port')).value(String(backend.port)).exec();
      await waitFor(`${deployment} routed`, () => (p.registry.table.deployments.get(deployment)?.services.get('web')?.target ? true : undefined));
    }
    // An uptime check on feat-q and a person on feat-r, both every 250 ms, for three times SLEEP_AFTER.
    const statuses = { 'feat-q': new Set<number>(), 'feat-r': new Set<number>() };
    const until = Date.now() + 6000;
    while (Date.now() < until) {
      statuses['feat-q'].add((await request(p.port, `feat-q.${DOMAIN}`, '/health', { headers: { 'user-agent': 'UptimeRobot/2.0' } })).status);
      statuses['feat-r'].add((await request(p.port, `feat-r.${DOMAIN}`, '/', { headers: BROWSER })).status);
      await new Promise((r) => setTimeout(r, 250));
    }
    // Served while awake, then the sleeping deployment's 503 (an ignored agent does not wake it).
    assert.deepEqual([...statuses['feat-q']], [200, 503]);
    assert.equal((await record('feat-q'))?.state, 'asleep', 'feat-q fell asleep under its uptime check');
    assert.deepEqual([...statuses['feat-r']], [200]);
    assert.equal(await record('feat-r'), undefined, 'feat-r, visited by a person, stays awake');
    assert.deepEqual(readLines('hooks').filter((l) => l === 'sleep feat-q' || l === 'sleep feat-r'), ['sleep feat-q']);
  });

  test('in a browser, the waiting page switches to the application by itself; a failed wake says so and offers a retry', async () => {
    const other = await freePort();
    const p = await start((port) => ({
      WAKE_COMMAND:
        `if [ -e "${dir}/fail" ]; then echo "wake failed $DEPLOYMENT" >> "${dir}/hooks"; exit 3; fi; ` +
        // Each deployment's service on its own port.
        `if [ "$DEPLOYMENT" = feat-g ]; then ${wakeCommand(port)}; else ${wakeCommand(other)}; fi`,
    }));
    await asleep('feat-g');
    await asleep('feat-h');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage({ viewport: { width: 1024, height: 700 } });
      await page.goto(`http://feat-g.${DOMAIN}:${p.port}/hello`);
      assert.equal(await page.getByRole('heading', { name: 'Waking up feat-g' }).isVisible(), true);
      assert.equal(await page.getByText('This is its first wake.').isVisible(), true);
      await saveScreenshot(page, 'waiting page waking');
      // The echo service's JSON replaces the page without anyone reloading it.
      await page.getByText('"url":"/hello"').waitFor({ state: 'visible', timeout: 30_000 });
      await saveScreenshot(page, 'waiting page switched to the application');

      writeFileSync(join(dir, 'fail'), '');
      await page.goto(`http://feat-h.${DOMAIN}:${p.port}/`);
      const retry = page.getByRole('button', { name: 'Retry' });
      await retry.waitFor({ state: 'visible', timeout: 30_000 });
      assert.equal(await page.getByText('The wake failed.').isVisible(), true);
      assert.equal(await page.getByText(/It did not come back: .+/).isVisible(), true);
      await saveScreenshot(page, 'waiting page wake failed');
      assert.deepEqual(hookRuns('feat-h'), ['wake failed feat-h']);
      // A reload shows the failure again without running the failing hook again; Retry does.
      await page.reload();
      await retry.waitFor({ state: 'visible' });
      assert.deepEqual(hookRuns('feat-h'), ['wake failed feat-h']);
      rmSync(join(dir, 'fail'));
      await retry.click();
      await page.getByText('"url":"/"').waitFor({ state: 'visible', timeout: 30_000 });
      assert.deepEqual(hookRuns('feat-h'), ['wake failed feat-h', 'wake feat-h']);
    } finally {
      await browser.close();
    }
  });
});

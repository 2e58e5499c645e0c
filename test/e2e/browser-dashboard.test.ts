import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { deploymentKey, serviceKey } from '../../src/registry/keys.ts';
import type { Backend } from '../helpers/backend.ts';
import { startBackend } from '../helpers/backend.ts';
import type { EtcdServer } from '../helpers/etcd.ts';
import { startEtcd } from '../helpers/etcd.ts';
import type { TestProxy } from '../helpers/proxy.ts';
import { startProxy } from '../helpers/proxy.ts';

const P = '/deployment/';
/** Screenshots land here (gitignored) so a broken layout can be looked at. */
const RESULTS = join(import.meta.dirname, '..', '..', 'test-results');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

async function register(etcd: EtcdServer, name: string, o: { branch?: string; createdAgoMs: number; services: Record<string, number> }): Promise<void> {
  for (const [service, port] of Object.entries(o.services)) {
    await etcd.client.put(serviceKey(P, name, service, 'ip')).value('127.0.0.1');
    await etcd.client.put(serviceKey(P, name, service, 'port')).value(String(port));
  }
  if (o.branch) await etcd.client.put(deploymentKey(P, name, 'branch')).value(o.branch);
  await etcd.client.put(deploymentKey(P, name, 'created')).value(new Date(Date.now() - o.createdAgoMs).toISOString());
}

/** Names of the cards the visitor can see, top to bottom. */
function visibleCards(page: Page): Promise<string[]> {
  return page.$$eval('li[data-deployment]', (els) => els.filter((e) => !(e as HTMLElement).hidden).map((e) => e.getAttribute('data-deployment') ?? ''));
}

describe('dashboard in a real browser (headless Chromium)', () => {
  let etcd: EtcdServer;
  let web: Backend;
  let api: Backend;
  let proxy: TestProxy;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  let dashboard: string;

  before(async () => {
    mkdirSync(RESULTS, { recursive: true });
    etcd = await startEtcd();
    web = await startBackend('web');
    api = await startBackend('api');
    await register(etcd, 'main', { branch: 'main', createdAgoMs: 26 * 3_600_000, services: { web: web.port, api: api.port } });
    await register(etcd, 'feature-login-form', { branch: 'feature/login-form', createdAgoMs: 12 * 60_000, services: { web: web.port, worker: 1 } });
    await register(etcd, 'bugfix-typo', { branch: 'bugfix/TYPO-123', createdAgoMs: 3 * 86_400_000, services: { web: web.port } });
    proxy = await startProxy(etcd.endpoint, { LOG_LEVEL: 'warn' });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error') pageErrors.push(msg.text());
    });
    // Chromium resolves every *.localhost name to loopback by itself.
    dashboard = `http://dev.localhost:${proxy.port}/`;
  });
  after(async () => {
    await browser?.close();
    await proxy?.close();
    await web?.close();
    await api?.close();
    await etcd?.destroy();
  });

  test('lists every deployment, newest first, with branch, service links and reachability', async () => {
    await page.goto(dashboard);
    await page.waitForSelector('li[data-deployment="bugfix-typo"]');
    assert.deepEqual(await visibleCards(page), ['feature-login-form', 'main', 'bugfix-typo']);
    const main = page.locator('li[data-deployment="main"]');
    assert.equal(await main.locator('.branch').count(), 0, 'a branch equal to the name is not repeated');
    assert.match((await page.locator('li[data-deployment="bugfix-typo"] .branch').textContent()) ?? '', /bugfix\/TYPO-123/);
    const links = await main.locator('.service a.url').evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).href));
    assert.deepEqual(links, [`http://main.dev.localhost:${proxy.port}/`, `http://main-api.dev.localhost:${proxy.port}/`], 'default service first, as <deployment>.<domain>');
    // The worker on port 1 refuses connections; the web backends accept them.
    await page.waitForSelector('li[data-deployment="feature-login-form"] [data-service="worker"][data-reachable="false"]');
    await page.waitForSelector('li[data-deployment="feature-login-form"] [data-service="web"][data-reachable="true"]');
    assert.match((await main.locator('.age').textContent()) ?? '', /day|hour/);
    assert.match((await main.locator('.meta').textContent()) ?? '', /Never visited/);
    await page.screenshot({ path: join(RESULTS, 'dashboard.png'), fullPage: true });
  });

  test('the filter box narrows the list as one types part of a branch name', async () => {
    await page.fill('#filter', 'login');
    assert.deepEqual(await visibleCards(page), ['feature-login-form']);
    assert.equal(await page.locator('#count').textContent(), '1 of 3');
    await page.fill('#filter', 'TYPO');
    assert.deepEqual(await visibleCards(page), ['bugfix-typo'], 'case-insensitive, matches the raw branch');
    await page.fill('#filter', 'nothing-like-this');
    assert.deepEqual(await visibleCards(page), []);
    assert.match((await page.locator('#empty').textContent()) ?? '', /Nothing matches/);
    await page.fill('#filter', '');
    assert.equal((await visibleCards(page)).length, 3);
  });

  test('a deployment registered in etcd appears without a reload, and one removed disappears', async (t) => {
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    const start = performance.now();
    await register(etcd, 'feature-search', { branch: 'feature/search', createdAgoMs: 0, services: { web: web.port } });
    await page.waitForSelector('li[data-deployment="feature-search"]', { timeout: 10_000 });
    t.diagnostic(`new deployment visible in the browser ${(performance.now() - start).toFixed(0)} ms after its registration began`);
    assert.equal((await visibleCards(page))[0], 'feature-search', 'newest first');
    assert.equal(await page.evaluate(() => (window as unknown as { marker?: number }).marker), 42, 'same page: no reload');
    await page.screenshot({ path: join(RESULTS, 'dashboard-live-update.png'), fullPage: true });

    await etcd.client.delete().prefix(`${P}bugfix-typo/`);
    await page.waitForSelector('li[data-deployment="bugfix-typo"]', { state: 'detached', timeout: 10_000 });
  });

  test('clicking a service link lands on that backend through the proxy', async () => {
    await page.click('li[data-deployment="main"] [data-service="api"] a.url');
    await page.waitForURL(`http://main-api.dev.localhost:${proxy.port}/`);
    const body = JSON.parse((await page.locator('body').textContent()) ?? '{}') as { backend?: string; headers?: Record<string, string> };
    assert.equal(body.backend, 'api');
    assert.equal(body.headers?.host, `main-api.dev.localhost:${proxy.port}`);
    await page.goBack();
    await page.waitForSelector('li[data-deployment="main"]');
    // The visit is now on the dashboard (this proxy's own memory; etcd gets it within ACTIVITY_WRITE_MS).
    await page.waitForFunction(() => /Last visited/.test(document.querySelector('li[data-deployment="main"] .meta')?.textContent ?? ''), undefined, { timeout: 10_000 }).catch(() => undefined);
  });

  test('is readable on a phone', async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    try {
      await phone.goto(dashboard);
      await phone.waitForSelector('li[data-deployment="main"]');
      const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.equal(overflow, 0, 'no horizontal scrolling');
      const cardWidth = await phone.locator('li[data-deployment="main"]').evaluate((e) => e.getBoundingClientRect().width);
      assert.ok(cardWidth > 300, `cards use the screen width (${cardWidth}px)`);
      await phone.screenshot({ path: join(RESULTS, 'dashboard-phone.png'), fullPage: true });
      await phone.emulateMedia({ colorScheme: 'dark' });
      await phone.screenshot({ path: join(RESULTS, 'dashboard-phone-dark.png') });
    } finally {
      await phone.close();
    }
  });

  test('no script errors or policy violations in the dashboard console', () => {
    assert.deepEqual(pageErrors, []);
  });

  test('an unknown deployment shows a helpful 404 page in the browser', async () => {
    const res = await page.goto(`http://feature-logn-form.dev.localhost:${proxy.port}/`);
    assert.equal(res?.status(), 404);
    const suggestion = page.locator('ul.links a').first();
    assert.equal(await suggestion.getAttribute('href'), `http://feature-login-form.dev.localhost:${proxy.port}`);
    await page.screenshot({ path: join(RESULTS, 'error-404.png'), fullPage: true });
    await page.goto(`http://main-nosuch.dev.localhost:${proxy.port}/`);
    assert.deepEqual(await page.locator('ul.links a').evaluateAll((as) => as.map((a) => a.textContent)), ['main-web', 'main-api'], 'the fallback default service (web) first');
    await page.screenshot({ path: join(RESULTS, 'error-404-service.png'), fullPage: true });
    await page.goto(`http://feature-login-form-worker.dev.localhost:${proxy.port}/`);
    assert.match((await page.locator('h1').textContent()) ?? '', /502/);
    await page.screenshot({ path: join(RESULTS, 'error-502.png'), fullPage: true });
    await page.goto(`http://feature-logn-form.dev.localhost:${proxy.port}/`);
    await page.click('p.all a');
    await page.waitForSelector('li[data-deployment="main"]');
  });
});

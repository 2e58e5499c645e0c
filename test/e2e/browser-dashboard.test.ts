import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { deploymentKey, serviceKey, sleepStateKey } from '../../src/registry/keys.ts';
import type { Backend } from '../helpers/backend.ts';
import { startBackend } from '../helpers/backend.ts';
import type { EtcdServer } from '../helpers/etcd.ts';
import { startEtcd } from '../helpers/etcd.ts';
import type { TestProxy } from '../helpers/proxy.ts';
import { startProxy } from '../helpers/proxy.ts';
import { saveScreenshot } from '../helpers/screenshots.ts';
import { waitFor } from '../helpers/wait.ts';

const P = '/deployment/';
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

/**
 * Names of the cards a visitor can see, in reading order. Visible as Playwright
 * judges it (laid out with a size, not hidden by CSS), never the `hidden`
 * property: a stylesheet can keep an element with `hidden` on screen.
 */
async function visibleCards(page: Page): Promise<string[]> {
  const names: string[] = [];
  for (const card of await page.locator('li[data-deployment]').all()) {
    if (await card.isVisible()) names.push((await card.getAttribute('data-deployment')) ?? '');
  }
  return names;
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
  // One screenshot per test, of the page as the test left it (also when it failed).
  afterEach(async (t) => {
    if (page && !page.isClosed()) await saveScreenshot(page, `dashboard ${t.name}`);
  });

  test('lists every deployment, newest first, with branch, service links and reachability', async () => {
    await page.goto(dashboard);
    await page.waitForSelector('li[data-deployment="bugfix-typo"]');
    assert.deepEqual(await visibleCards(page), ['feature-login-form', 'main', 'bugfix-typo']);
    assert.equal(await page.locator('#count').innerText(), '3');
    assert.equal(await page.locator('#notice').isVisible(), false, 'no registry warning while etcd is connected');
    assert.equal(await page.locator('#empty').isVisible(), false, 'no empty-state box above a full list');
    const main = page.locator('li[data-deployment="main"]');
    assert.equal(await main.locator('.branch').count(), 0, 'a branch equal to the name is not repeated');
    const branch = page.locator('li[data-deployment="bugfix-typo"] .branch');
    assert.ok(await branch.isVisible());
    assert.match(await branch.innerText(), /bugfix\/TYPO-123/);
    const links = main.locator('.service a.url');
    assert.deepEqual(await links.allInnerTexts(), [`main.dev.localhost:${proxy.port}`, `main-api.dev.localhost:${proxy.port}`], 'default service first, as <deployment>.<domain>');
    assert.deepEqual(
      await links.evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).href)),
      [`http://main.dev.localhost:${proxy.port}/`, `http://main-api.dev.localhost:${proxy.port}/`],
      'each link leads where its text says',
    );
    // The worker on port 1 refuses connections; the web backends accept them.
    const login = page.locator('li[data-deployment="feature-login-form"]');
    await login.locator('[data-service="worker"] .detail', { hasText: 'not accepting connections' }).waitFor({ state: 'visible' });
    await login.locator('[data-service="web"] .detail', { hasText: /· accepting connections/ }).waitFor({ state: 'visible' });
    assert.match(await main.locator('.age').innerText(), /day|hour/);
    assert.match(await main.locator('.meta').last().innerText(), /Never visited/);
  });

  test('the times a card shows keep their words when they refresh every 30 s', async () => {
    // Regression: the refresh rewrote every <time>, and the card's "Created" date became "undefined13 minutes ago".
    const clocked = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    try {
      await clocked.clock.install();
      await clocked.goto(dashboard);
      const meta = clocked.locator('li[data-deployment="main"] .meta').last();
      await meta.waitFor({ state: 'visible' });
      const before = await meta.innerText();
      await clocked.clock.fastForward(31_000);
      await saveScreenshot(clocked, 'dashboard times refreshed');
      const after = await meta.innerText();
      assert.doesNotMatch(after, /undefined/);
      assert.equal(after, before, 'the absolute "Created" date and "Never visited" stay as they were');
    } finally {
      await clocked.close();
    }
  });

  test('opening the dashboard with ?q= shows only the matching deployments on screen', async () => {
    // Regression: the cards got the `hidden` attribute, and `.card { display: flex }` kept them on screen.
    await page.goto(`${dashboard}?q=login`);
    await page.locator('#count', { hasText: '1 of 3' }).waitFor({ state: 'visible' });
    assert.equal(await page.locator('#filter').inputValue(), 'login');
    assert.deepEqual(await visibleCards(page), ['feature-login-form']);
    assert.equal(await page.locator('li[data-deployment="main"]').boundingBox(), null, 'main takes no space on screen');
    assert.doesNotMatch(await page.locator('#deployments').innerText(), /bugfix/, 'no text of a filtered-out card is on screen');
  });

  test('the filter box narrows the list as one types part of a branch name', async () => {
    await page.goto(dashboard);
    await page.waitForSelector('li[data-deployment="bugfix-typo"]');
    await page.fill('#filter', 'login');
    assert.deepEqual(await visibleCards(page), ['feature-login-form']);
    assert.equal(await page.locator('#count').innerText(), '1 of 3');
    await saveScreenshot(page, 'dashboard filter login');
    await page.fill('#filter', 'TYPO');
    assert.deepEqual(await visibleCards(page), ['bugfix-typo'], 'case-insensitive, matches the raw branch');
    await page.fill('#filter', 'nothing-like-this');
    assert.deepEqual(await visibleCards(page), []);
    assert.ok(await page.locator('#empty').isVisible());
    assert.match(await page.locator('#empty').innerText(), /Nothing matches/);
    await page.fill('#filter', '');
    assert.equal((await visibleCards(page)).length, 3);
    assert.equal(await page.locator('#empty').isVisible(), false);
  });

  test('a deployment registered in etcd appears without a reload, and one removed disappears', async (t) => {
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    const start = performance.now();
    await register(etcd, 'feature-search', { branch: 'feature/search', createdAgoMs: 0, services: { web: web.port } });
    await page.waitForSelector('li[data-deployment="feature-search"]', { timeout: 10_000 });
    t.diagnostic(`new deployment visible in the browser ${(performance.now() - start).toFixed(0)} ms after its registration began`);
    assert.equal((await visibleCards(page))[0], 'feature-search', 'newest first');
    assert.equal(await page.evaluate(() => (window as unknown as { marker?: number }).marker), 42, 'same page: no reload');
    await saveScreenshot(page, 'dashboard live update');

    await etcd.client.delete().prefix(`${P}bugfix-typo/`);
    await page.waitForSelector('li[data-deployment="bugfix-typo"]', { state: 'detached', timeout: 10_000 });
    assert.equal((await visibleCards(page)).includes('bugfix-typo'), false);
  });

  test('clicking a service link lands on that backend through the proxy', async () => {
    await page.click('li[data-deployment="main"] [data-service="api"] a.url');
    await page.waitForURL(`http://main-api.dev.localhost:${proxy.port}/`);
    const body = JSON.parse(await page.locator('body').innerText()) as { backend?: string; headers?: Record<string, string> };
    assert.equal(body.backend, 'api');
    assert.equal(body.headers?.host, `main-api.dev.localhost:${proxy.port}`);
    await page.goBack();
    await page.reload();
    // The visit shows on main's card: at once from this proxy's memory, or as a live update once it reaches etcd.
    await page.locator('li[data-deployment="main"] .meta', { hasText: 'Last visited' }).waitFor({ state: 'visible', timeout: 15_000 });
  });

  test('is readable on a phone', async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    try {
      await phone.goto(dashboard);
      await phone.waitForSelector('li[data-deployment="main"]');
      const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.equal(overflow, 0, 'no horizontal scrolling');
      const box = await phone.locator('li[data-deployment="main"]').boundingBox();
      assert.ok(box && box.width > 300, `cards use the screen width (${box?.width}px)`);
      await saveScreenshot(phone, 'dashboard phone');
      await phone.emulateMedia({ colorScheme: 'dark' });
      await saveScreenshot(phone, 'dashboard phone dark');
    } finally {
      await phone.close();
    }
  });

  test('no script errors or policy violations in the dashboard console', () => {
    assert.deepEqual(pageErrors, []);
  });

  test('a deployment whose services all stopped shows as stopped, with when, on its card, in the API and on its 404 page', async () => {
    await register(etcd, 'feature-gone', { branch: 'feature/gone', createdAgoMs: 60_000, services: { web: web.port } });
    const card = page.locator('li[data-deployment="feature-gone"]');
    await card.locator('.service', { hasText: 'accepting connections' }).waitFor({ state: 'visible', timeout: 10_000 });
    // What `register` does as it stops: revoking its lease deletes ip and port; created and branch stay.
    await etcd.client.delete().prefix(`${P}feature-gone/service/`);
    const state = card.locator('.stopped-state');
    await state.waitFor({ state: 'visible', timeout: 10_000 });
    assert.equal(await state.innerText(), 'Stopped just now · none of its services is running');
    assert.match(await card.locator('.stopped-hint').innerText(), /branch-proxy deregister --deployment feature-gone/);
    assert.doesNotMatch(await card.innerText(), /No services registered yet/, 'not mistaken for one waiting for its first service');
    await saveScreenshot(page, 'dashboard stopped deployment');

    const api = (await (await fetch(`http://127.0.0.1:${proxy.adminPort}/api/deployments/feature-gone`)).json()) as { stopped: boolean; stoppedAt: string | null; services: unknown[] };
    assert.equal(api.stopped, true);
    assert.ok(api.stoppedAt !== null && Date.now() - Date.parse(api.stoppedAt) < 60_000, `stoppedAt ${api.stoppedAt}`);
    assert.deepEqual(api.services, []);

    const res = await page.goto(`http://feature-gone.dev.localhost:${proxy.port}/`);
    assert.equal(res?.status(), 404);
    assert.match(await page.locator('main > p').first().innerText(), /^feature-gone is registered, but none of its services is running \(stopped \d+s ago\)\. Deploy the branch again/);
    assert.doesNotMatch(await page.locator('main').innerText(), /listed below/);
    await saveScreenshot(page, 'error 404 stopped deployment');

    // A proxy that starts after the stop cannot know when: stopped, without a time.
    const later = await startProxy(etcd.endpoint, { LOG_LEVEL: 'warn' });
    try {
      const { value: view } = await waitFor('the second proxy to load the registry', async () => {
        const reply = await fetch(`http://127.0.0.1:${later.adminPort}/api/deployments/feature-gone`);
        return reply.ok ? ((await reply.json()) as { stopped: boolean; stoppedAt: string | null }) : undefined;
      }, 10_000);
      assert.deepEqual([view.stopped, view.stoppedAt], [true, null]);
      await page.goto(`http://dev.localhost:${later.port}/?q=stopped`);
      const laterState = page.locator('li[data-deployment="feature-gone"] .stopped-state');
      await laterState.waitFor({ state: 'visible' });
      assert.equal(await laterState.innerText(), 'Stopped · none of its services is running');
      assert.deepEqual(await visibleCards(page), ['feature-gone'], 'the filter finds stopped deployments by the word');
      await saveScreenshot(page, 'dashboard stopped before the proxy started');
    } finally {
      await page.goto(dashboard);
      await later.close();
    }
    await etcd.client.delete().prefix(`${P}feature-gone/`);
    await page.waitForSelector('li[data-deployment="feature-gone"]', { state: 'detached', timeout: 10_000 });
  });

  test('a deployment with a sleep record shows "asleep since 3 h" and its service links, then "waking up…", then awake', async () => {
    await page.goto(dashboard);
    const since = new Date(Date.now() - 3 * 3_600_000 - 60_000).toISOString();
    // What the sleeper leaves in etcd: the deployment keys and the record, no service keys.
    await etcd.client.put(deploymentKey(P, 'feature-nap', 'branch')).value('feature/nap');
    await etcd.client.put(deploymentKey(P, 'feature-nap', 'created')).value(new Date(Date.now() - 86_400_000).toISOString());
    await etcd.client.put(sleepStateKey(P, 'feature-nap', 'last-wake')).value(JSON.stringify({ ms: 4200, at: new Date(Date.now() - 86_400_000).toISOString() }));
    await etcd.client.put(sleepStateKey(P, 'feature-nap', 'sleep')).value(JSON.stringify({ state: 'asleep', since, services: ['web', 'api'], defaultService: 'web' }));

    const card = page.locator('li[data-deployment="feature-nap"]');
    const badge = card.locator('.sleep-badge');
    await badge.waitFor({ state: 'visible', timeout: 10_000 });
    assert.equal(await badge.innerText(), 'asleep since 3 h');
    const badgeBox = await badge.boundingBox();
    const cardBox = await card.boundingBox();
    assert.ok(badgeBox && cardBox && badgeBox.width > 0 && badgeBox.x + badgeBox.width <= cardBox.x + cardBox.width, 'the badge is on the card');
    for (const [service, host] of [['web', `feature-nap.dev.localhost:${proxy.port}`], ['api', `feature-nap-api.dev.localhost:${proxy.port}`]] as const) {
      const link = card.locator(`[data-service="${service}"] a.url`);
      assert.ok(await link.isVisible(), `${service} link on screen`);
      assert.equal(await link.innerText(), host);
      assert.equal(new URL((await link.getAttribute('href')) ?? '').host, host);
      assert.match(await card.locator(`[data-service="${service}"] .detail`).innerText(), /asleep · opening it wakes the deployment/);
    }
    assert.doesNotMatch(await card.innerText(), /Stopped|No services registered yet/, 'not mistaken for a stopped deployment');
    assert.match(await card.locator('.meta').innerText(), /Last wake took 4\.2 s/);
    await saveScreenshot(page, 'dashboard asleep deployment');

    // The badge's time keeps up, and the periodic refresh leaves absolute times alone (it once wrote "Created undefined3 hours ago").
    const later = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    try {
      await later.clock.install();
      await later.goto(dashboard);
      const laterCard = later.locator('li[data-deployment="feature-nap"]');
      await laterCard.locator('.sleep-badge').waitFor({ state: 'visible', timeout: 10_000 });
      await later.clock.runFor(2 * 3_600_000);
      assert.equal(await laterCard.locator('.sleep-badge').innerText(), 'asleep since 5 h');
      assert.match(await laterCard.locator('.meta').innerText(), /^Created \w{3} \d+, \d{4}, \d+:\d{2}\s?[AP]M\s+Never visited/);
      await saveScreenshot(later, 'dashboard asleep two hours later');
    } finally {
      await later.close();
    }

    const view = (await (await fetch(`http://127.0.0.1:${proxy.adminPort}/api/deployments/feature-nap`)).json()) as Record<string, unknown>;
    assert.deepEqual([view.state, view.stateSince, view.stopped], ['asleep', since, false]);

    await etcd.client.put(sleepStateKey(P, 'feature-nap', 'sleep')).value(JSON.stringify({ state: 'waking', since: new Date().toISOString(), services: ['web', 'api'], defaultService: 'web' }));
    await card.locator('.sleep-badge', { hasText: 'waking up…' }).waitFor({ state: 'visible', timeout: 10_000 });
    await saveScreenshot(page, 'dashboard waking deployment');

    await register(etcd, 'feature-nap', { branch: 'feature/nap', createdAgoMs: 86_400_000, services: { web: web.port, api: api.port } });
    await etcd.client.delete().key(sleepStateKey(P, 'feature-nap', 'sleep'));
    await badge.waitFor({ state: 'detached', timeout: 10_000 });
    await card.locator('[data-service="api"]', { hasText: 'accepting connections' }).waitFor({ state: 'visible', timeout: 10_000 });
    await etcd.client.delete().prefix(`${P}feature-nap/`);
    await card.waitFor({ state: 'detached', timeout: 10_000 });
  });

  test('an unknown deployment shows a helpful 404 page in the browser', async () => {
    const res = await page.goto(`http://feature-logn-form.dev.localhost:${proxy.port}/`);
    assert.equal(res?.status(), 404);
    const suggestion = page.locator('ul.links a').first();
    assert.ok(await suggestion.isVisible());
    assert.equal(await suggestion.innerText(), 'feature-login-form');
    assert.equal(await suggestion.getAttribute('href'), `http://feature-login-form.dev.localhost:${proxy.port}`);
    await saveScreenshot(page, 'error 404');
    await page.goto(`http://main-nosuch.dev.localhost:${proxy.port}/`);
    assert.deepEqual(await page.locator('ul.links a').allInnerTexts(), ['main-web', 'main-api'], 'the fallback default service (web) first');
    await saveScreenshot(page, 'error 404 service');
    await page.goto(`http://feature-login-form-worker.dev.localhost:${proxy.port}/`);
    assert.ok(await page.locator('h1').isVisible());
    assert.match(await page.locator('h1').innerText(), /502/);
    await saveScreenshot(page, 'error 502');
    await page.goto(`http://feature-logn-form.dev.localhost:${proxy.port}/`);
    await page.click('p.all a');
    await page.waitForSelector('li[data-deployment="main"]');
  });
});

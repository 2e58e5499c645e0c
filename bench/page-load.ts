/**
 * Page-load time of a dev server through the TLS proxy, HTTP/2 against HTTP/1.1 only
 * (docs/benchmarks.md, issue #15). A Vite dev server serves an app of unbundled ES modules,
 * each delayed ~20 ms as a real dev server transforms it; headless Chromium with a fresh
 * profile per load opens it through branch-proxy with HTTP2=true and HTTP2=false, and from
 * Vite directly over HTTP/2 (its own `server.https`). Loads are interleaved; the figure is
 * the time to the page's `load` event. Hot reload is then checked through the proxy in both modes.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Plugin, ViteDevServer } from 'vite';
import type { EtcdServer } from '../test/helpers/etcd.ts';
import { makeCertificates } from '../test/helpers/certs.ts';
import { freePort } from '../test/helpers/ports.ts';
import { register } from '../test/helpers/registry.ts';
import { startBranchProxy } from './lib/targets.ts';
import type { Running } from './lib/targets.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--ignore-certificate-errors'];

export interface PageLoadOptions {
  readonly modules: number;
  readonly loads: number;
  readonly delayMs: number;
}

export interface PageLoadRow {
  readonly mode: 'proxy h2' | 'proxy http/1.1' | 'vite direct h2';
  readonly protocol: string;
  readonly loads: number[];
  readonly medianMs: number;
  readonly p90Ms: number;
}

export interface PageLoadResult {
  readonly modules: number;
  readonly delayMs: number;
  readonly rows: PageLoadRow[];
  /** proxy http/1.1 median ÷ proxy h2 median (target ≥ 1.8). */
  readonly h2Speedup: number;
  /** proxy h2 median ÷ vite direct h2 median (target ≤ 1.3). */
  readonly proxyOverDirect: number;
  readonly hotReload: Record<string, boolean>;
}

/**
 * The app: main.js imports `groups` feature modules, each importing its share of leaf
 * modules, so the browser discovers them in two waves as it would a real app's imports.
 */
function writeApp(root: string, modules: number): void {
  const src = join(root, 'src');
  mkdirSync(src, { recursive: true });
  const groups = Math.max(1, Math.round(Math.sqrt(modules)));
  const leaves = modules - groups - 2; // main.js and label.js count too
  const perGroup = Math.ceil(leaves / groups);
  let leaf = 0;
  for (let g = 0; g < groups; g++) {
    const mine: number[] = [];
    for (let i = 0; i < perGroup && leaf < leaves; i++) mine.push(leaf++);
    for (const l of mine) writeFileSync(join(src, `leaf${l}.js`), `export const value = ${l};\n`);
    writeFileSync(join(src, `group${g}.js`), `${mine.map((l) => `import { value as v${l} } from './leaf${l}.js';`).join('\n')}\nexport const count = ${mine.length + 1};\nexport const sum = ${mine.map((l) => `v${l}`).join(' + ') || 0};\n`);
  }
  writeFileSync(join(src, 'label.js'), `export const label = 'version 1';\n`);
  writeFileSync(
    join(src, 'main.js'),
    `import { label } from './label.js';\n${Array.from({ length: groups }, (_, g) => `import * as g${g} from './group${g}.js';`).join('\n')}\n` +
      `const count = 2 + ${Array.from({ length: groups }, (_, g) => `g${g}.count`).join(' + ')};\n` +
      `document.getElementById('status').textContent = 'loaded ' + count + ' modules';\ndocument.getElementById('label').textContent = label;\n`,
  );
  writeFileSync(join(root, 'index.html'), `<!doctype html><meta charset="utf-8"><title>page-load bench</title><p id="status">loading</p><p id="label"></p><script type="module" src="/src/main.js"></script>\n`);
}

/** Models a dev server's per-module transform time. */
function delayModules(ms: number): Plugin {
  return {
    name: 'bench-delay-modules',
    configureServer(server) {
      server.middlewares.use((req, _res, next) => {
        if (req.url?.startsWith('/src/')) setTimeout(next, ms);
        else next();
      });
    },
  };
}

async function startVite(root: string, delayMs: number, https?: { key: Buffer; cert: Buffer }): Promise<ViteDevServer> {
  const { createServer } = await import('vite');
  const server = await createServer({
    root,
    configFile: false,
    logLevel: 'silent',
    plugins: [delayModules(delayMs)],
    // Vite refuses unknown Host headers (DNS rebinding protection); the proxy passes *.dev.localhost.
    server: { host: '127.0.0.1', port: await freePort(), strictPort: true, allowedHosts: ['.dev.localhost', 'localhost'], ...(https ? { https } : {}) },
  });
  await server.listen();
  return server;
}

/** One load with a fresh profile: ms from navigation start to the `load` event, and the protocol used. */
async function loadOnce(url: string, expectModules: number): Promise<{ ms: number; protocol: string }> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    await page.goto(url, { waitUntil: 'load', timeout: 120_000 });
    await page.getByText(`loaded ${expectModules} modules`).waitFor({ state: 'visible', timeout: 30_000 });
    return await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      return { ms: nav.loadEventStart - nav.startTime, protocol: nav.nextHopProtocol };
    });
  } finally {
    await browser.close();
  }
}

/** Edits label.js and waits for the open page to show it: Vite's HMR WebSocket goes through the proxy. */
async function hotReloads(url: string, root: string, version: number): Promise<boolean> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    await page.goto(url, { waitUntil: 'load', timeout: 120_000 });
    await page.getByText('version 1').waitFor({ state: 'visible', timeout: 30_000 });
    // Let Vite's client open its WebSocket before the edit.
    await page.waitForTimeout(1000);
    const file = join(root, 'src', 'label.js');
    writeFileSync(file, `export const label = 'version ${version}';\n`);
    try {
      await page.getByText(`version ${version}`).waitFor({ state: 'visible', timeout: 30_000 });
      return true;
    } catch {
      return false;
    } finally {
      writeFileSync(file, readFileSync(file, 'utf8').replace(`version ${version}`, 'version 1'));
      await page.waitForTimeout(500);
    }
  } finally {
    await browser.close();
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export async function pageLoad(etcd: EtcdServer, o: PageLoadOptions, log: (line: string) => void): Promise<PageLoadResult> {
  const root = mkdtempSync(join(tmpdir(), 'branch-proxy-pageload-'));
  const cleanups: (() => void | Promise<void>)[] = [];
  const certs = makeCertificates({ after: (fn) => void cleanups.push(fn) });
  const stops: (() => Promise<void>)[] = [];
  try {
    writeApp(root, o.modules);
    const tls = { key: readFileSync(certs.serverKey), cert: readFileSync(certs.serverCert) };
    const vite = await startVite(root, o.delayMs);
    stops.push(() => vite.close());
    const viteH2 = await startVite(root, o.delayMs, tls);
    stops.push(() => viteH2.close());
    await register(etcd.client, 'app', 'web', (vite.httpServer!.address() as { port: number }).port);
    const env = { TLS_CERT_FILE: certs.serverCert, TLS_KEY_FILE: certs.serverKey, LOG_LEVEL: 'warn' };
    const proxies: Record<'h2' | 'http/1.1', Running> = {
      h2: await startBranchProxy(etcd.endpoint, { name: 'pageload-h2', env: { ...env, HTTP2: 'true' } }),
      'http/1.1': await startBranchProxy(etcd.endpoint, { name: 'pageload-h1', env: { ...env, HTTP2: 'false' } }),
    };
    for (const p of Object.values(proxies)) stops.push(() => p.stop());
    const urls: Record<PageLoadRow['mode'], string> = {
      'proxy h2': `https://app.dev.localhost:${proxies.h2.port}/`,
      'proxy http/1.1': `https://app.dev.localhost:${proxies['http/1.1'].port}/`,
      'vite direct h2': `https://localhost:${(viteH2.httpServer!.address() as { port: number }).port}/`,
    };
    // One warm-up each: Vite's first request for a module transforms it; later ones hit its cache.
    for (const url of Object.values(urls)) await loadOnce(url, o.modules);
    const samples: Record<string, { ms: number[]; protocol: string }> = {};
    for (let i = 0; i < o.loads; i++) {
      for (const [mode, url] of Object.entries(urls)) {
        const { ms, protocol } = await loadOnce(url, o.modules);
        (samples[mode] ??= { ms: [], protocol }).ms.push(Math.round(ms));
        log(`load ${i + 1}/${o.loads} ${mode}: ${ms.toFixed(0)} ms (${protocol})`);
      }
    }
    const rows = Object.entries(samples).map(([mode, s]) => {
      const sorted = [...s.ms].sort((a, b) => a - b);
      return { mode: mode as PageLoadRow['mode'], protocol: s.protocol, loads: s.ms, medianMs: percentile(sorted, 50), p90Ms: percentile(sorted, 90) };
    });
    const median = (mode: PageLoadRow['mode']) => rows.find((r) => r.mode === mode)!.medianMs;
    const hotReload: Record<string, boolean> = {};
    let version = 2;
    for (const mode of ['proxy h2', 'proxy http/1.1'] as const) {
      hotReload[mode] = await hotReloads(urls[mode], root, version++);
      log(`hot reload through ${mode}: ${hotReload[mode] ? 'page updated' : 'NOT updated'}`);
    }
    return {
      modules: o.modules,
      delayMs: o.delayMs,
      rows,
      h2Speedup: Math.round((median('proxy http/1.1') / median('proxy h2')) * 100) / 100,
      proxyOverDirect: Math.round((median('proxy h2') / median('vite direct h2')) * 100) / 100,
      hotReload,
    };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
    for (const cleanup of cleanups) await cleanup();
  }
}

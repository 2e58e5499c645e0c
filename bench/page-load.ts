/**
 * Page-load time of a dev server through the TLS proxy, HTTP/2 against HTTP/1.1 only
 * (docs/benchmarks.md, issue #15). A Vite dev server serves an app of unbundled ES modules,
 * each delayed ~20 ms as a real dev server transforms it; headless Chromium with a fresh
 * profile per load opens it through branch-proxy with HTTP2=true and HTTP2=false, and from
 * Vite directly over HTTP/2 (its own `server.https`). Loads are interleaved; the figure is
 * the time to the page's `load` event. Hot reload is then checked through the proxy in both modes.
 * `--compare name=checkout` adds the proxy rows of another build to the same interleaved run (an A/B),
 * and each proxy row says how much CPU the proxy spent per load.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createSecureServer } from 'node:http2';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { chromium } from 'playwright-core';
import type { Plugin, ViteDevServer } from 'vite';
import type { EtcdServer } from '../test/helpers/etcd.ts';
import { makeCertificates } from '../test/helpers/certs.ts';
import { freePort } from '../test/helpers/ports.ts';
import { register } from '../test/helpers/registry.ts';
import { cpuSeconds } from './lib/proc.ts';
import { percentile } from './lib/stats.ts';
import { startBranchProxy } from './lib/targets.ts';
import type { CompareBuild, Running } from './lib/targets.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--ignore-certificate-errors'];

export interface PageLoadOptions {
  readonly modules: number;
  readonly loads: number;
  readonly delayMs: number;
  /** Other builds whose proxy rows join the interleaved run, named `<name>: <mode>`. */
  readonly compare?: CompareBuild[];
}

export interface PageLoadRow {
  readonly mode: Mode | `${string}: ${ProxyMode}`;
  readonly protocol: string;
  readonly loads: number[];
  readonly medianMs: number;
  readonly p90Ms: number;
  /** Proxy rows: the proxy's CPU time (user + system) per load, median. */
  readonly proxyCpuMs?: number;
}

type ProxyMode = 'proxy h2' | 'proxy http/1.1' | 'plain server: proxy h2' | 'plain server: proxy http/1.1';

type Mode =
  | ProxyMode
  | 'vite direct h2'
  | 'vite direct http/1.1'
  | 'plain server: direct h2'
  | 'plain server: direct http/1.1';

export interface PageLoadResult {
  readonly modules: number;
  readonly delayMs: number;
  readonly rows: PageLoadRow[];
  /** proxy http/1.1 median ÷ proxy h2 median (target ≥ 1.8). */
  readonly h2Speedup: number;
  /** proxy h2 median ÷ vite direct h2 median (target ≤ 1.3). */
  readonly proxyOverDirect: number;
  /** vite direct http/1.1 median ÷ vite direct h2 median: what this workload gains from HTTP/2 without a proxy. */
  readonly viteDirectSpeedup: number;
  /** The same app from a plain Node module server (no transform work, the issue's reference): proxy http/1.1 ÷ proxy h2. */
  readonly plainSpeedup: number;
  /** The plain server opened directly: http/1.1 ÷ h2, the issue's reference measurement on this machine. */
  readonly plainDirectSpeedup: number;
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

const CONTENT_TYPES: Record<string, string> = { '.js': 'text/javascript', '.html': 'text/html; charset=utf-8' };

/**
 * The issue's reference workload: a Node server that only reads the app's files and waits
 * `delayMs` per module, with no transform work of its own. HTTP/2 with HTTP/1.1 allowed
 * when given a certificate (to be opened directly), plain HTTP/1.1 otherwise (behind the proxy).
 */
async function startPlainModuleServer(root: string, delayMs: number, https?: { key: Buffer; cert: Buffer }): Promise<{ port: number; close: () => Promise<void> }> {
  const handler = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0]!;
    const file = join(root, path === '/' ? 'index.html' : normalize(path).replace(/^(\.\.[/\\])+/, ''));
    const send = (): void => {
      let body: Buffer;
      try {
        body = readFileSync(file);
      } catch {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' }).end(body);
    };
    if (path.startsWith('/src/')) setTimeout(send, delayMs);
    else send();
  };
  const server = https ? createSecureServer({ ...https, allowHTTP1: true }, handler) : createHttpServer(handler as (req: IncomingMessage, res: ServerResponse) => void);
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
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
async function loadOnce(url: string, expectModules: number, extraArgs: string[] = []): Promise<{ ms: number; protocol: string }> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...extraArgs] });
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

/** a ÷ b to two decimals, as the report prints it. */
function ratio(a: number, b: number): number {
  return Math.round((a / b) * 100) / 100;
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
    const plain = await startPlainModuleServer(root, o.delayMs);
    stops.push(plain.close);
    const plainH2 = await startPlainModuleServer(root, o.delayMs, tls);
    stops.push(plainH2.close);
    await register(etcd.client, 'app', 'web', (vite.httpServer!.address() as { port: number }).port);
    await register(etcd.client, 'plain', 'web', plain.port);
    const env = { TLS_CERT_FILE: certs.serverCert, TLS_KEY_FILE: certs.serverKey, LOG_LEVEL: 'warn' };
    const proxies: Record<'h2' | 'http/1.1', Running> = {
      h2: await startBranchProxy(etcd.endpoint, { name: 'pageload-h2', env: { ...env, HTTP2: 'true' } }),
      'http/1.1': await startBranchProxy(etcd.endpoint, { name: 'pageload-h1', env: { ...env, HTTP2: 'false' } }),
    };
    for (const p of Object.values(proxies)) stops.push(() => p.stop());
    /** The proxy behind each proxy row, whose CPU time is read around each load. */
    const proxyOf = new Map<string, Running>();
    const urls: Record<string, string> = {
      'proxy h2': `https://app.dev.localhost:${proxies.h2.port}/`,
      'proxy http/1.1': `https://app.dev.localhost:${proxies['http/1.1'].port}/`,
      'vite direct h2': `https://localhost:${(viteH2.httpServer!.address() as { port: number }).port}/`,
      'vite direct http/1.1': `https://localhost:${(viteH2.httpServer!.address() as { port: number }).port}/`,
      'plain server: proxy h2': `https://plain.dev.localhost:${proxies.h2.port}/`,
      'plain server: proxy http/1.1': `https://plain.dev.localhost:${proxies['http/1.1'].port}/`,
      'plain server: direct h2': `https://localhost:${plainH2.port}/`,
      'plain server: direct http/1.1': `https://localhost:${plainH2.port}/`,
    };
    const proxyRows = (prefix: string, pair: Record<'h2' | 'http/1.1', Running>): void => {
      for (const protocol of ['h2', 'http/1.1'] as const) {
        for (const [app, label] of [['app', ''], ['plain', 'plain server: ']] as const) {
          const mode = `${prefix}${label}proxy ${protocol}`;
          urls[mode] = `https://${app}.dev.localhost:${pair[protocol].port}/`;
          proxyOf.set(mode, pair[protocol]);
        }
      }
    };
    proxyRows('', proxies);
    for (const build of o.compare ?? []) {
      const pair: Record<'h2' | 'http/1.1', Running> = {
        h2: await startBranchProxy(etcd.endpoint, { checkout: build.checkout, node: build.node, name: `pageload-${build.name}-h2`, env: { ...env, HTTP2: 'true' } }),
        'http/1.1': await startBranchProxy(etcd.endpoint, { checkout: build.checkout, node: build.node, name: `pageload-${build.name}-h1`, env: { ...env, HTTP2: 'false' } }),
      };
      for (const p of Object.values(pair)) stops.push(() => p.stop());
      proxyRows(`${build.name}: `, pair);
    }
    // The same Vite server with the browser refusing HTTP/2: what the workload itself gains from HTTP/2.
    const argsFor = (mode: string): string[] => (mode.endsWith('direct http/1.1') ? ['--disable-http2'] : []);
    // One warm-up each: Vite's first request for a module transforms it; later ones hit its cache.
    for (const [mode, url] of Object.entries(urls)) await loadOnce(url, o.modules, argsFor(mode));
    const samples: Record<string, { ms: number[]; cpuMs: number[]; protocol: string }> = {};
    for (let i = 0; i < o.loads; i++) {
      for (const [mode, url] of Object.entries(urls)) {
        const proxy = proxyOf.get(mode);
        const cpuBefore = proxy ? cpuSeconds(proxy.pid) : 0;
        const { ms, protocol } = await loadOnce(url, o.modules, argsFor(mode));
        const cpuMs = proxy ? Math.round((cpuSeconds(proxy.pid) - cpuBefore) * 1000) : undefined;
        const sample = (samples[mode] ??= { ms: [], cpuMs: [], protocol });
        sample.ms.push(Math.round(ms));
        if (cpuMs !== undefined) sample.cpuMs.push(cpuMs);
        log(`load ${i + 1}/${o.loads} ${mode}: ${ms.toFixed(0)} ms (${protocol})${cpuMs !== undefined ? `, proxy CPU ${cpuMs} ms` : ''}`);
      }
    }
    const rows = Object.entries(samples).map(([mode, s]) => ({
      mode: mode as PageLoadRow['mode'], protocol: s.protocol, loads: s.ms, medianMs: percentile(s.ms, 50), p90Ms: percentile(s.ms, 90),
      ...(s.cpuMs.length ? { proxyCpuMs: percentile(s.cpuMs, 50) } : {}),
    }));
    const median = (mode: Mode) => rows.find((r) => r.mode === mode)!.medianMs;
    const hotReload: Record<string, boolean> = {};
    let version = 2;
    for (const mode of ['proxy h2', 'proxy http/1.1'] as const) {
      hotReload[mode] = await hotReloads(urls[mode]!, root, version++);
      log(`hot reload through ${mode}: ${hotReload[mode] ? 'page updated' : 'NOT updated'}`);
    }
    return {
      modules: o.modules,
      delayMs: o.delayMs,
      rows,
      h2Speedup: ratio(median('proxy http/1.1'), median('proxy h2')),
      proxyOverDirect: ratio(median('proxy h2'), median('vite direct h2')),
      viteDirectSpeedup: ratio(median('vite direct http/1.1'), median('vite direct h2')),
      plainSpeedup: ratio(median('plain server: proxy http/1.1'), median('plain server: proxy h2')),
      plainDirectSpeedup: ratio(median('plain server: direct http/1.1'), median('plain server: direct h2')),
      hotReload,
    };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
    for (const cleanup of cleanups) await cleanup();
  }
}

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../test/helpers/ports.ts';
import { waitFor } from '../../test/helpers/wait.ts';

/** Something that listens: a backend or a proxy, with the process tree to measure. */
export interface Running {
  readonly name: string;
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

const dir = mkdtempSync(join(tmpdir(), 'branch-proxy-bench-'));

/** Removes the working directory with every log and configuration in it, once the processes are stopped. */
export function removeBenchDir(): void {
  rmSync(dir, { recursive: true, force: true });
}

/** A file in the bench's working directory (configuration, pid and log files of the processes it starts). */
export function benchPath(file: string): string {
  return join(dir, file);
}

/** Where a started branch-proxy writes its JSON log. */
export function logPath(name: string): string {
  return join(dir, `${name.replace(/[^a-z0-9-]+/gi, '_')}.log`);
}

/** A started peer process as the scenarios use it: its port, and a stop that escalates to SIGKILL. */
export function track(name: string, port: number, child: ChildProcess): Running {
  return {
    name,
    port,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}

/** Resolves once something answers HTTP on the port (any status). */
export async function listening(port: number, what: string): Promise<void> {
  await waitFor(`${what} on port ${port}`, async () => {
    try {
      await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(500) });
      return true;
    } catch {
      return undefined;
    }
  }, 20_000);
}

function nginx(name: string, port: number, http: string, workers: string): Promise<Running> {
  const conf = join(dir, `${name}.conf`);
  writeFileSync(
    conf,
    `worker_processes ${workers};\npid ${join(dir, `${name}.pid`)};\nerror_log ${join(dir, `${name}.error.log`)} warn;\n` +
      `events { worker_connections 8192; }\nhttp {\n  keepalive_requests 1000000;\n${http}\n}\n`,
  );
  const child = spawn('nginx', ['-c', conf, '-p', dir, '-g', 'daemon off;'], { stdio: 'ignore' });
  return listening(port, name).then(() => track(name, port, child));
}

/** nginx serving a fixed body: the fastest backend there is, so the proxy's own cost shows. */
export async function startStaticBackend(): Promise<Running> {
  const port = await freePort();
  return nginx('static-backend', port, `  access_log off;\n  server { listen 127.0.0.1:${port}; location / { return 200 "hello from nginx\\n"; } }`, '1');
}

/** A plain Node.js HTTP server: the typical devtest service. */
export async function startNodeBackend(): Promise<Running> {
  const port = await freePort();
  const child = spawn(process.execPath, [fileURLToPath(new URL('../backend.mjs', import.meta.url))], { env: { ...process.env, PORT: String(port) }, stdio: 'ignore' });
  await listening(port, 'node backend');
  return track('node-backend', port, child);
}

/** nginx as the reverse proxy this project replaces: keep-alive upstreams, access log on. */
export async function startNginxProxy(routes: Record<string, number>): Promise<Running> {
  const port = await freePort();
  const servers = Object.entries(routes)
    .map(
      ([host, backendPort], i) =>
        `  upstream u${i} { server 127.0.0.1:${backendPort}; keepalive 256; }\n` +
        `  server { listen 127.0.0.1:${port}; server_name ${host};\n` +
        `    location / { proxy_pass http://u${i}; proxy_http_version 1.1; proxy_set_header Connection $connection_upgrade; proxy_set_header Upgrade $http_upgrade; proxy_set_header Host $host;\n` +
        `      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; proxy_set_header X-Forwarded-Proto $scheme; proxy_set_header X-Forwarded-Host $host; } }`,
    )
    .join('\n');
  // Keep-alive upstreams want an empty Connection header; WebSocket upgrades want "upgrade".
  const upgradeMap = '  map $http_upgrade $connection_upgrade { default upgrade; "" ""; }';
  // Like the proxy under test: any body size, streamed rather than buffered to disk first.
  const bodies = '  client_max_body_size 0;\n  proxy_request_buffering off;';
  return nginx('nginx-proxy', port, `  access_log ${join(dir, 'nginx-access.log')};\n${bodies}\n${upgradeMap}\n${servers}`, 'auto');
}

/** configurable-http-proxy (JupyterHub's Node proxy) with host-based routes. */
export async function startChp(routes: Record<string, number>): Promise<Running> {
  const [port, apiPort] = [await freePort(), await freePort()];
  const bin = fileURLToPath(new URL('../../node_modules/configurable-http-proxy/bin/configurable-http-proxy', import.meta.url));
  const child = spawn(process.execPath, [bin, '--ip', '127.0.0.1', '--port', String(port), '--api-ip', '127.0.0.1', '--api-port', String(apiPort), '--host-routing', '--log-level', 'warn'], {
    env: { ...process.env, CONFIGPROXY_AUTH_TOKEN: 'bench' },
    stdio: 'ignore',
  });
  await listening(apiPort, 'configurable-http-proxy api');
  for (const [host, backendPort] of Object.entries(routes)) {
    const res = await fetch(`http://127.0.0.1:${apiPort}/api/routes/${host}`, {
      method: 'POST',
      headers: { authorization: 'token bench' },
      body: JSON.stringify({ target: `http://127.0.0.1:${backendPort}` }),
    });
    if (!res.ok) throw new Error(`configurable-http-proxy refused route ${host}: ${res.status}`);
  }
  return track('configurable-http-proxy', port, child);
}

/** Another branch-proxy to measure beside this one: a build of another checkout (`--compare`), or this build on another Node.js (`--node`). */
export interface CompareBuild {
  readonly name: string;
  readonly checkout?: string;
  /** The `node` binary to run it with (default: the one running the bench). */
  readonly node?: string;
}

/** What `startBranchProxy` runs: which build, on which Node.js, with which settings. */
export interface BranchProxyOptions {
  readonly checkout?: string;
  readonly node?: string;
  /** WORKERS: a number, or 'default' to leave it unset so that the proxy picks its own default. */
  readonly workers?: number | 'default';
  readonly name?: string;
  readonly env?: Record<string, string>;
  /** Options for node itself, e.g. --cpu-prof (cluster workers inherit them). */
  readonly nodeArgs?: readonly string[];
}

/**
 * branch-proxy from a built checkout (default: this one), logging every request to a file like nginx.
 * One process unless `workers` says otherwise, so scenarios measure the same thing on any machine.
 */
export async function startBranchProxy(etcdEndpoint: string, options: BranchProxyOptions = {}): Promise<Running & { adminPort: number }> {
  const [port, adminPort] = [await freePort(), await freePort()];
  const checkout = options.checkout ?? fileURLToPath(new URL('../../', import.meta.url));
  const name = options.name ?? 'branch-proxy';
  const log = openSync(logPath(name), 'w');
  const env: Record<string, string | undefined> = { ...process.env, ETCD_ENDPOINTS: etcdEndpoint, PORT: String(port), ADMIN_PORT: String(adminPort), HOST: '127.0.0.1', LOG_LEVEL: 'info' };
  // 'default': not even inherited from the shell that runs the bench, so that the default is what is measured.
  if (options.workers === 'default') delete env.WORKERS;
  else env.WORKERS = String(options.workers ?? 1);
  Object.assign(env, options.env);
  const child = spawn(options.node ?? process.execPath, [...(options.nodeArgs ?? []), join(checkout, 'dist/cli/main.js'), 'serve'], { env, stdio: ['ignore', log, log] });
  await waitFor(`${name} ready`, async () => {
    try {
      return (await fetch(`http://127.0.0.1:${adminPort}/readyz`)).ok ? true : undefined;
    } catch {
      return undefined;
    }
  }, 30_000);
  return { ...track(name, port, child), adminPort };
}

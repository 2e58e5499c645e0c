/**
 * HTTP/2 termination cost (docs/benchmarks.md): h2load against branch-proxy, nginx and
 * Caddy, each ending TLS and HTTP/2 in front of the same HTTP/1.1 keep-alive backend,
 * every one logging each request to a file, in interleaved rounds. Reports requests per
 * second and the proxy's CPU time per request (user + system, its whole process tree).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EtcdServer } from '../test/helpers/etcd.ts';
import { makeCertificates } from '../test/helpers/certs.ts';
import { freePort } from '../test/helpers/ports.ts';
import { register } from '../test/helpers/registry.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { cpuSeconds } from './lib/proc.ts';
import { requireTools } from './lib/tools.ts';
import { startBranchProxy, startStaticBackend, track } from './lib/targets.ts';
import type { Running } from './lib/targets.ts';

export interface H2loadOptions {
  readonly rounds: number;
  readonly seconds: number;
  /** h2load -c: client connections; -m: concurrent streams on each. */
  readonly connections?: number;
  readonly streams?: number;
}

export interface H2loadRow {
  readonly proxy: string;
  readonly rps: number;
  readonly cpuUsPerRequest: number;
  readonly failed: number;
}

const TOOLS = { h2load: 'nghttp2-client', nginx: 'nginx', caddy: 'caddy' } as const;

async function tlsListening(port: number, what: string): Promise<void> {
  await waitFor(`${what} on port ${port}`, () => (spawnSync('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`]).status === 0 ? true : undefined), 20_000);
}

/** nginx 1.22 (Debian 12) spells HTTP/2 on the listen line; access log on, like the others. */
async function startNginxH2(dir: string, backendPort: number, cert: string, key: string): Promise<Running> {
  const port = await freePort();
  const conf = join(dir, 'nginx-h2.conf');
  writeFileSync(
    conf,
    `worker_processes 1;\npid ${join(dir, 'nginx-h2.pid')};\nerror_log ${join(dir, 'nginx-h2.error.log')} warn;\nevents { worker_connections 8192; }\n` +
      `http {\n  access_log ${join(dir, 'nginx-h2.access.log')};\n  keepalive_requests 1000000;\n  http2_max_concurrent_streams 128;\n` +
      `  upstream backend { server 127.0.0.1:${backendPort}; keepalive 256; }\n` +
      `  server { listen 127.0.0.1:${port} ssl http2; ssl_certificate ${cert}; ssl_certificate_key ${key};\n` +
      `    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host $host;\n` +
      `      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; proxy_set_header X-Forwarded-Proto $scheme; } }\n}\n`,
  );
  const child = spawn('nginx', ['-c', conf, '-p', dir, '-g', 'daemon off;'], { stdio: 'ignore' });
  await tlsListening(port, 'nginx');
  return track('nginx', port, child);
}

async function startCaddyH2(dir: string, backendPort: number, cert: string, key: string): Promise<Running> {
  const port = await freePort();
  const conf = join(dir, 'Caddyfile');
  writeFileSync(
    conf,
    `{\n  admin off\n  auto_https off\n}\n:${port} {\n  bind 127.0.0.1\n  tls ${cert} ${key}\n  log {\n    output file ${join(dir, 'caddy-access.log')}\n  }\n  reverse_proxy 127.0.0.1:${backendPort}\n}\n`,
  );
  const child = spawn('caddy', ['run', '--config', conf, '--adapter', 'caddyfile'], { stdio: 'ignore', env: { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir } });
  await tlsListening(port, 'caddy');
  return track('caddy', port, child);
}

/** One h2load run; returns requests per second and the counts it printed. */
function runH2load(port: number, o: Required<H2loadOptions>): { rps: number; succeeded: number; failed: number } {
  const out = execFileSync(
    'h2load',
    ['-D', String(o.seconds), '-c', String(o.connections), '-m', String(o.streams), '-t', '1', '-H', ':authority: app.dev.localhost', `https://127.0.0.1:${port}/`],
    { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024, timeout: (o.seconds + 60) * 1000 },
  );
  const rps = Number(/finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(out)?.[1]);
  const counts = /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed/.exec(out);
  if (!counts || Number.isNaN(rps)) throw new Error(`h2load printed nothing to read:\n${out}`);
  return { rps, succeeded: Number(counts[1]), failed: Number(counts[2]) };
}

export async function h2load(etcd: EtcdServer, options: H2loadOptions, log: (line: string) => void): Promise<H2loadRow[]> {
  requireTools('h2load', TOOLS);
  const o: Required<H2loadOptions> = { connections: 32, streams: 10, ...options };
  const dir = mkdtempSync(join(tmpdir(), 'branch-proxy-h2load-'));
  const cleanups: (() => void | Promise<void>)[] = [];
  const certs = makeCertificates({ after: (fn) => void cleanups.push(fn) });
  const running: Running[] = [];
  try {
    const backend = await startStaticBackend();
    running.push(backend);
    await register(etcd.client, 'app', 'web', backend.port);
    running.push(await startBranchProxy(etcd.endpoint, { name: 'branch-proxy', env: { TLS_CERT_FILE: certs.serverCert, TLS_KEY_FILE: certs.serverKey } }));
    running.push(await startNginxH2(dir, backend.port, certs.serverCert, certs.serverKey));
    running.push(await startCaddyH2(dir, backend.port, certs.serverCert, certs.serverKey));
    const proxies = running.slice(1);
    const samples = new Map<string, { rps: number[]; cpu: number; requests: number; failed: number }>();
    for (let round = 0; round < o.rounds; round++) {
      for (const proxy of proxies) {
        const cpuBefore = cpuSeconds(proxy.pid);
        const r = runH2load(proxy.port, o);
        const cpu = cpuSeconds(proxy.pid) - cpuBefore;
        const s = samples.get(proxy.name) ?? { rps: [], cpu: 0, requests: 0, failed: 0 };
        s.rps.push(r.rps);
        s.cpu += cpu;
        s.requests += r.succeeded;
        s.failed += r.failed;
        samples.set(proxy.name, s);
        log(`round ${round + 1}/${o.rounds} ${proxy.name}: ${r.rps.toFixed(0)} req/s, ${((cpu / Math.max(1, r.succeeded)) * 1e6).toFixed(1)} µs CPU/req, ${r.failed} failed`);
      }
    }
    return [...samples].map(([proxy, s]) => ({
      proxy,
      rps: Math.round([...s.rps].sort((a, b) => a - b)[Math.floor(s.rps.length / 2)]!),
      cpuUsPerRequest: Math.round((s.cpu / Math.max(1, s.requests)) * 1e7) / 10,
      failed: s.failed,
    }));
  } finally {
    for (const r of running.reverse()) await r.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    for (const cleanup of cleanups) await cleanup();
  }
}

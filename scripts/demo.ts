/**
 * `npm run demo`: etcd (unless ETCD_ENDPOINTS points at one), the proxy, and two branch
 * deployments whose services register themselves with `branch-proxy register`, the way a
 * service container would. Prints the URLs to open, the `export` line that points the CLI
 * at this demo, and then the proxy's log (route changes, one line per request) as it
 * happens; DEMO_LOG=json shows those lines as the proxy writes them (for trying the jq
 * recipes of docs/troubleshooting.md). Ctrl-C stops everything.
 *
 * Sleep (docs/sleep.md): a deployment nobody opens for SLEEP_AFTER (2m here; set it to
 * change, empty for never) falls asleep: SLEEP_COMMAND stops its services, and opening
 * one of its URLs runs WAKE_COMMAND, which starts them again with `branch-proxy register`
 * (scripts/demo-hook.ts).
 * `--tls`: HTTPS with HTTP/2, on a throwaway certificate for *.<domain> made at start.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startService } from './demo-hook.ts';
import { etcdBinary, startEtcd } from '../test/helpers/etcd.ts';
import type { EtcdServer } from '../test/helpers/etcd.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { makeDemoCertificate } from './demo-certificate.ts';
import type { DemoCertificate } from './demo-certificate.ts';

const CLI = [process.execPath, '--import', 'tsx', 'src/cli/main.ts'] as const;
const DEPLOYMENTS = [
  { branch: 'main', deployment: 'main', services: ['web', 'api'] },
  { branch: 'feature/login', deployment: 'feature-login', services: ['web', 'api'] },
];
const port = Number(process.env.PORT ?? 8080);
const adminPort = Number(process.env.ADMIN_PORT ?? 8081);
const domain = (process.env.BASE_DOMAIN ?? 'dev.localhost').split(',')[0]!;
const rawLogs = process.env.DEMO_LOG === 'json';
const sleepAfter = process.env.SLEEP_AFTER ?? '2m';
/** The pid files of the running services, shared with the sleep and wake hooks. */
const stateDir = mkdtempSync(join(tmpdir(), 'branch-proxy-demo-'));
const children: ChildProcess[] = [];
let etcd: EtcdServer | undefined;
const tls: DemoCertificate | undefined = process.argv.includes('--tls') ? makeDemoCertificate(domain) : undefined;
const scheme = tls ? 'https' : 'http';
/** Ctrl-C reaches the demo and etcd (the others run in process groups of their own): what they log while stopping is noise. */
let stopping = false;
/** `route added` lines relayed from the proxy so far. */
let routesShown = 0;
/** A LOG_LEVEL above info leaves those lines out. */
const routesLogged = ['', 'info', 'debug', 'trace'].includes(process.env.LOG_LEVEL ?? '');

/** Spawns the CLI; its log lines at `minLevel` and above (and any non-JSON output) are shown under `label`. */
function run(args: readonly string[], env: Record<string, string>, label: string, minLevel: number): ChildProcess {
  const [cmd, ...rest] = [...CLI, ...args];
  // Its own process group: Ctrl-C reaches only the demo, which stops the children in order
  // and quietly, instead of each of them logging its own shutdown at once.
  return relayed(spawn(cmd!, rest, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true }), label, minLevel);
}

function relayed(child: ChildProcess, label: string, minLevel: number): ChildProcess {
  let partial = '';
  const relay = (chunk: Buffer): void => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line === '' || stopping) continue;
      if (line.includes('"msg":"route added"')) routesShown++;
      const level = /"level":(\d+)/.exec(line)?.[1];
      if (level === undefined || Number(level) >= minLevel) process.stdout.write(`${rawLogs ? line : readable(label, line)}\n`);
    }
  };
  child.stdout!.on('data', relay);
  child.stderr!.on('data', relay);
  children.push(child);
  return child;
}

/** Every line has these; `config` (at start) is long, and shown with DEMO_LOG=json; `event` repeats the message as a stable name. */
const NOT_SHOWN = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'config', 'event']);
const LEVELS: Record<number, string> = { 40: 'WARN ', 50: 'ERROR ', 60: 'FATAL ' };

/** A pino JSON line as `12:00:01 [proxy] route added deployment=main service=web target=…`. */
function readable(label: string, line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return `[${label}] ${line}`;
  }
  const time = typeof entry.time === 'string' ? entry.time.slice(11, 19) : '';
  const fields = Object.entries(entry)
    .filter(([k, v]) => !NOT_SHOWN.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' && /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v)}`);
  return `${time} [${label}] ${LEVELS[Number(entry.level)] ?? ''}${String(entry.msg)}${fields.length > 0 ? `  ${fields.join(' ')}` : ''}`;
}

/** `KEY=value`, single-quoted when the shell would otherwise split or expand it. */
function shellAssignment(key: string, value: string): string {
  return /^[\w.,:/@%+-]+$/.test(value) ? `${key}=${value}` : `${key}='${value.replaceAll("'", `'\\''`)}'`;
}

/** `'…'` for /bin/sh. */
function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

function hookCommand(step: 'sleep' | 'wake'): string {
  const root = resolve(import.meta.dirname, '..');
  return `cd ${shellQuote(root)} && exec ${shellQuote(process.execPath)} --import tsx scripts/demo-hook.ts ${step}`;
}

async function stopAll(code: number): Promise<never> {
  stopping = true;
  await Promise.all(
    children.filter((c) => c.exitCode === null && c.signalCode === null).map(async (c) => {
      c.kill('SIGTERM');
      await once(c, 'exit');
    }),
  );
  // Services a wake started are not the demo's children: their pid files name them.
  // A second call (the proxy's exit after Ctrl-C) finds the directory gone.
  for (const file of existsSync(stateDir) ? readdirSync(stateDir).filter((f) => f.endsWith('.pid')) : []) {
    try {
      process.kill(-Number(readFileSync(join(stateDir, file), 'utf8')), 'SIGTERM');
    } catch {
      // already gone
    }
  }
  rmSync(stateDir, { recursive: true, force: true });
  await etcd?.destroy();
  if (tls) rmSync(tls.dir, { recursive: true, force: true });
  process.exit(code);
}

async function main(): Promise<void> {
  let endpoints = process.env.ETCD_ENDPOINTS;
  if (!endpoints) {
    try {
      etcdBinary();
    } catch (err) {
      console.error(`demo: ${(err as Error).message}, or set ETCD_ENDPOINTS to a running etcd.`);
      process.exit(1);
    }
    etcd = await startEtcd();
    endpoints = etcd.endpoint;
  }
  // One process unless asked otherwise, so that each event is one line of the log below.
  const env = {
    ETCD_ENDPOINTS: endpoints,
    PORT: String(port),
    ADMIN_PORT: String(adminPort),
    BASE_DOMAIN: domain,
    WORKERS: process.env.WORKERS ?? '1',
    SLEEP_AFTER: sleepAfter,
    SLEEP_COMMAND: hookCommand('sleep'),
    WAKE_COMMAND: hookCommand('wake'),
    DEMO_STATE_DIR: stateDir,
    ...(tls ? { TLS_CERT_FILE: tls.cert, TLS_KEY_FILE: tls.key } : {}),
  };
  const proxy = run(['serve'], env, 'proxy', 30);
  proxy.once('exit', (code) => {
    if (stopping || code === 0) return void stopAll(0);
    console.error(`demo: the proxy exited with code ${code} (its reason is above); if port ${port} or ${adminPort} is in use, set PORT/ADMIN_PORT to others.`);
    void stopAll(1);
  });

  // Registering once the proxy has its table makes each service arrive as a `route added` line.
  await waitFor(
    'the proxy ready',
    async () => ((await fetch(`http://127.0.0.1:${adminPort}/readyz`).catch(() => undefined))?.ok ? true : undefined),
    30_000,
  );
  for (const { branch, deployment, services } of DEPLOYMENTS) {
    for (const service of services) {
      const child = await startService({ stateDir, branch, deployment, service, env: { ...process.env, ETCD_ENDPOINTS: endpoints }, stdio: 'pipe' });
      relayed(child, `${branch} ${service}`, 40);
    }
  }

  const base = port === (tls ? 443 : 80) ? '' : `:${port}`;
  await waitFor(
    'all demo services routed',
    async () => {
      const res = await fetch(`http://127.0.0.1:${adminPort}/api/deployments`);
      const body = (await res.json()) as { deployments: { services: { routable: boolean }[] }[] };
      // The log lines arrive through a pipe, the API's answer through a socket: wait for both,
      // so the routes are shown above the banner rather than after it.
      const routed = body.deployments.flatMap((d) => d.services).filter((s) => s.routable).length;
      return routed === 4 && (routesShown >= 4 || !routesLogged) ? true : undefined;
    },
    30_000,
  );
  // What the CLI needs to find this demo: its etcd, and the port in the URLs it prints.
  const cliEnv = [
    shellAssignment('ETCD_ENDPOINTS', endpoints),
    ...(tls ? [shellAssignment('URL_SCHEME', 'https')] : []),
    ...(base === '' ? [] : [shellAssignment('URL_PORT', String(port))]),
    ...(domain === 'dev.localhost' ? [] : [shellAssignment('BASE_DOMAIN', domain)]),
  ];
  console.log(`
branch-proxy demo is running (etcd ${endpoints}).

  Dashboard           ${scheme}://${domain}${base}/
  main (default web)  ${scheme}://main.${domain}${base}/
  main api            ${scheme}://main-api.${domain}${base}/
  feature/login       ${scheme}://feature-login.${domain}${base}/
  feature/login api   ${scheme}://feature-login-api.${domain}${base}/
  readiness           http://127.0.0.1:${adminPort}/readyz

Browsers resolve *.localhost to this machine. With curl: curl -H 'Host: main.${domain}${base}' ${tls ? '-k https' : 'http'}://127.0.0.1${base}/
Try: etcdctl --endpoints ${endpoints} put /deployment/main/default api   (main.${domain} now opens the api)
${sleepAfter ? `Sleep: a deployment nobody opens for ${sleepAfter} falls asleep (its services stop; the dashboard says "asleep").
       Opening one of its URLs wakes it: a "waking up" page, then the app. Or: branch-proxy sleep --branch feature/login
` : ''}
To use the CLI on this demo (branch-proxy ls, url …), paste this into another shell:

export ${cliEnv.join(' ')}

The proxy's log follows (route changes, one line per request${rawLogs ? '' : '; DEMO_LOG=json shows the raw JSON lines'}). Press Ctrl-C to stop.
`);
  if (tls) {
    console.log(`
HTTPS with HTTP/2 (ALPN h2, HTTP/1.1 for older clients), on a throwaway certificate for *.${domain}
signed by a throwaway CA: ${tls.ca}
  Trust it for this session: Chromium/Chrome: Settings > Privacy and security > Security > Manage certificates >
  Authorities > Import (or: certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n branch-proxy-demo -i ${tls.ca});
  Firefox: Settings > Privacy & Security > Certificates > View Certificates > Authorities > Import.
  For a quick look instead: chromium --ignore-certificate-errors --user-data-dir=$(mktemp -d) https://main.${domain}${base}/
  curl: curl --cacert ${tls.ca} --http2 -sI https://main.${domain}${base}/   (curl resolves *.localhost too)
The CA and its key are deleted when the demo stops; remove the CA from your browser afterwards.`);
  }

}

process.once('SIGINT', () => void stopAll(0));
process.once('SIGTERM', () => void stopAll(0));
process.once('SIGHUP', () => void stopAll(0));
main().catch((err: unknown) => {
  console.error(`demo: ${err instanceof Error ? err.message : String(err)}`);
  void stopAll(1);
});

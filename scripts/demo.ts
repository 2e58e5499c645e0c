/**
 * `npm run demo`: etcd (unless ETCD_ENDPOINTS points at one), the proxy, and two branch
 * deployments whose services register themselves with `branch-proxy register`, the way a
 * service container would. Prints the URLs to open; Ctrl-C stops everything.
 * `--tls`: HTTPS with HTTP/2, on a throwaway certificate for *.<domain> made at start.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { etcdBinary, startEtcd } from '../test/helpers/etcd.ts';
import type { EtcdServer } from '../test/helpers/etcd.ts';
import { freePort } from '../test/helpers/ports.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { makeDemoCertificate } from './demo-certificate.ts';
import type { DemoCertificate } from './demo-certificate.ts';

const CLI = [process.execPath, '--import', 'tsx', 'src/cli/main.ts'] as const;
const DEPLOYMENTS = [
  { branch: 'main', services: ['web', 'api'] },
  { branch: 'feature/login', services: ['web', 'api'] },
];
const port = Number(process.env.PORT ?? 8080);
const adminPort = Number(process.env.ADMIN_PORT ?? 8081);
const domain = (process.env.BASE_DOMAIN ?? 'dev.localhost').split(',')[0]!;
const children: ChildProcess[] = [];
let etcd: EtcdServer | undefined;
const tls: DemoCertificate | undefined = process.argv.includes('--tls') ? makeDemoCertificate(domain) : undefined;
const scheme = tls ? 'https' : 'http';
/** Ctrl-C reaches every child at once: etcd goes first, so what they log while stopping is noise. */
let stopping = false;

function run(args: readonly string[], env: Record<string, string>, label: string): ChildProcess {
  const [cmd, ...rest] = [...CLI, ...args];
  const child = spawn(cmd!, rest, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  // Logs are JSON lines; keep warnings and errors visible, drop the chatter.
  const relay = (chunk: Buffer): void => {
    for (const line of chunk.toString().split('\n')) {
      if (line === '' || stopping) continue;
      const level = /"level":(\d+)/.exec(line)?.[1];
      if (level === undefined || Number(level) >= 40) process.stderr.write(`[${label}] ${line}\n`);
    }
  };
  child.stdout!.on('data', relay);
  child.stderr!.on('data', relay);
  children.push(child);
  return child;
}

async function stopAll(code: number): Promise<never> {
  stopping = true;
  await Promise.all(
    children.filter((c) => c.exitCode === null).map(async (c) => {
      c.kill('SIGTERM');
      await once(c, 'exit');
    }),
  );
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
  const env = { ETCD_ENDPOINTS: endpoints, PORT: String(port), ADMIN_PORT: String(adminPort), BASE_DOMAIN: domain, ...(tls ? { TLS_CERT_FILE: tls.cert, TLS_KEY_FILE: tls.key } : {}) };
  const proxy = run(['serve'], env, 'proxy');
  proxy.once('exit', (code) => {
    if (stopping || code === 0) return void stopAll(0);
    console.error(`demo: the proxy exited with code ${code} (its reason is above); if port ${port} or ${adminPort} is in use, set PORT/ADMIN_PORT to others.`);
    void stopAll(1);
  });

  for (const { branch, services } of DEPLOYMENTS) {
    for (const service of services) {
      const servicePort = String(await freePort());
      run(
        ['register', '--branch', branch, '--service', service, '--port', servicePort, '--ip', '127.0.0.1', '--ttl', '5', '--', process.execPath, 'demo/demo-service.mjs'],
        { ETCD_ENDPOINTS: endpoints, PORT: servicePort, BRANCH: branch, SERVICE: service },
        `${branch} ${service}`,
      );
    }
  }

  const base = port === (tls ? 443 : 80) ? '' : `:${port}`;
  await waitFor(
    'all demo services routed',
    async () => {
      const res = await fetch(`http://127.0.0.1:${adminPort}/api/deployments`);
      const body = (await res.json()) as { deployments: { services: { routable: boolean }[] }[] };
      return body.deployments.flatMap((d) => d.services).filter((s) => s.routable).length === 4 ? true : undefined;
    },
    30_000,
  );
  console.log(`
branch-proxy demo is running (etcd ${endpoints}).

  Dashboard           ${scheme}://${domain}${base}/
  main (default web)  ${scheme}://main.${domain}${base}/
  main api            ${scheme}://main-api.${domain}${base}/
  feature/login       ${scheme}://feature-login.${domain}${base}/
  feature/login api   ${scheme}://feature-login-api.${domain}${base}/
  readiness           http://127.0.0.1:${adminPort}/readyz

Browsers resolve *.localhost to this machine. With curl: curl -H 'Host: main.${domain}' ${tls ? '-k https' : 'http'}://127.0.0.1${base}/
Try: etcdctl --endpoints ${endpoints} put /deployment/main/default api   (main.${domain} now opens the api)
Press Ctrl-C to stop.`);
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
main().catch((err: unknown) => {
  console.error(`demo: ${err instanceof Error ? err.message : String(err)}`);
  void stopAll(1);
});

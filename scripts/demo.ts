/**
 * `npm run demo`: etcd (unless ETCD_ENDPOINTS points at one), the proxy, and two branch
 * deployments whose services register themselves with `branch-proxy register`, the way a
 * service container would. Prints the URLs to open; Ctrl-C stops everything.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { etcdBinary, startEtcd } from '../test/helpers/etcd.ts';
import type { EtcdServer } from '../test/helpers/etcd.ts';
import { freePort } from '../test/helpers/ports.ts';
import { waitFor } from '../test/helpers/wait.ts';

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
  const env = { ETCD_ENDPOINTS: endpoints, PORT: String(port), ADMIN_PORT: String(adminPort), BASE_DOMAIN: domain };
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

  const base = port === 80 ? '' : `:${port}`;
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

  Dashboard           http://${domain}${base}/
  main (default web)  http://main.${domain}${base}/
  main api            http://main-api.${domain}${base}/
  feature/login       http://feature-login.${domain}${base}/
  feature/login api   http://feature-login-api.${domain}${base}/
  readiness           http://127.0.0.1:${adminPort}/readyz

Browsers resolve *.localhost to this machine. With curl: curl -H 'Host: main.${domain}' http://127.0.0.1${base}/
Try: etcdctl --endpoints ${endpoints} put /deployment/main/default api   (main.${domain} now opens the api)
Press Ctrl-C to stop.`);
}

process.once('SIGINT', () => void stopAll(0));
process.once('SIGTERM', () => void stopAll(0));
main().catch((err: unknown) => {
  console.error(`demo: ${err instanceof Error ? err.message : String(err)}`);
  void stopAll(1);
});

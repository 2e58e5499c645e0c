import type { Etcd3 } from 'etcd3';
import { serviceKey } from '../../src/registry/keys.ts';
import type { TestProxy } from './proxy.ts';
import { waitFor } from './wait.ts';

export const PREFIX = '/deployment/';
export const DOMAIN = 'dev.localhost';

/** Writes both keys of a service in one transaction, so the proxy never sees half of it. */
export async function register(client: Etcd3, deployment: string, service: string, port: number, ip = '127.0.0.1'): Promise<void> {
  await client
    .if(serviceKey(PREFIX, deployment, service, 'ip'), 'Create', '>', -1)
    .then(client.put(serviceKey(PREFIX, deployment, service, 'ip')).value(ip), client.put(serviceKey(PREFIX, deployment, service, 'port')).value(String(port)))
    .commit();
}

export async function deregister(client: Etcd3, deployment: string): Promise<void> {
  await client.delete().prefix(`${PREFIX}${deployment}/`);
}

/** The proxy's routes as sorted `deployment/service=address` strings. */
export function tableOf(proxy: TestProxy): string[] {
  return [...proxy.registry.table.routes()].map((r) => `${r.deployment}/${r.service}=${r.target.address}`).sort();
}

/** etcd's registry as the same strings, from a fresh (linearizable) range read. */
export async function etcdRoutes(client: Etcd3): Promise<string[]> {
  const kvs = await client.getAll().prefix(PREFIX).strings();
  const routes: string[] = [];
  for (const [key, ip] of Object.entries(kvs)) {
    const m = /^\/deployment\/([^/]+)\/service\/([^/]+)\/ip$/.exec(key);
    const port = kvs[key.replace(/ip$/, 'port')];
    if (m && port) routes.push(`${m[1]}/${m[2]}=${ip}:${port}`);
  }
  return routes.sort();
}

/** How long until the proxy's table equals etcd's registry, polling every few ms, at most `timeoutMs`. */
export async function msUntilInSync(proxy: TestProxy, client: Etcd3, timeoutMs: number): Promise<number> {
  const started = performance.now();
  const expected = (await etcdRoutes(client)).join('\n');
  await waitFor('the proxy table to equal etcd', () => (tableOf(proxy).join('\n') === expected ? true : undefined), timeoutMs);
  return performance.now() - started;
}

/** Resolves with the ms until `check` holds for the proxy's table, or rejects after `timeoutMs`. */
export async function msUntil(what: string, check: () => boolean, timeoutMs: number): Promise<number> {
  const { ms } = await waitFor(what, () => (check() ? true : undefined), timeoutMs);
  return ms;
}

/** True when the proxy routes `deployment/service` to `port` on 127.0.0.1. */
export function routes(proxy: TestProxy, deployment: string, service: string, port: number): boolean {
  return proxy.registry.table.deployments.get(deployment)?.services.get(service)?.target?.port === port;
}

export function absent(proxy: TestProxy, deployment: string): boolean {
  return !proxy.registry.table.deployments.has(deployment);
}

import type { OutgoingHttpHeaders } from 'node:http';
import { deploymentKey } from '../../src/registry/keys.ts';
import type { Backend } from './backend.ts';
import { startBackend } from './backend.ts';
import type { EtcdServer } from './etcd.ts';
import { startEtcd } from './etcd.ts';
import type { Reply } from './http.ts';
import { request } from './http.ts';
import type { Exposition } from './metrics.ts';
import { scrapeMetrics } from './metrics.ts';
import type { ServeSettings, TestProxy } from './proxy.ts';
import { startProxy } from './proxy.ts';
import { PREFIX, deregister, register } from './registry.ts';
import { suiteResource } from './suite-resource.ts';
import type { Owner } from './temp-dir.ts';
import { waitFor } from './wait.ts';

/** Deployment-level keys (`/deployment/<name>/<field>`). */
export type DeploymentMeta = Partial<Record<'branch' | 'created' | 'default' | 'last-request', string>>;

export interface FixtureOptions {
  /**
   * Backends to start, by name (the name their /echo answers with). A name of the form
   * `deployment/service` is also registered as that route.
   */
  readonly backends?: readonly string[];
  /** More routes, `deployment/service` -> a backend's name or a bare port (e.g. one nothing listens on). */
  readonly routes?: Readonly<Record<string, string | number>>;
  readonly deployments?: Readonly<Record<string, DeploymentMeta>>;
  /** Any other keys, written as given (half a registration, a bad value). */
  readonly keys?: Readonly<Record<string, string>>;
  /** The proxy's settings (env names); the proxy starts after the routes are written. */
  readonly settings?: ServeSettings;
}

/** etcd, named backends and the proxy, with the routes written and loaded. */
export interface Fixture {
  readonly etcd: EtcdServer;
  readonly proxy: TestProxy;
  backend(name: string): Backend;
  /** Writes both keys of a service in one transaction (does not wait for the proxy). */
  register(deployment: string, service: string, port: number, ip?: string): Promise<void>;
  deregister(deployment: string): Promise<void>;
  setMeta(deployment: string, meta: DeploymentMeta): Promise<void>;
  /** Resolves once the proxy's table reflects every write made to etcd so far. */
  synced(timeoutMs?: number): Promise<void>;
  /** One request to the proxy's public port with this Host. */
  get(host: string, path?: string, options?: { method?: string; headers?: OutgoingHttpHeaders; body?: string | Buffer }): Promise<Reply>;
  /** Polls until `host` answers `status` on `path`; resolves with how long that took. */
  waitStatus(host: string, status: number, path?: string, timeoutMs?: number): Promise<number>;
  /** A strict scrape of the admin port's /metrics. */
  metrics(): Promise<Exposition>;
  /** Stops the proxy, the backends and etcd, and deletes etcd's data. */
  close(): Promise<void>;
}

/** Starts a fixture and closes it when `owner` (a test's `t`) ends, also when it fails. */
export async function startFixture(owner: Owner, options: FixtureOptions = {}): Promise<Fixture> {
  const fixture = await openFixture(options);
  owner.after(() => fixture.close());
  return fixture;
}

/** For a describe body: starts the fixture in `before` and closes it in `after`. */
export function useFixture(options: FixtureOptions = {}): Fixture {
  return suiteResource('the fixture', () => openFixture(options), (f) => f.close());
}

async function openFixture(options: FixtureOptions): Promise<Fixture> {
  const backends = new Map<string, Backend>();
  let etcd: EtcdServer | undefined;
  let proxy: TestProxy | undefined;
  const close = async (): Promise<void> => {
    await proxy?.close();
    await Promise.all([...backends.values()].map((b) => b.close()));
    await etcd?.destroy();
  };
  try {
    etcd = await startEtcd();
    const client = etcd.client;
    for (const b of await Promise.all((options.backends ?? []).map((name) => startBackend(name)))) backends.set(b.name, b);
    const backend = (name: string): Backend => {
      const b = backends.get(name);
      if (!b) throw new Error(`no backend named "${name}" in this fixture (it has: ${[...backends.keys()].join(', ')})`);
      return b;
    };
    const routes: [string, string | number][] = [...[...backends.keys()].filter((n) => n.includes('/')).map((n): [string, string] => [n, n]), ...Object.entries(options.routes ?? {})];
    for (const [route, to] of routes) {
      const [deployment, service] = route.split('/') as [string, string];
      await register(client, deployment, service, typeof to === 'number' ? to : backend(to).port);
    }
    const setMeta = async (deployment: string, meta: DeploymentMeta): Promise<void> => {
      for (const [field, value] of Object.entries(meta)) await client.put(deploymentKey(PREFIX, deployment, field as keyof DeploymentMeta)).value(value);
    };
    for (const [deployment, meta] of Object.entries(options.deployments ?? {})) await setMeta(deployment, meta);
    for (const [key, value] of Object.entries(options.keys ?? {})) await client.put(key).value(value);
    const started = await startProxy(etcd.endpoint, options.settings);
    proxy = started;
    const synced = async (timeoutMs = 10_000): Promise<void> => {
      const res = await client.kv.range({ key: Buffer.from('\0'), limit: 1 });
      const revision = Number(res.header.revision);
      await waitFor(`the proxy at etcd revision ${revision}`, () => (started.registry.ready && started.registry.revision >= revision ? true : undefined), timeoutMs);
    };
    await synced();
    const get: Fixture['get'] = (host, path = '/', requestOptions = {}) => request(started.port, host, path, requestOptions);
    return {
      etcd,
      proxy: started,
      backend,
      register: (deployment, service, port, ip) => register(client, deployment, service, port, ip),
      deregister: (deployment) => deregister(client, deployment),
      setMeta,
      synced,
      get,
      waitStatus: async (host, status, path = '/echo', timeoutMs = 5000) =>
        (await waitFor(`${host}${path} to answer ${status}`, async () => ((await get(host, path)).status === status ? true : undefined), timeoutMs)).ms,
      metrics: () => scrapeMetrics(started.adminPort),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

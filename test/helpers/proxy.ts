import { loadServeConfig } from '../../src/config/serve-config.ts';
import { SERVE_SETTINGS } from '../../src/config/settings.ts';
import type { SettingValues } from '../../src/config/settings.ts';
import type { RunningServer } from '../../src/server.ts';
import { startServer } from '../../src/server.ts';
import { memoryLogger } from './memory-logger.ts';
import type { Owner } from './temp-dir.ts';

export type ServeSettings = Partial<SettingValues<typeof SERVE_SETTINGS>>;

export interface TestProxy extends RunningServer {
  /** Every log line the proxy wrote, parsed. */
  readonly logs: Record<string, unknown>[];
  url(path?: string): string;
}

/** The real server, in-process, on free loopback ports, logging into memory. */
export async function startProxy(etcdEndpoint: string, settings: ServeSettings = {}): Promise<TestProxy> {
  const defaults = Object.fromEntries(SERVE_SETTINGS.map((s) => [s.env, s.default])) as SettingValues<typeof SERVE_SETTINGS>;
  const config = loadServeConfig({ ...defaults, PORT: '0', ADMIN_PORT: '0', HOST: '127.0.0.1', ETCD_ENDPOINTS: etcdEndpoint, SHUTDOWN_GRACE_MS: '2000', ...settings });
  const { log, lines: logs } = memoryLogger(config.logLevel);
  const server = await startServer(config, log);
  return Object.assign(server, {
    logs,
    url: (path = '/') => `http://127.0.0.1:${server.port}${path}`,
  });
}

/** A proxy that is closed when `owner` (a test's `t`) ends, also when it fails. */
export async function proxyFor(owner: Owner, etcdEndpoint: string, settings: ServeSettings = {}): Promise<TestProxy> {
  const proxy = await startProxy(etcdEndpoint, settings);
  owner.after(() => proxy.close());
  return proxy;
}

/**
 * Every setting is an environment variable with a mirroring command-line flag
 * (`ETCD_ENDPOINTS` <-> `--etcd-endpoints`). This table drives both `--help`
 * and validation, so the two never drift apart.
 */
export interface Setting {
  readonly env: string;
  readonly description: string;
  readonly default: string;
  /** A flag named otherwise than after the variable (`BASE_DOMAIN` <-> `--domain` for `url`). */
  readonly flag?: string;
}

export const ETCD_SETTINGS = [
  { env: 'ETCD_ENDPOINTS', default: 'http://127.0.0.1:2379', description: 'comma-separated etcd URLs' },
  { env: 'REGISTRY_PREFIX', default: '/deployment/', description: 'etcd key prefix of the registry' },
] as const satisfies readonly Setting[];

export const SERVE_SETTINGS = [
  ...ETCD_SETTINGS,
  { env: 'BASE_DOMAIN', default: 'dev.localhost', description: 'comma-separated base domains; <deployment>[-<service>].<domain> is routed' },
  { env: 'PORT', default: '8080', description: 'proxy port (0 picks a free port)' },
  { env: 'HOST', default: '', description: 'listen address; empty listens on all IPv6 and IPv4 addresses' },
  { env: 'ADMIN_PORT', default: '8081', description: 'admin port: /healthz, /readyz, /api (0 picks a free port)' },
  { env: 'ADMIN_HOST', default: '', description: 'admin listen address; empty uses HOST' },
  { env: 'DEFAULT_SERVICE', default: 'web', description: 'service opened by <deployment>.<domain> when the deployment names no default' },
  { env: 'UPSTREAM_TIMEOUT_MS', default: '30000', description: "time to wait for a backend's response headers; streamed bodies and WebSockets are never cut" },
  { env: 'BACKEND_ALLOW', default: '', description: 'comma-separated CIDRs backends must lie in; empty allows any address but link-local/metadata ones and the proxy itself' },
  { env: 'PROBE_INTERVAL_MS', default: '15000', description: 'pause between checks that each backend accepts TCP connections (shown on the dashboard)' },
  { env: 'ACTIVITY_WRITE_MS', default: '60000', description: 'how often last-request times go to etcd: at most one write per requested deployment per interval' },
  { env: 'SHUTDOWN_GRACE_MS', default: '10000', description: 'on SIGTERM, time in-flight requests get to finish' },
  { env: 'LOG_LEVEL', default: 'info', description: 'fatal, error, warn, info, debug, trace or silent' },
] as const satisfies readonly Setting[];

/** How `url` spells a deployment's address: `<scheme>://<deployment>[-<service>].<domain>[:<port>]/`. */
export const URL_SETTINGS = [
  { env: 'BASE_DOMAIN', flag: '--domain', default: 'dev.localhost', description: 'base domain of the URL (the first one, when a comma-separated list)' },
  { env: 'URL_SCHEME', flag: '--scheme', default: 'http', description: 'http or https' },
  { env: 'URL_PORT', default: '', description: "port the proxy is reached on; empty for the scheme's default" },
] as const satisfies readonly Setting[];

export type SettingName<S extends readonly Setting[]> = S[number]['env'];
export type SettingValues<S extends readonly Setting[]> = Record<SettingName<S>, string>;

/** `ETCD_ENDPOINTS` -> `--etcd-endpoints` */
export function flagOf(setting: Setting): string {
  return setting.flag ?? `--${setting.env.toLowerCase().replaceAll('_', '-')}`;
}

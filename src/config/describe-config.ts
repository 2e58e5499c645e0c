import type { AccessConfig, EtcdConfig, ServeConfig } from './serve-config.ts';

/** The effective configuration for the start log line, without secrets. */
export function describeConfig(config: ServeConfig, port: number, adminPort: number): Record<string, unknown> {
  return { ...config, port, adminPort, etcd: describeEtcd(config.etcd), access: describeAccess(config.access) };
}

/** The access settings for the start log line. SECURITY: secrets and password hashes never reach a log. */
function describeAccess(a: AccessConfig): Record<string, unknown> {
  return {
    basicAuthUsers: a.credentials?.size ?? 0,
    allowCidrs: a.allowCidrs,
    trustedProxies: a.trustedProxies,
    token: a.token ? 'set' : 'unset',
    shareLinks: a.shareSecret ? 'enabled' : 'disabled',
  };
}

function describeEtcd(e: EtcdConfig): Record<string, unknown> {
  return { endpoints: e.endpoints, prefix: e.prefix, tls: e.tls ? (e.tls.cert ? 'client certificate' : 'server verified') : 'off', user: e.auth?.username ?? null };
}

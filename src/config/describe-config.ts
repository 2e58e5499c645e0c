import type { AccessConfig, EtcdConfig, ServeConfig } from './serve-config.ts';
import type { SleepConfig } from './sleep-config.ts';

/** The effective configuration for the start log line, without secrets. */
export function describeConfig(config: ServeConfig, port: number, adminPort: number): Record<string, unknown> {
  return { ...config, port, adminPort, etcd: describeEtcd(config.etcd), access: describeAccess(config.access), sleep: describeSleep(config.sleep) };
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

/** SECURITY: hook commands may carry a webhook token, so only whether they are set is logged. */
function describeSleep(s: SleepConfig): Record<string, unknown> {
  const driver = s.driver.kind === 'ecs' ? s.driver : { kind: 'command', sleepCommand: s.driver.sleepCommand ? 'set' : 'unset', wakeCommand: s.driver.wakeCommand ? 'set' : 'unset' };
  return { ...s, driver, ignoreUserAgents: s.ignoreUserAgents?.source ?? null, sleepAfterMs: s.sleepAfterMs ?? null };
}

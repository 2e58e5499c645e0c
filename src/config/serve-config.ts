import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Credentials } from '../access/htpasswd.ts';
import { ConfigError } from './config-error.ts';
import { loadHtpasswd } from '../access/htpasswd.ts';
import type { LogLevel } from './parsers.ts';
import {
  parseBoolean,
  parseDomains,
  parseEndpoints,
  parseListenHost,
  parseCidrList,
  parseDeploymentName,
  parseLogLevel,
  parseSecret,
  parsePort,
  parsePositiveInt,
  parsePrefix,
  parseServiceName,
  parseWorkers,
} from './parsers.ts';
import type { ETCD_SETTINGS, SERVE_SETTINGS, SettingValues } from './settings.ts';
import type { SleepConfig } from './sleep-config.ts';
import { loadSleepConfig } from './sleep-config.ts';

export interface EtcdConfig {
  readonly endpoints: readonly string[];
  readonly prefix: string;
  /** PEM contents, read once at start-up. */
  readonly tls?: { readonly ca?: Buffer; readonly cert?: Buffer; readonly key?: Buffer };
  readonly auth?: { readonly username: string; readonly password: string };
}

/** Who may use the public port; everything empty means anyone may (the local demo). */
export interface AccessConfig {
  readonly credentials: Credentials | undefined;
  readonly allowCidrs: readonly string[];
  readonly trustedProxies: readonly string[];
  readonly token: string | undefined;
  readonly shareSecret: string | undefined;
}

export interface ServeConfig {
  readonly etcd: EtcdConfig;
  /** In the order given; the first is used for links where no request says which. */
  readonly domains: readonly string[];
  readonly port: number;
  readonly host: string | undefined;
  readonly adminPort: number;
  readonly adminHost: string | undefined;
  readonly defaultService: string;
  /** Base of deployments that declare none (see routing/resolve-label.ts); undefined: no fallback. */
  readonly fallbackDeployment: string | undefined;
  readonly upstreamTimeoutMs: number;
  /** FAST_PATH: plain-HTTP requests to routed deployments skip node:http and undici (docs/fast-path.md). */
  readonly fastPath: boolean;
  /** CIDRs backends must lie in; empty: any address the backend policy does not deny. */
  readonly backendAllow: readonly string[];
  readonly access: AccessConfig;
  /** HTTPS on PORT; the files are read again whenever they change. `http2`: offer h2 beside http/1.1 by ALPN. */
  readonly tls: { readonly certFile: string; readonly keyFile: string; readonly redirectPort: number | undefined; readonly http2: boolean } | undefined;
  readonly probeIntervalMs: number;
  readonly activityWriteMs: number;
  readonly shutdownGraceMs: number;
  readonly logLevel: LogLevel;
  /** Proxy processes; 1 runs everything in this process (see src/cluster/). */
  readonly workers: number;
  /** Idle deployments sleep and wake on the first visit (docs/sleep.md). */
  readonly sleep: SleepConfig;
}

export function loadEtcdConfig(v: SettingValues<typeof ETCD_SETTINGS>): EtcdConfig {
  const endpoints = parseEndpoints('ETCD_ENDPOINTS', v.ETCD_ENDPOINTS);
  const ca = readPem('ETCD_CA_FILE', v.ETCD_CA_FILE);
  const cert = readPem('ETCD_CERT_FILE', v.ETCD_CERT_FILE);
  const key = readPem('ETCD_KEY_FILE', v.ETCD_KEY_FILE);
  if ((cert === undefined) !== (key === undefined)) throw new ConfigError(cert ? 'ETCD_KEY_FILE' : 'ETCD_CERT_FILE', '', 'both ETCD_CERT_FILE and ETCD_KEY_FILE, or neither');
  const tls = ca ?? cert ? { ca, cert, key } : undefined;
  if (tls && !endpoints.every((e) => e.startsWith('https://'))) throw new ConfigError('ETCD_ENDPOINTS', v.ETCD_ENDPOINTS, 'https:// URLs when ETCD_CA_FILE or ETCD_CERT_FILE is set');
  if ((v.ETCD_USERNAME === '') !== (v.ETCD_PASSWORD === '')) throw new ConfigError(v.ETCD_USERNAME ? 'ETCD_PASSWORD' : 'ETCD_USERNAME', '', 'both ETCD_USERNAME and ETCD_PASSWORD, or neither');
  return Object.freeze({
    endpoints: Object.freeze(endpoints),
    prefix: parsePrefix('REGISTRY_PREFIX', v.REGISTRY_PREFIX),
    ...(tls ? { tls: Object.freeze(tls) } : {}),
    ...(v.ETCD_USERNAME ? { auth: Object.freeze({ username: v.ETCD_USERNAME, password: v.ETCD_PASSWORD }) } : {}),
  });
}

function readPem(variable: string, path: string): Buffer | undefined {
  if (path === '') return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(variable, path, `a readable PEM file (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
}

/** Validates every setting once, at start-up; throws ConfigError naming the first bad one. */
export function loadServeConfig(v: SettingValues<typeof SERVE_SETTINGS>): ServeConfig {
  const host = parseListenHost('HOST', v.HOST);
  return Object.freeze({
    etcd: loadEtcdConfig(v),
    domains: Object.freeze(parseDomains('BASE_DOMAIN', v.BASE_DOMAIN)),
    port: parsePort('PORT', v.PORT, { allowZero: true }),
    host,
    adminPort: parsePort('ADMIN_PORT', v.ADMIN_PORT, { allowZero: true }),
    adminHost: v.ADMIN_HOST === '' ? host : parseListenHost('ADMIN_HOST', v.ADMIN_HOST),
    defaultService: parseServiceName('DEFAULT_SERVICE', v.DEFAULT_SERVICE),
    fallbackDeployment: v.FALLBACK_DEPLOYMENT === '' ? undefined : parseDeploymentName('FALLBACK_DEPLOYMENT', v.FALLBACK_DEPLOYMENT),
    upstreamTimeoutMs: parsePositiveInt('UPSTREAM_TIMEOUT_MS', v.UPSTREAM_TIMEOUT_MS, 'milliseconds'),
    fastPath: parseBoolean('FAST_PATH', v.FAST_PATH),
    backendAllow: Object.freeze(parseCidrList('BACKEND_ALLOW', v.BACKEND_ALLOW)),
    tls: loadTlsConfig(v),
    access: Object.freeze({
      credentials: v.AUTH_HTPASSWD === '' ? undefined : loadHtpasswd('AUTH_HTPASSWD', v.AUTH_HTPASSWD),
      allowCidrs: Object.freeze(parseCidrList('ALLOW_CIDRS', v.ALLOW_CIDRS)),
      trustedProxies: Object.freeze(parseCidrList('TRUSTED_PROXIES', v.TRUSTED_PROXIES)),
      token: parseSecret('AUTH_TOKEN', v.AUTH_TOKEN, 16),
      shareSecret: parseSecret('SHARE_SECRET', v.SHARE_SECRET, 32),
    }),
    probeIntervalMs: parsePositiveInt('PROBE_INTERVAL_MS', v.PROBE_INTERVAL_MS, 'milliseconds'),
    activityWriteMs: parsePositiveInt('ACTIVITY_WRITE_MS', v.ACTIVITY_WRITE_MS, 'milliseconds'),
    shutdownGraceMs: parsePositiveInt('SHUTDOWN_GRACE_MS', v.SHUTDOWN_GRACE_MS, 'milliseconds'),
    logLevel: parseLogLevel('LOG_LEVEL', v.LOG_LEVEL),
    workers: parseWorkers('WORKERS', v.WORKERS, availableParallelism()),
    sleep: loadSleepConfig(v),
  });
}

function loadTlsConfig(v: SettingValues<typeof SERVE_SETTINGS>): ServeConfig['tls'] {
  // Validated with or without TLS, so a typo never waits for the day TLS is turned on.
  const http2 = parseBoolean('HTTP2', v.HTTP2);
  if ((v.TLS_CERT_FILE === '') !== (v.TLS_KEY_FILE === '')) throw new ConfigError(v.TLS_CERT_FILE ? 'TLS_KEY_FILE' : 'TLS_CERT_FILE', '', 'both TLS_CERT_FILE and TLS_KEY_FILE, or neither');
  if (v.TLS_CERT_FILE === '') {
    if (v.HTTP_REDIRECT_PORT !== '') throw new ConfigError('HTTP_REDIRECT_PORT', v.HTTP_REDIRECT_PORT, 'TLS_CERT_FILE and TLS_KEY_FILE to be set too (it redirects to HTTPS)');
    return undefined;
  }
  // Read now so a wrong path fails at start-up, not at the first visitor.
  readPem('TLS_CERT_FILE', v.TLS_CERT_FILE);
  readPem('TLS_KEY_FILE', v.TLS_KEY_FILE);
  return Object.freeze({
    certFile: v.TLS_CERT_FILE,
    keyFile: v.TLS_KEY_FILE,
    redirectPort: v.HTTP_REDIRECT_PORT === '' ? undefined : parsePort('HTTP_REDIRECT_PORT', v.HTTP_REDIRECT_PORT, { allowZero: true }),
    http2,
  });
}

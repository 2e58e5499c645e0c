import { isIP } from 'node:net';
import parseDuration from 'parse-duration';
import { parseCidr } from '../routing/backend-policy.ts';
import { ConfigError } from './config-error.ts';

/** One DNS label: what a deployment, service or domain part may be called. */
export const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export function parsePort(variable: string, raw: string, { allowZero = false } = {}): number {
  const port = /^\d{1,5}$/.test(raw) ? Number(raw) : NaN;
  if (!(port <= 65535 && (port >= 1 || (allowZero && port === 0)))) {
    throw new ConfigError(variable, raw, allowZero ? 'a port number 0..65535 (0 picks a free port)' : 'a port number 1..65535');
  }
  return port;
}

export function parsePositiveInt(variable: string, raw: string, unit: string): number {
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && Number.isSafeInteger(n))) throw new ConfigError(variable, raw, `a whole number of ${unit}, at least 1`);
  return n;
}

/** `auto` -> one per CPU the process may run on; otherwise 1..1024. */
export function parseWorkers(variable: string, raw: string, cpus: number): number {
  if (raw === 'auto') return cpus;
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= 1024)) throw new ConfigError(variable, raw, '"auto" or a whole number of processes from 1 to 1024');
  return n;
}

/** `true` or `false` (also `1`/`0`, `yes`/`no`, `on`/`off`, any case). */
export function parseBoolean(variable: string, raw: string): boolean {
  const value = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(value)) return true;
  if (['false', '0', 'no', 'off'].includes(value)) return false;
  throw new ConfigError(variable, raw, 'true or false');
}

export function isHostname(name: string): boolean {
  return name.length <= 253 && name.split('.').every((label) => DNS_LABEL.test(label));
}

/** `dev.example.com,dev.localhost` -> lowercase domains, in the order given (the first is the primary one). */
export function parseDomains(variable: string, raw: string): string[] {
  const domains = raw
    .split(',')
    .map((d) => d.trim().toLowerCase().replace(/\.$/, ''))
    .filter((d) => d !== '');
  if (domains.length === 0 || !domains.every(isHostname)) {
    throw new ConfigError(variable, raw, 'a comma-separated list of DNS names such as dev.example.com');
  }
  return [...new Set(domains)];
}

/** etcd endpoints as the etcd3 client wants them: `http(s)://host:port`. A bare `host:port` means http. */
export function parseEndpoints(variable: string, raw: string): string[] {
  const endpoints = raw
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '')
    .map((e) => (/^[a-z]+:\/\//i.test(e) ? e : `http://${e}`));
  const valid = endpoints.every((e) => {
    try {
      const url = new URL(e);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' && url.pathname === '/';
    } catch {
      return false;
    }
  });
  if (endpoints.length === 0 || !valid) {
    throw new ConfigError(variable, raw, 'a comma-separated list of etcd URLs such as http://127.0.0.1:2379');
  }
  return endpoints.map((e) => e.replace(/\/$/, ''));
}

/** The registry prefix always ends with `/` so `/deployment` and `/deployment/` mean the same. */
export function parsePrefix(variable: string, raw: string): string {
  if (!raw.startsWith('/') || /\s/.test(raw)) throw new ConfigError(variable, raw, 'an etcd key prefix starting with /, such as /deployment/');
  return raw.endsWith('/') ? raw : `${raw}/`;
}

export function parseServiceName(variable: string, raw: string): string {
  if (!DNS_LABEL.test(raw)) throw new ConfigError(variable, raw, 'a service name of lowercase letters, digits and dashes');
  return raw;
}

export function parseDeploymentName(variable: string, raw: string): string {
  if (!DNS_LABEL.test(raw)) throw new ConfigError(variable, raw, 'a deployment name of lowercase letters, digits and dashes, such as main');
  return raw;
}

/** A listen address: an IP literal, `localhost`, or empty for every IPv6 and IPv4 address. */
export function parseListenHost(variable: string, raw: string): string | undefined {
  if (raw === '') return undefined;
  if (isIP(raw) !== 0 || isHostname(raw.toLowerCase())) return raw;
  throw new ConfigError(variable, raw, 'an IP address to listen on (empty listens on all IPv6 and IPv4 addresses)');
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function parseLogLevel(variable: string, raw: string): LogLevel {
  const level = LOG_LEVELS.find((l) => l === raw.toLowerCase());
  if (!level) throw new ConfigError(variable, raw, `one of ${LOG_LEVELS.join(', ')}`);
  return level;
}

/** `10.0.0.0/8, fd00::/8` -> the list; every entry must be an address or CIDR range. */
export function parseCidrList(variable: string, raw: string): string[] {
  const entries = raw.split(',').map((e) => e.trim()).filter((e) => e !== '');
  if (!entries.every((e) => parseCidr(e) !== undefined)) throw new ConfigError(variable, raw, 'comma-separated CIDR ranges such as 10.0.0.0/8,fd00::/8');
  return entries;
}

/** A secret from the environment: empty means unset; otherwise it must be long enough to resist guessing. */
export function parseSecret(variable: string, raw: string, minLength: number): string | undefined {
  if (raw === '') return undefined;
  if (raw.length < minLength) throw new ConfigError(variable, '<hidden>', `a secret of at least ${minLength} characters (e.g. \`openssl rand -hex ${minLength}\`)`);
  return raw;
}

/**
 * A duration with a unit, such as `30s`, `5m`, `2h` or `1h30m` (parse-duration),
 * in milliseconds. A bare number is refused: `30` could mean seconds or minutes.
 */
export function parseDurationMs(variable: string, raw: string): number {
  const ms = /^\s*[\d.]+\s*$/.test(raw) ? null : parseDuration(raw);
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 1) throw new ConfigError(variable, raw, 'a duration with a unit, such as 30s, 5m, 2h or 1h30m');
  return Math.round(ms);
}

const BYTE_UNITS: Readonly<Record<string, number>> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2 };

/** A size such as `1MiB`, `512k` or `65536` (bytes); k and m are 1024-based. At most `max` bytes. */
export function parseByteSize(variable: string, raw: string, max: number): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(raw);
  const unit = match ? BYTE_UNITS[match[2]!.toLowerCase()] : undefined;
  const bytes = match && unit !== undefined ? Math.floor(Number(match[1]) * unit) : NaN;
  if (!(bytes >= 0 && bytes <= max)) throw new ConfigError(variable, raw, `a size in bytes, or with k/KiB or m/MiB, such as 1MiB, at most ${max / 1024 ** 2} MiB`);
  return bytes;
}

/** A regular expression, matched case-insensitively; empty means none. */
export function parseRegExp(variable: string, raw: string): RegExp | undefined {
  if (raw === '') return undefined;
  try {
    return new RegExp(raw, 'i');
  } catch (err) {
    throw new ConfigError(variable, raw, `a valid regular expression (${(err as Error).message})`);
  }
}

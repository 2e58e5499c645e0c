import type { LastWakeValue } from '../registry/codec.ts';
import { decodeEntry } from '../registry/codec.ts';
import type { LastWake, SleepRecord } from '../sleep/sleep-record.ts';
import { formatHostPort } from '../routing/host-port.ts';

/** One key/value as etcd returns it; only what the summary reads. */
export interface RegistryEntry {
  readonly key: Buffer;
  readonly value: Buffer;
  /** Lease id, '0' when the key has none. */
  readonly lease: string;
}

export interface ServiceSummary {
  readonly service: string;
  readonly ip: string | undefined;
  readonly port: number | undefined;
  /** `ip:port` (`[ip]:port` for IPv6) once both are there. */
  readonly target: string | undefined;
  /** Written by `register` under a lease (disappears when it stops), rather than by a plain put. */
  readonly leased: boolean;
}

export interface DeploymentSummary {
  readonly deployment: string;
  readonly branch: string | undefined;
  readonly created: string | undefined;
  readonly default: string | undefined;
  readonly lastRequest: string | undefined;
  readonly services: readonly ServiceSummary[];
  /** The sleep record, while the deployment is not awake (issue #13). */
  readonly sleep?: SleepRecord;
  /** The last wake: the record's while there is one (it carries a failure), else `<deployment>/last-wake`. */
  readonly lastWake?: LastWake;
}

/**
 * Groups a range read of the registry into deployments, sorted by name, with
 * services sorted by name. Keys the proxy would ignore are ignored here too, so
 * what `ls` shows is what the proxy routes.
 */
export function summarizeDeployments(prefix: string, entries: Iterable<RegistryEntry>): DeploymentSummary[] {
  type Collected = { fields: Map<string, string>; services: Map<string, { ip?: string; port?: number; leased: boolean }>; sleep?: SleepRecord; lastWake?: LastWake };
  const deployments = new Map<string, Collected>();
  const collected = (name: string): Collected => {
    let d = deployments.get(name);
    if (!d) deployments.set(name, (d = { fields: new Map(), services: new Map() }));
    return d;
  };
  for (const entry of entries) {
    const decoded = decodeEntry(prefix, entry.key.toString(), entry.value);
    if (!decoded.ok) continue;
    const { ref, value } = decoded;
    const d = collected(ref.deployment);
    if (ref.service === undefined) {
      // A deployment whose only key is its sleep record is still known, as in the proxy's table.
      if (ref.field === 'sleep') d.sleep = value as SleepRecord;
      else if (ref.field === 'last-wake') d.lastWake = value as LastWakeValue;
      else d.fields.set(ref.field, String(value));
      continue;
    }
    let s = d.services.get(ref.service);
    if (!s) d.services.set(ref.service, (s = { leased: false }));
    if (ref.field === 'ip') s.ip = String(value);
    else s.port = Number(value);
    if (entry.lease !== '0') s.leased = true;
  }
  return [...deployments.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([deployment, d]) => ({
      deployment,
      branch: d.fields.get('branch'),
      created: d.fields.get('created'),
      default: d.fields.get('default'),
      lastRequest: d.fields.get('last-request'),
      services: [...d.services.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([service, s]) => ({ service, ip: s.ip, port: s.port, target: targetOf(s.ip, s.port), leased: s.leased })),
      ...(d.sleep ? { sleep: d.sleep } : {}),
      ...(d.sleep?.lastWake ?? d.lastWake ? { lastWake: d.sleep?.lastWake ?? d.lastWake } : {}),
    }));
}

function targetOf(ip: string | undefined, port: number | undefined): string | undefined {
  return ip === undefined || port === undefined ? undefined : formatHostPort(ip, port);
}

/** `3d`, `5h`, `12m`, `40s`: the largest whole unit, for a column that must stay narrow. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s >= 86_400) return `${Math.floor(s / 86_400)}d`;
  if (s >= 3600) return `${Math.floor(s / 3600)}h`;
  if (s >= 60) return `${Math.floor(s / 60)}m`;
  return `${s}s`;
}

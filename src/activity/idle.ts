import type { Deployment } from '../routing/route-table.ts';

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/**
 * Parses a duration such as `90m`, `12h`, `7d`, `2w` or `1d12h` into milliseconds.
 * Returns undefined for anything else, so the caller can word its own usage error.
 */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim().toLowerCase();
  if (!/^(\d+(\.\d+)?[smhdw])+$/.test(trimmed)) return undefined;
  let ms = 0;
  for (const [, amount, unit] of trimmed.matchAll(/(\d+(?:\.\d+)?)([smhdw])/g)) ms += Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
  return ms > 0 && Number.isFinite(ms) ? Math.round(ms) : undefined;
}

/**
 * When anyone last used the deployment: its last request, or its registration
 * when it was never opened. Undefined when neither is known.
 */
export function lastActivity(d: Pick<Deployment, 'lastRequest' | 'created'>): number | undefined {
  const last = d.lastRequest === undefined ? Number.NaN : Date.parse(d.lastRequest);
  const created = d.created === undefined ? Number.NaN : Date.parse(d.created);
  if (Number.isNaN(last)) return Number.isNaN(created) ? undefined : created;
  return Number.isNaN(created) ? last : Math.max(last, created);
}

/**
 * True when nobody has opened the deployment for at least `idleForMs`. A
 * deployment with neither a created time nor a last request is never idle:
 * without a time there is no evidence that it is stale.
 */
export function isIdle(d: Pick<Deployment, 'lastRequest' | 'created'>, idleForMs: number, nowMs: number): boolean {
  const last = lastActivity(d);
  return last !== undefined && nowMs - last >= idleForMs;
}

/** The deployments `prune --idle-for` would remove, longest idle first. */
export function idleDeployments(deployments: Iterable<Deployment>, idleForMs: number, nowMs: number): Deployment[] {
  return [...deployments].filter((d) => isIdle(d, idleForMs, nowMs)).sort((a, b) => (lastActivity(a) ?? 0) - (lastActivity(b) ?? 0));
}

/** `3 days ago`, `just now`: for terminal output such as `branch-proxy ls`. */
export function formatAgo(thenMs: number, nowMs: number): string {
  const s = Math.max(0, Math.round((nowMs - thenMs) / 1000));
  if (s < 45) return 'just now';
  const steps: [number, string][] = [
    [60, 'minute'],
    [3600, 'hour'],
    [86_400, 'day'],
    [604_800, 'week'],
  ];
  let unit = 'minute';
  let n = Math.max(1, Math.round(s / 60));
  for (const [size, name] of steps) {
    if (s >= size * 0.9) {
      unit = name;
      n = Math.max(1, Math.round(s / size));
    }
  }
  return `${n} ${unit}${n === 1 ? '' : 's'} ago`;
}

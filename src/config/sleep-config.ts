import { ConfigError } from './config-error.ts';
import { DNS_LABEL, parseByteSize, parseDurationMs, parseRegExp } from './parsers.ts';
import type { SLEEP_SETTINGS, SettingValues } from './settings.ts';
import { ECS_SERVICE_NAME, ecsServiceName } from '../sleep/ecs-service-name.ts';

export type SleepDriverConfig =
  | { readonly kind: 'command'; readonly sleepCommand: string | undefined; readonly wakeCommand: string | undefined }
  | { readonly kind: 'ecs'; readonly cluster: string; readonly serviceTemplate: string };

/** Sleep and wake (docs/sleep.md), validated once at start-up. */
export interface SleepConfig {
  /** Undefined: deployments sleep only when asked (`branch-proxy sleep`). */
  readonly sleepAfterMs: number | undefined;
  readonly driver: SleepDriverConfig;
  readonly wakeTimeoutMs: number;
  readonly wakeHoldMs: number;
  readonly wakeHoldMaxBodyBytes: number;
  /** Undefined: every user agent may wake a deployment. */
  readonly ignoreUserAgents: RegExp | undefined;
  /** Deployments that crawlers may index; `*`: all of them. */
  readonly robotsAllow: readonly string[] | '*';
}

/** Held bodies live in memory; a bound keeps a burst of held uploads from exhausting it. */
const MAX_HOLD_BODY_BYTES = 64 * 1024 ** 2;
const TEMPLATE_PLACEHOLDER = /\{([^}]*)\}/g;

export function loadSleepConfig(v: SettingValues<typeof SLEEP_SETTINGS>): SleepConfig {
  const sleepAfterMs = v.SLEEP_AFTER.trim() === '' ? undefined : parseDurationMs('SLEEP_AFTER', v.SLEEP_AFTER);
  const driver = loadDriver(v);
  if (sleepAfterMs !== undefined && driver.kind === 'command' && (driver.sleepCommand === undefined || driver.wakeCommand === undefined)) {
    // Without both, an idle deployment would lose its routes while still running, or never come back.
    throw new ConfigError(driver.sleepCommand === undefined ? 'SLEEP_COMMAND' : 'WAKE_COMMAND', '', 'both SLEEP_COMMAND and WAKE_COMMAND when SLEEP_AFTER is set (or SLEEP_DRIVER=ecs)');
  }
  return Object.freeze({
    sleepAfterMs,
    driver,
    wakeTimeoutMs: parseDurationMs('WAKE_TIMEOUT', v.WAKE_TIMEOUT),
    wakeHoldMs: parseDurationMs('WAKE_HOLD', v.WAKE_HOLD),
    wakeHoldMaxBodyBytes: parseByteSize('WAKE_HOLD_MAX_BODY', v.WAKE_HOLD_MAX_BODY, MAX_HOLD_BODY_BYTES),
    ignoreUserAgents: parseRegExp('WAKE_IGNORE_USER_AGENTS', v.WAKE_IGNORE_USER_AGENTS),
    robotsAllow: parseRobotsAllow('ROBOTS_ALLOW', v.ROBOTS_ALLOW),
  });
}

function loadDriver(v: SettingValues<typeof SLEEP_SETTINGS>): SleepDriverConfig {
  switch (v.SLEEP_DRIVER) {
    case 'command':
      return Object.freeze({ kind: 'command', sleepCommand: v.SLEEP_COMMAND.trim() || undefined, wakeCommand: v.WAKE_COMMAND.trim() || undefined });
    case 'ecs': {
      if (v.ECS_CLUSTER.trim() === '') throw new ConfigError('ECS_CLUSTER', v.ECS_CLUSTER, 'the ECS cluster name or ARN when SLEEP_DRIVER=ecs');
      return Object.freeze({ kind: 'ecs', cluster: v.ECS_CLUSTER.trim(), serviceTemplate: parseServiceTemplate('ECS_SERVICE_TEMPLATE', v.ECS_SERVICE_TEMPLATE) });
    }
    default:
      throw new ConfigError('SLEEP_DRIVER', v.SLEEP_DRIVER, 'command or ecs');
  }
}

/** The template must name each deployment's own services: {deployment} is required, {service} optional, nothing else. */
function parseServiceTemplate(variable: string, raw: string): string {
  const placeholders = [...raw.matchAll(TEMPLATE_PLACEHOLDER)].map((m) => m[1]);
  const sample = ecsServiceName(raw, 'feature-x', 'web');
  if (!placeholders.includes('deployment') || placeholders.some((p) => p !== 'deployment' && p !== 'service') || !ECS_SERVICE_NAME.test(sample)) {
    throw new ConfigError(variable, raw, 'an ECS service name containing {deployment} and optionally {service}, e.g. {deployment}-{service}');
  }
  return raw;
}

function parseRobotsAllow(variable: string, raw: string): readonly string[] | '*' {
  if (raw.trim() === '*') return '*';
  const names = raw.split(',').map((n) => n.trim()).filter((n) => n !== '');
  if (!names.every((n) => DNS_LABEL.test(n))) throw new ConfigError(variable, raw, 'comma-separated deployment names (lowercase DNS labels), or *');
  return Object.freeze(names);
}

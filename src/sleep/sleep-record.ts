import { DNS_LABEL } from '../config/parsers.ts';
import { ECS_SERVICE_NAME } from './ecs-service-name.ts';

/**
 * A deployment's sleep record, the JSON value of `<prefix><deployment>/sleep`
 * (issue #13). While it exists the deployment is not awake:
 * - `sleeping`: a replica or the CLI claimed it and is running the sleep step;
 * - `asleep`: its services are stopped and their keys removed; the record keeps it known;
 * - `waking`: the wake step runs or ran; everyone waits for the listed services' routes.
 * The record is removed once every listed service is routed again and accepts connections.
 */
export interface SleepRecord {
  readonly state: SleepState;
  /** When the record entered this state, ISO-8601. */
  readonly since: string;
  /** Who claimed the running sleep or wake: `<hostname>:<pid>:<random>`. */
  readonly owner?: string;
  /** The services routed when it fell asleep: the wake is done when all of them are routed again. */
  readonly services: readonly string[];
  readonly defaultService?: string;
  /** The last wake: how long it took, when it ended, and why it failed (no hook output: visitors may see this). */
  readonly lastWake?: LastWake;
  /** The ECS driver's desired count per ECS service name before it set them to 0. */
  readonly ecs?: { readonly desiredCounts: Readonly<Record<string, number>> };
}

export type SleepState = 'sleeping' | 'asleep' | 'waking';

export interface LastWake {
  readonly ms?: number;
  readonly at: string;
  readonly error?: string;
}

export type Decoding<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

/** A record lists a deployment's services and a few short strings; far below this. */
export const MAX_SLEEP_RECORD_BYTES = 16 * 1024;
export const MAX_SERVICES = 256;
const MAX_OWNER_LENGTH = 256;
const MAX_ERROR_LENGTH = 500;
/** desiredCount is an int32 in the ECS API; a sleeping deployment never needs more than this. */
const MAX_DESIRED_COUNT = 100_000;
const STATES: ReadonlySet<string> = new Set<SleepState>(['sleeping', 'asleep', 'waking']);
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** The JSON the registry stores; throws on a record the decoder would refuse (a bug, caught before it reaches etcd). */
export function encodeSleepRecord(record: SleepRecord): string {
  const text = JSON.stringify(record);
  const decoded = decodeSleepRecord(text);
  if (!decoded.ok) throw new Error(`refusing to write a sleep record: ${decoded.reason}`);
  return text;
}

/**
 * Validates a record read from etcd, where anyone with write access may have
 * put anything. The result is built only from validated fields. Fields it does
 * not know are dropped rather than refused: during a rolling upgrade a newer
 * replica may add one, and refusing the record would make this replica forget
 * that the deployment is asleep.
 */
export function decodeSleepRecord(text: string): { readonly ok: true; readonly record: SleepRecord } | { readonly ok: false; readonly reason: string } {
  if (Buffer.byteLength(text) > MAX_SLEEP_RECORD_BYTES) return fail(`sleep record is more than ${MAX_SLEEP_RECORD_BYTES} bytes`);
  const json = parseObject(text);
  if (!json.ok) return json;
  const o = json.value;
  if (typeof o.state !== 'string' || !STATES.has(o.state)) return fail(`state ${JSON.stringify(o.state)} is not sleeping, asleep or waking`);
  if (!isIsoTime(o.since)) return fail('since is not an ISO-8601 time');
  if (o.owner !== undefined && !isShortText(o.owner, MAX_OWNER_LENGTH)) return fail(`owner is not text of at most ${MAX_OWNER_LENGTH} characters without control characters`);
  if (!Array.isArray(o.services) || o.services.length > MAX_SERVICES) return fail(`services is not a list of at most ${MAX_SERVICES} service names`);
  const services: string[] = [];
  for (const s of o.services as unknown[]) {
    if (typeof s !== 'string' || !DNS_LABEL.test(s)) return fail(`service ${JSON.stringify(s)} is not a lowercase DNS label`);
    if (!services.includes(s)) services.push(s);
  }
  if (o.defaultService !== undefined && (typeof o.defaultService !== 'string' || !DNS_LABEL.test(o.defaultService))) return fail('defaultService is not a lowercase DNS label');
  let lastWake: LastWake | undefined;
  if (o.lastWake !== undefined) {
    const decoded = decodeLastWakeObject(o.lastWake, true);
    if (!decoded.ok) return fail(`lastWake: ${decoded.reason}`);
    lastWake = decoded.value;
  }
  let ecs: SleepRecord['ecs'];
  if (o.ecs !== undefined) {
    const decoded = decodeDesiredCounts(o.ecs);
    if (!decoded.ok) return fail(`ecs: ${decoded.reason}`);
    ecs = { desiredCounts: decoded.value };
  }
  return {
    ok: true,
    record: {
      state: o.state as SleepState,
      since: o.since,
      ...(o.owner !== undefined ? { owner: o.owner as string } : {}),
      services,
      ...(o.defaultService !== undefined ? { defaultService: o.defaultService } : {}),
      ...(lastWake ? { lastWake } : {}),
      ...(ecs ? { ecs } : {}),
    },
  };
}

/** The value of `<prefix><deployment>/last-wake`: how long the last completed wake took. */
export function encodeLastWake(lastWake: { ms: number; at: string }): string {
  const text = JSON.stringify({ ms: lastWake.ms, at: lastWake.at });
  if (!decodeLastWake(text).ok) throw new Error(`refusing to write last-wake ${text}`);
  return text;
}

export function decodeLastWake(text: string): Decoding<{ readonly ms: number; readonly at: string }> {
  if (text.length > 1024) return fail('last-wake is more than 1024 bytes');
  const json = parseObject(text);
  if (!json.ok) return json;
  const decoded = decodeLastWakeObject(json.value, false);
  if (!decoded.ok) return decoded;
  if (decoded.value.ms === undefined) return fail('last-wake has no ms');
  return { ok: true, value: { ms: decoded.value.ms, at: decoded.value.at } };
}

function decodeLastWakeObject(value: unknown, withError: boolean): Decoding<LastWake> {
  if (!isObject(value)) return fail('not a JSON object');
  const { ms, at, error } = value;
  if (ms !== undefined && !(typeof ms === 'number' && Number.isSafeInteger(ms) && ms >= 0)) return fail('ms is not a whole number of milliseconds');
  if (!isIsoTime(at)) return fail('at is not an ISO-8601 time');
  if (withError && error !== undefined && !isShortText(error, MAX_ERROR_LENGTH)) return fail(`error is not text of at most ${MAX_ERROR_LENGTH} characters without control characters`);
  return { ok: true, value: { ...(ms !== undefined ? { ms } : {}), at, ...(withError && error !== undefined ? { error: error as string } : {}) } };
}

function decodeDesiredCounts(value: unknown): Decoding<Readonly<Record<string, number>>> {
  if (!isObject(value) || !isObject(value.desiredCounts)) return fail('desiredCounts is not a JSON object');
  const entries = Object.entries(value.desiredCounts);
  if (entries.length > MAX_SERVICES) return fail(`more than ${MAX_SERVICES} ECS services`);
  for (const [name, count] of entries) {
    // The name rule also keeps `__proto__` out of the object built below.
    if (!ECS_SERVICE_NAME.test(name)) return fail(`${JSON.stringify(name)} is not an ECS service name`);
    if (!(typeof count === 'number' && Number.isSafeInteger(count) && count >= 0 && count <= MAX_DESIRED_COUNT)) {
      return fail(`desired count of ${name} is not a whole number 0..${MAX_DESIRED_COUNT}`);
    }
  }
  return { ok: true, value: Object.freeze(Object.fromEntries(entries) as Record<string, number>) };
}

function parseObject(text: string): Decoding<Record<string, unknown>> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail('not JSON');
  }
  return isObject(value) ? { ok: true, value } : fail('not a JSON object');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The shape `new Date().toISOString()` writes (offsets allowed), and a real date. */
function isIsoTime(value: unknown): value is string {
  return typeof value === 'string' && ISO_TIME.test(value) && !Number.isNaN(Date.parse(value));
}

function isShortText(value: unknown, max: number): value is string {
  return typeof value === 'string' && value.length <= max && !CONTROL.test(value);
}

function fail(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}

import { isIP } from 'node:net';
import { DNS_LABEL, isHostname } from '../config/parsers.ts';
import { hasControlCharacter } from './control-characters.ts';
import { parseIsoTime } from './iso-time.ts';
import type { KeyRef } from './keys.ts';
import type { SleepRecord } from '../sleep/sleep-record.ts';
import { decodeLastWake, decodeSleepRecord, MAX_SLEEP_RECORD_BYTES } from '../sleep/sleep-record.ts';
import { parseKey } from './keys.ts';

/** A last completed wake as `<deployment>/last-wake` stores it. */
export interface LastWakeValue {
  readonly ms: number;
  readonly at: string;
}

/**
 * A decoded value: a number for `port`, a SleepRecord for `sleep`, a
 * LastWakeValue for `last-wake`, a string for every other field.
 */
export type DecodedValue = string | number | SleepRecord | LastWakeValue;

/** What a registry key/value pair means for the route table, or why it is ignored. */
export type Decoded =
  | { readonly ok: true; readonly ref: KeyRef; readonly value: DecodedValue }
  | { readonly ok: false; readonly ref: KeyRef | undefined; readonly reason: string };

/** Longer values are not anything the registry writes; refuse them before decoding. */
export const MAX_VALUE_BYTES = 1024;

/**
 * Decodes one key for a delete: the reference it removes, or why the key is not
 * one of ours. Names must be DNS labels, since they become parts of host names.
 */
export function decodeKey(prefix: string, key: string): { ok: true; ref: KeyRef } | { ok: false; reason: string } {
  const ref = parseKey(prefix, key);
  if (!ref) return { ok: false, reason: 'not a registry key (see the key layout in the README)' };
  if (!DNS_LABEL.test(ref.deployment)) return { ok: false, reason: `deployment name "${ref.deployment}" is not a lowercase DNS label` };
  if (ref.service !== undefined && !DNS_LABEL.test(ref.service)) {
    return { ok: false, reason: `service name "${ref.service}" is not a lowercase DNS label` };
  }
  return { ok: true, ref };
}

/** Decodes a put. An invalid value still names its ref, so the table can drop the field's old value. */
export function decodeEntry(prefix: string, key: string, value: Uint8Array): Decoded {
  return decodeValue(prefix, key, value.byteLength, () => decodeUtf8(value));
}

/**
 * decodeEntry for a value that travels as a latin1 string, one character per byte
 * (cluster/registry-messages.ts): ASCII, as registry values are, is its own UTF-8
 * text, so the bytes are rebuilt only for a value that is not.
 */
export function decodeLatin1Entry(prefix: string, key: string, value: string): Decoded {
  return decodeValue(prefix, key, value.length, () => (NON_ASCII.test(value) ? decodeUtf8(Buffer.from(value, 'latin1')) : value));
}

/** A key that travels as a latin1 string (see decodeLatin1Entry), as UTF-8 text. */
export function latin1Key(key: string): string {
  return NON_ASCII.test(key) ? Buffer.from(key, 'latin1').toString('utf8') : key;
}

const NON_ASCII = /[^\x00-\x7f]/;

/** `bytes`: the value's size, checked before `text` decodes it (undefined: not UTF-8). */
function decodeValue(prefix: string, key: string, bytes: number, text: () => string | undefined): Decoded {
  const k = decodeKey(prefix, key);
  if (!k.ok) return { ok: false, ref: undefined, reason: k.reason };
  const { ref } = k;
  const what = ref.field === 'sleep' ? 'sleep record: ' : ref.field === 'last-wake' ? 'last-wake: ' : '';
  const bounded = boundedText(bytes, ref.field === 'sleep' ? MAX_SLEEP_RECORD_BYTES : MAX_VALUE_BYTES, text);
  if (!bounded.ok) return { ok: false, ref, reason: `${what}${bounded.reason}` };
  const decoded = bounded.text;
  if (ref.field === 'sleep') {
    const sleep = decodeSleepRecord(decoded);
    return sleep.ok ? { ok: true, ref, value: sleep.record } : { ok: false, ref, reason: `${what}${sleep.reason}` };
  }
  if (ref.field === 'last-wake') {
    const lastWake = decodeLastWake(decoded);
    return lastWake.ok ? { ok: true, ref, value: lastWake.value } : { ok: false, ref, reason: `${what}${lastWake.reason}` };
  }
  const reason = validate(ref, decoded);
  if (reason) return { ok: false, ref, reason };
  return { ok: true, ref, value: ref.field === 'port' ? Number(decoded) : unbracket(decoded) };
}

function validate(ref: KeyRef, text: string): string | undefined {
  switch (ref.field) {
    case 'ip':
      return isIP(unbracket(text)) !== 0 || isHostname(text.toLowerCase()) ? undefined : 'ip is not an IPv4/IPv6 address or host name';
    case 'port': {
      const port = /^\d{1,5}$/.test(text) ? Number(text) : 0;
      return port >= 1 && port <= 65535 ? undefined : 'port is not a decimal number 1..65535';
    }
    case 'created':
    case 'last-request':
      return parseIsoTime(text) === undefined ? `${ref.field} is not an ISO-8601 time` : undefined;
    case 'branch':
      return text === '' || hasControlCharacter(text) ? 'branch is empty or has control characters' : undefined;
    case 'default':
      return DNS_LABEL.test(text) ? undefined : 'default is not a service name (lowercase DNS label)';
    case 'fallback':
      return DNS_LABEL.test(text) ? undefined : 'fallback is not a deployment name (lowercase DNS label)';
    case 'sleep':
    case 'last-wake':
      return undefined; // decoded as JSON in decodeEntry, never here
  }
}

/** `[::1]` and `::1` are the same backend; the table keeps the bare form. */
function unbracket(text: string): string {
  return text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
}

/**
 * Decodes the value of `<deployment>/sleep`. It may be larger than other
 * values (MAX_SLEEP_RECORD_BYTES): it lists the deployment's services.
 */
export function decodeSleepValue(value: Uint8Array): { ok: true; record: SleepRecord } | { ok: false; reason: string } {
  const bounded = boundedText(value.byteLength, MAX_SLEEP_RECORD_BYTES, () => decodeUtf8(value));
  return bounded.ok ? decodeSleepRecord(bounded.text) : bounded;
}

/** Decodes the value of `<deployment>/last-wake`. */
export function decodeLastWakeValue(value: Uint8Array): { ok: true; lastWake: LastWakeValue } | { ok: false; reason: string } {
  const bounded = boundedText(value.byteLength, MAX_VALUE_BYTES, () => decodeUtf8(value));
  if (!bounded.ok) return bounded;
  const decoded = decodeLastWake(bounded.text);
  return decoded.ok ? { ok: true, lastWake: decoded.value } : decoded;
}

/** A value's text, refused when it has more than `max` bytes (checked before decoding) or is not UTF-8 (`text` gives undefined). */
function boundedText(bytes: number, max: number, text: () => string | undefined): { ok: true; text: string } | { ok: false; reason: string } {
  if (bytes > max) return { ok: false, reason: `value is ${bytes} bytes, more than ${max}` };
  const decoded = text();
  return decoded === undefined ? { ok: false, reason: 'value is not UTF-8 text' } : { ok: true, text: decoded };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(value: Uint8Array): string | undefined {
  try {
    return utf8.decode(value);
  } catch {
    return undefined;
  }
}

/**
 * Byte classes and small comparisons shared by the fast path's framing
 * parsers. Tables are built once; the parsers look bytes up instead of
 * running regular expressions on the hot path.
 */

export const HT = 0x09;
export const LF = 0x0a;
export const CR = 0x0d;
export const SP = 0x20;
export const COLON = 0x3a;
export const SEMICOLON = 0x3b;
export const EQUALS = 0x3d;
export const SLASH = 0x2f;

function table(accepts: (byte: number) => boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let b = 0; b < 256; b++) t[b] = accepts(b) ? 1 : 0;
  return t;
}

/** RFC 9110 §5.6.2 tchar: the bytes of a method, a header name, a chunk-extension name. */
export const IS_TOKEN = table((b) => (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(b)));

/**
 * RFC 9110 §5.5 field-value bytes: visible ASCII, SP, HT and obs-text (0x80–0xFF, which llhttp
 * accepts and Node decodes as latin1). No other control byte: NUL, bare CR, bare LF, DEL.
 */
export const IS_FIELD_VALUE = table((b) => b === HT || (b >= 0x20 && b <= 0x7e) || b >= 0x80);

/**
 * The bytes the fast path takes in an origin-form request-target: visible ASCII only. Anything
 * else (obs-text, controls, `#`) is rare enough to leave to node:http, which then decides.
 */
export const IS_TARGET = table((b) => b > 0x20 && b < 0x7f && b !== 0x23);

/** 0–15 for a hex digit, 255 for anything else. */
export const HEX_VALUE = (() => {
  const t = new Uint8Array(256).fill(255);
  for (let d = 0; d < 10; d++) t[0x30 + d] = d;
  for (let d = 0; d < 6; d++) t[0x41 + d] = t[0x61 + d] = 10 + d;
  return t;
})();

/**
 * Whether `name` equals `lower` ignoring ASCII case; `lower` is a lower-case literal of letters
 * and `-`. OR-ing 0x20 folds A–Z onto a–z and maps no other token byte onto a letter or `-`.
 */
export function equalsIgnoringCase(name: string, lower: string): boolean {
  if (name.length !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    if ((name.charCodeAt(i) | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Parses a Content-Length value as llhttp would and the fast path accepts: one or more ASCII
 * digits and nothing else (OWS is already trimmed), at most Number.MAX_SAFE_INTEGER.
 * Returns -1 for anything else (lists, signs, inner spaces, empty, too large).
 */
export function parseContentLength(value: string): number {
  if (value.length === 0 || value.length > 16) return -1;
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const d = value.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n <= Number.MAX_SAFE_INTEGER ? n : -1;
}

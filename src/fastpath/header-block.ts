import { COLON, CR, HT, IS_FIELD_VALUE, IS_TOKEN, LF, SP } from './header-tokens.ts';

/**
 * Scans the header fields of an HTTP/1 message head (RFC 9112 §5) up to and including the empty
 * line that ends it. Strict on purpose: it reports `bad` for anything llhttp might read
 * differently (obs-fold, bare CR or LF, control bytes, a space before the colon, a name that is
 * not a token), and the callers give such messages to node:http or drop them.
 */
export type HeaderBlockResult =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'bad'; readonly reason: string }
  | { readonly kind: 'block'; readonly headers: string[]; readonly end: number };

export const INCOMPLETE = { kind: 'incomplete' } as const;

/**
 * Node keeps the first 1023 header fields and silently drops the rest (its maxHeadersCount of 2000
 * counts names and values, checked per batch of 32 fields); the fast path takes up to 1000 and
 * leaves longer heads to node:http, so it never forwards a field Node would not have seen.
 */
export const MAX_HEADER_FIELDS = 1000;

/**
 * Scans fields from `pos`. `limit` is the offset the head must end by (its start plus the largest
 * head allowed): reaching it without the empty line is `bad`, running out of bytes before it is
 * `incomplete`. More than MAX_HEADER_FIELDS fields are `bad`. Headers come back as Node's rawHeaders do:
 * `[name, value, ...]`, names as sent, values without leading and trailing OWS, latin1-decoded.
 */
export function scanHeaderBlock(buf: Buffer, pos: number, limit: number): HeaderBlockResult {
  const stop = Math.min(buf.length, limit);
  const headers: string[] = [];
  let p = pos;
  for (;;) {
    if (p >= stop) return outOfBytes(buf, limit);
    const first = buf[p]!;
    if (first === CR) {
      if (p + 1 >= stop) return outOfBytes(buf, limit);
      if (buf[p + 1] !== LF) return bad('a CR not followed by LF ends the head');
      return { kind: 'block', headers, end: p + 2 };
    }
    if (first === SP || first === HT) return bad('a header line starts with whitespace (obs-fold)');
    const nameStart = p;
    while (p < stop && IS_TOKEN[buf[p]!] === 1) p++;
    if (p >= stop) return outOfBytes(buf, limit);
    if (buf[p] !== COLON) return bad(badNameReason(buf[p]!));
    if (p === nameStart) return bad('a header line has an empty name');
    const nameEnd = p++;
    while (p < stop && (buf[p] === SP || buf[p] === HT)) p++;
    const valueStart = p;
    while (p < stop && IS_FIELD_VALUE[buf[p]!] === 1) p++;
    if (p >= stop) return outOfBytes(buf, limit);
    if (buf[p] !== CR) return bad(buf[p] === LF ? 'a header line ends in a bare LF' : `a header value holds control byte 0x${buf[p]!.toString(16)}`);
    if (p + 1 >= stop) return outOfBytes(buf, limit);
    if (buf[p + 1] !== LF) return bad('a header line has a CR not followed by LF');
    let valueEnd = p;
    while (valueEnd > valueStart && (buf[valueEnd - 1] === SP || buf[valueEnd - 1] === HT)) valueEnd--;
    if (headers.length >= MAX_HEADER_FIELDS * 2) return bad(`more than ${MAX_HEADER_FIELDS} header fields`);
    headers.push(buf.toString('latin1', nameStart, nameEnd), buf.toString('latin1', valueStart, valueEnd));
    p += 2;
  }
}

/** Out of bytes before the head ended: wait for more, unless the head may not grow any further. */
export function outOfBytes(buf: Buffer, limit: number): HeaderBlockResult {
  return buf.length >= limit ? bad('the head is larger than the fast path takes') : INCOMPLETE;
}

function bad(reason: string): HeaderBlockResult {
  return { kind: 'bad', reason };
}

function badNameReason(byte: number): string {
  if (byte === SP || byte === HT) return 'whitespace between a header name and its colon';
  if (byte === LF) return 'a header line ends in a bare LF';
  if (byte === CR) return 'a header line without a colon';
  return `a header name holds byte 0x${byte.toString(16)}, which is not a token character`;
}

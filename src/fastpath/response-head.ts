import { CONNECTION_CLOSE, CONNECTION_KEEP_ALIVE, CONNECTION_UPGRADE, connectionOptions } from './connection-options.ts';
import { INCOMPLETE, outOfBytes, scanHeaderBlock } from './header-block.ts';
import { CR, IS_FIELD_VALUE, LF, SP, equalsIgnoringCase, parseContentLength } from './header-tokens.ts';

/**
 * Reads an HTTP/1 response head from a backend for the fast path and works out how its body is
 * framed (RFC 9112 §6.3). Backends are ours but can be broken: anything llhttp might frame
 * differently is `invalid`, and the fast path answers 502 and drops that upstream socket.
 */
export type ResponseFraming =
  | { readonly kind: 'length'; readonly length: number }
  | { readonly kind: 'chunked' }
  /** Read until the backend closes. */
  | { readonly kind: 'close' }
  /** HEAD request, 1xx, 204, 304: no body whatever the headers say. */
  | { readonly kind: 'none' };

export interface ResponseHead {
  readonly statusCode: number;
  readonly versionMinor: 0 | 1;
  /** Raw header lines as [name, value, ...]: names as sent, values with OWS trimmed (as Node's rawHeaders). */
  readonly headers: string[];
  readonly framing: ResponseFraming;
  /** The backend keeps the connection open after this response (so the upstream socket can go back to the pool). */
  readonly keepAlive: boolean;
  readonly headEnd: number;
}

export type ResponseHeadResult =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'invalid'; readonly reason: string }
  | { readonly kind: 'response'; readonly head: ResponseHead };

const NONE: ResponseFraming = { kind: 'none' };
const CHUNKED: ResponseFraming = { kind: 'chunked' };
const CLOSE: ResponseFraming = { kind: 'close' };

/** "HTTP/1." then the minor digit and SP. */
const VERSION_PREFIX = Buffer.from('HTTP/1.', 'latin1');

/**
 * Parses the response head at `start` (at most `maxHeadBytes` long) to a request made with
 * `requestMethod`. A 1xx interim response (100, 102, 103) comes back with framing `none`: the
 * real response follows as another head. 101 is `invalid`: the fast path never asks to upgrade.
 */
export function parseResponseHead(buf: Buffer, start: number, maxHeadBytes: number, requestMethod: string): ResponseHeadResult {
  const limit = start + maxHeadBytes;
  const stop = Math.min(buf.length, limit);
  let p = start;

  for (let i = 0; i < VERSION_PREFIX.length; i++, p++) {
    if (p >= stop) return waitOrInvalid(buf, limit);
    if (buf[p] !== VERSION_PREFIX[i]) return invalid('the status line does not start with HTTP/1.0 or HTTP/1.1');
  }
  if (p >= stop) return waitOrInvalid(buf, limit);
  const minorDigit = buf[p++];
  if (minorDigit !== 0x30 && minorDigit !== 0x31) return invalid('the status line does not start with HTTP/1.0 or HTTP/1.1');
  const versionMinor = minorDigit === 0x31 ? 1 : 0;
  if (p >= stop) return waitOrInvalid(buf, limit);
  if (buf[p++] !== SP) return invalid('no single space after the HTTP version');

  let statusCode = 0;
  for (let i = 0; i < 3; i++, p++) {
    if (p >= stop) return waitOrInvalid(buf, limit);
    const d = buf[p]! - 0x30;
    if (d < 0 || d > 9) return invalid('the status code is not three digits');
    statusCode = statusCode * 10 + d;
  }
  if (statusCode < 100 || statusCode > 599) return invalid(`status code ${statusCode} is outside 100–599`);
  if (statusCode === 101) return invalid('101 Switching Protocols to a request that asked for no upgrade');
  if (p >= stop) return waitOrInvalid(buf, limit);
  if (buf[p] === SP) {
    p++;
    while (p < stop && IS_FIELD_VALUE[buf[p]!] === 1) p++;
    if (p >= stop) return waitOrInvalid(buf, limit);
  }
  if (buf[p++] !== CR) return invalid('the status line holds a control byte or does not end in CRLF');
  if (p >= stop) return waitOrInvalid(buf, limit);
  if (buf[p++] !== LF) return invalid('the status line ends in a CR not followed by LF');

  const block = scanHeaderBlock(buf, p, limit);
  if (block.kind === 'incomplete') return INCOMPLETE;
  if (block.kind === 'bad') return invalid(block.reason);
  return framed(statusCode, versionMinor, block.headers, block.end, requestMethod);
}

/** RFC 9112 §6.3, in its order, once the whole head is there. */
function framed(statusCode: number, versionMinor: 0 | 1, headers: string[], headEnd: number, requestMethod: string): ResponseHeadResult {
  let contentLength: string | undefined;
  let transferEncoding: string | undefined;
  let connection = 0;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    switch (name.length) {
      case 10:
        if (equalsIgnoringCase(name, 'connection')) connection |= connectionOptions(headers[i + 1]!);
        break;
      case 14:
        if (equalsIgnoringCase(name, 'content-length')) {
          if (contentLength !== undefined) return invalid('more than one Content-Length');
          contentLength = headers[i + 1]!;
        }
        break;
      case 16:
        if (equalsIgnoringCase(name, 'proxy-connection')) return invalid('Proxy-Connection in a response');
        break;
      case 17:
        if (equalsIgnoringCase(name, 'transfer-encoding')) {
          if (transferEncoding !== undefined) return invalid('more than one Transfer-Encoding');
          transferEncoding = headers[i + 1]!;
        }
        break;
    }
  }
  if ((connection & CONNECTION_UPGRADE) !== 0) return invalid('Connection: upgrade in a response');
  const reusable = (connection & CONNECTION_CLOSE) === 0 && (versionMinor === 1 || (connection & CONNECTION_KEEP_ALIVE) !== 0);

  // The framing headers are checked even where the status means no body: llhttp rejects a bad pair there too.
  let length = -1;
  if (transferEncoding !== undefined) {
    if (contentLength !== undefined) return invalid('both Content-Length and Transfer-Encoding');
    if (!equalsIgnoringCase(transferEncoding, 'chunked')) return invalid(`Transfer-Encoding other than chunked: ${transferEncoding}`);
  } else if (contentLength !== undefined) {
    length = parseContentLength(contentLength);
    if (length < 0) return invalid(`Content-Length is not a plain decimal number: ${contentLength}`);
  }
  if (statusCode < 200 || statusCode === 204 || statusCode === 304 || requestMethod === 'HEAD') {
    return response(statusCode, versionMinor, headers, NONE, statusCode < 200 || reusable, headEnd);
  }
  if (transferEncoding !== undefined) return response(statusCode, versionMinor, headers, CHUNKED, reusable, headEnd);
  if (length >= 0) return response(statusCode, versionMinor, headers, { kind: 'length', length }, reusable, headEnd);
  return response(statusCode, versionMinor, headers, CLOSE, false, headEnd);
}

function response(statusCode: number, versionMinor: 0 | 1, headers: string[], framing: ResponseFraming, keepAlive: boolean, headEnd: number): ResponseHeadResult {
  return { kind: 'response', head: { statusCode, versionMinor, headers, framing, keepAlive, headEnd } };
}

function waitOrInvalid(buf: Buffer, limit: number): ResponseHeadResult {
  const r = outOfBytes(buf, limit);
  return r.kind === 'incomplete' ? INCOMPLETE : invalid(r.kind === 'bad' ? r.reason : '');
}

function invalid(reason: string): ResponseHeadResult {
  return { kind: 'invalid', reason };
}

import { CONNECTION_CLOSE, CONNECTION_KEEP_ALIVE, CONNECTION_UPGRADE, connectionOptions } from './connection-options.ts';
import { INCOMPLETE, outOfBytes, scanHeaderBlock } from './header-block.ts';
import { CR, IS_TARGET, IS_TOKEN, LF, SLASH, SP, equalsIgnoringCase, parseContentLength } from './header-tokens.ts';

/**
 * Reads an HTTP/1 request head for the fast path (issue #16). The rule is conservative: a head
 * comes back as `request` only when node:http's llhttp would frame it the same way (same method,
 * target, raw headers, body length and next-request offset); everything odd, invalid or merely
 * unusual is `handover`, and node:http parses it from `start` as today. The differential tests in
 * test/faults/fastpath-differential.test.ts hold this against Node's own parser.
 */
export interface RequestHead {
  /** As sent (one of the methods the fast path takes). */
  readonly method: string;
  /** The origin-form request-target as sent. */
  readonly target: string;
  /** HTTP/1.0 or HTTP/1.1; anything else is handed over. */
  readonly versionMinor: 0 | 1;
  /** Raw header lines as [name, value, name, value, ...]: names as sent, values with OWS trimmed (as Node's rawHeaders). */
  readonly headers: string[];
  /** The single Host value (two Host headers are handed over); undefined only for HTTP/1.0. */
  readonly host: string | undefined;
  /** 0 for no body; a number for Content-Length; 'chunked' for Transfer-Encoding: chunked (only exactly that). */
  readonly body: number | 'chunked';
  /** Whether the connection stays open after this request (HTTP/1.1 unless Connection: close; HTTP/1.0 only with keep-alive). */
  readonly keepAlive: boolean;
  /** Offset just after the CRLFCRLF that ends the head. */
  readonly headEnd: number;
}

export type RequestHeadResult =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'handover'; readonly reason: string }
  | { readonly kind: 'request'; readonly head: RequestHead };

/**
 * Methods the fast path forwards, interned so a parsed head allocates no method string. CONNECT
 * (tunnels), TRACE and the WebDAV and other methods llhttp knows are left to node:http.
 */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'];
const METHOD_BYTES = METHODS.map((m) => Buffer.from(m, 'latin1'));

/** "HTTP/1." then the minor digit, CR, LF. */
const VERSION_PREFIX = Buffer.from('HTTP/1.', 'latin1');

/** Parses the request head that starts at `start`; see RequestHeadResult. The head may be at most `maxHeadBytes` long, request line included. */
export function parseRequestHead(buf: Buffer, start: number, maxHeadBytes: number): RequestHeadResult {
  const limit = start + maxHeadBytes;
  const stop = Math.min(buf.length, limit);
  let p = start;

  while (p < stop && IS_TOKEN[buf[p]!] === 1) p++;
  if (p >= stop) return waitOrHandover(buf, limit);
  if (buf[p] !== SP || p === start) return handover('the request line does not start with a method and one space');
  const method = knownMethod(buf, start, p);
  if (method === undefined) return handover(`method ${buf.toString('latin1', start, p)} is left to node:http`);

  const targetStart = ++p;
  if (p >= stop) return waitOrHandover(buf, limit);
  if (buf[p] !== SLASH) return handover('the request-target is not origin-form (absolute-form, authority-form and * are left to node:http)');
  while (p < stop && IS_TARGET[buf[p]!] === 1) p++;
  if (p >= stop) return waitOrHandover(buf, limit);
  if (buf[p] !== SP) return handover(`the request-target holds byte 0x${buf[p]!.toString(16)}, which the fast path leaves to node:http`);
  const targetEnd = p++;

  for (let i = 0; i < VERSION_PREFIX.length; i++, p++) {
    if (p >= stop) return waitOrHandover(buf, limit);
    if (buf[p] !== VERSION_PREFIX[i]) return handover('the HTTP version is not HTTP/1.0 or HTTP/1.1');
  }
  if (p >= stop) return waitOrHandover(buf, limit);
  const minorDigit = buf[p++];
  if (minorDigit !== 0x30 && minorDigit !== 0x31) return handover('the HTTP version is not HTTP/1.0 or HTTP/1.1');
  const versionMinor = minorDigit === 0x31 ? 1 : 0;
  if (p >= stop) return waitOrHandover(buf, limit);
  if (buf[p++] !== CR) return handover('the request line does not end right after the HTTP version with CRLF');
  if (p >= stop) return waitOrHandover(buf, limit);
  if (buf[p++] !== LF) return handover('the request line ends in a CR not followed by LF');

  const block = scanHeaderBlock(buf, p, limit);
  if (block.kind === 'incomplete') return INCOMPLETE;
  if (block.kind === 'bad') return handover(block.reason);
  return framed(method, buf.toString('latin1', targetStart, targetEnd), versionMinor, block.headers, block.end);
}

/** Applies the header rules once the whole head is there. */
function framed(method: string, target: string, versionMinor: 0 | 1, headers: string[], headEnd: number): RequestHeadResult {
  let host: string | undefined;
  let hosts = 0;
  let contentLength: string | undefined;
  let transferEncoding: string | undefined;
  let connection = 0;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    const value = headers[i + 1]!;
    switch (name.length) {
      case 4:
        if (equalsIgnoringCase(name, 'host')) {
          host = value;
          hosts++;
        }
        break;
      case 6:
        if (equalsIgnoringCase(name, 'expect')) return handover('Expect is left to node:http');
        break;
      case 7:
        if (equalsIgnoringCase(name, 'upgrade')) return handover('Upgrade is left to node:http');
        break;
      case 10:
        if (equalsIgnoringCase(name, 'connection')) connection |= connectionOptions(value);
        break;
      case 14:
        if (equalsIgnoringCase(name, 'content-length')) {
          if (contentLength !== undefined) return handover('more than one Content-Length');
          contentLength = value;
        }
        break;
      case 16:
        // llhttp reads Proxy-Connection as Connection; too rare to be worth following.
        if (equalsIgnoringCase(name, 'proxy-connection')) return handover('Proxy-Connection is left to node:http');
        break;
      case 17:
        if (equalsIgnoringCase(name, 'transfer-encoding')) {
          if (transferEncoding !== undefined) return handover('more than one Transfer-Encoding');
          transferEncoding = value;
        }
        break;
    }
  }
  if (hosts > 1) return handover('more than one Host');
  if (host === undefined ? versionMinor === 1 : host === '') return handover('an HTTP/1.1 request without a Host, or an empty Host');
  if ((connection & CONNECTION_UPGRADE) !== 0) return handover('Connection: upgrade is left to node:http');

  let body: number | 'chunked' = 0;
  if (transferEncoding !== undefined) {
    // SECURITY: both framings at once is the classic smuggling vector (RFC 9112 §6.3 item 3).
    if (contentLength !== undefined) return handover('both Content-Length and Transfer-Encoding');
    if (versionMinor === 0) return handover('Transfer-Encoding in an HTTP/1.0 request');
    if (!equalsIgnoringCase(transferEncoding, 'chunked')) return handover(`Transfer-Encoding other than chunked: ${transferEncoding}`);
    body = 'chunked';
  } else if (contentLength !== undefined) {
    body = parseContentLength(contentLength);
    if (body < 0) return handover(`Content-Length is not a plain decimal number: ${contentLength}`);
  }

  const keepAlive = (connection & CONNECTION_CLOSE) === 0 && (versionMinor === 1 || (connection & CONNECTION_KEEP_ALIVE) !== 0);
  return { kind: 'request', head: { method, target, versionMinor, headers, host, body, keepAlive, headEnd } };
}

/** One of METHODS when buf[start..end) spells it exactly (methods are case-sensitive). */
function knownMethod(buf: Buffer, start: number, end: number): string | undefined {
  const length = end - start;
  for (let m = 0; m < METHOD_BYTES.length; m++) {
    const bytes = METHOD_BYTES[m]!;
    if (bytes.length !== length) continue;
    let i = 0;
    while (i < length && buf[start + i] === bytes[i]) i++;
    if (i === length) return METHODS[m];
  }
  return undefined;
}

function waitOrHandover(buf: Buffer, limit: number): RequestHeadResult {
  const r = outOfBytes(buf, limit);
  return r.kind === 'incomplete' ? INCOMPLETE : handover(r.kind === 'bad' ? r.reason : '');
}

function handover(reason: string): RequestHeadResult {
  return { kind: 'handover', reason };
}

// STUB by fastpath-io, replaced by fastpath-parse's parser at merge.
export type ResponseFraming =
  | { readonly kind: 'length'; readonly length: number }
  | { readonly kind: 'chunked' }
  | { readonly kind: 'close' }
  | { readonly kind: 'none' };
export interface ResponseHead {
  readonly statusCode: number;
  readonly versionMinor: 0 | 1;
  readonly headers: string[];
  readonly framing: ResponseFraming;
  readonly keepAlive: boolean;
  readonly headEnd: number;
}
export type ResponseHeadResult =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'invalid'; readonly reason: string }
  | { readonly kind: 'response'; readonly head: ResponseHead };

const invalid = (reason: string): ResponseHeadResult => ({ kind: 'invalid', reason });

export function parseResponseHead(buf: Buffer, start: number, maxHeadBytes: number, requestMethod: string): ResponseHeadResult {
  const end = buf.indexOf('\r\n\r\n', start, 'latin1');
  if (end === -1) return buf.length - start > maxHeadBytes ? invalid('head too large') : { kind: 'incomplete' };
  const headEnd = end + 4;
  const lines = buf.toString("latin1", start, end).split('\r\n');
  if (/[\r\n]/.test(lines.join(''))) return invalid('bare CR or LF');
  const m = /^HTTP\/1\.([01]) (\d{3})(?: [^\x00-\x08\x0a-\x1f\x7f]*)?$/.exec(lines[0]!);
  if (!m) return invalid('status line');
  const statusCode = Number(m[2]);
  if (statusCode === 101 || statusCode < 100) return invalid('status');
  const headers: string[] = [];
  let length: number | undefined;
  let chunked = false;
  let close = false;
  let keepAliveToken = false;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0) return invalid('header line');
    const name = line.slice(0, colon);
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) return invalid('header name');
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) return invalid('control byte');
    headers.push(name, value);
    const lower = name.toLowerCase();
    if (lower === 'content-length') {
      if (!/^\d{1,15}$/.test(value) || (length !== undefined && length !== Number(value))) return invalid('content-length');
      length = Number(value);
    } else if (lower === 'transfer-encoding') {
      chunked = /(^|,)\s*chunked\s*$/i.test(value);
      if (!chunked) return invalid('transfer-encoding');
    } else if (lower === 'connection') {
      for (const t of value.toLowerCase().split(',')) {
        if (t.trim() === 'close') close = true;
        if (t.trim() === 'keep-alive') keepAliveToken = true;
      }
    }
  }
  if (chunked && length !== undefined) return invalid('both framings');
  const versionMinor = m[1] === '1' ? 1 : 0;
  const framing: ResponseFraming =
    requestMethod === 'HEAD' || statusCode < 200 || statusCode === 204 || statusCode === 304
      ? { kind: 'none' }
      : chunked
        ? { kind: 'chunked' }
        : length !== undefined
          ? { kind: 'length', length }
          : { kind: 'close' };
  return { kind: 'response', head: { statusCode, versionMinor, headers, framing, keepAlive: !close && (versionMinor === 1 || keepAliveToken) && framing.kind !== 'close', headEnd } };
}

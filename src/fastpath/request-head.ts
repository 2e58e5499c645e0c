// STUB by fastpath-io, replaced by fastpath-parse's parser at merge. Conservative: hands over anything unusual.
export interface RequestHead {
  readonly method: string;
  readonly target: string;
  readonly versionMinor: 0 | 1;
  readonly headers: string[];
  readonly host: string | undefined;
  readonly body: number | 'chunked';
  readonly keepAlive: boolean;
  readonly headEnd: number;
}
export type RequestHeadResult =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'handover'; readonly reason: string }
  | { readonly kind: 'request'; readonly head: RequestHead };

const handover = (reason: string): RequestHeadResult => ({ kind: 'handover', reason });

export function parseRequestHead(buf: Buffer, start: number, maxHeadBytes: number): RequestHeadResult {
  const end = buf.indexOf('\r\n\r\n', start, 'latin1');
  if (end === -1) return buf.length - start > maxHeadBytes ? handover('head too large') : { kind: 'incomplete' };
  const headEnd = end + 4;
  if (headEnd - start > maxHeadBytes) return handover('head too large');
  const text = buf.toString("latin1", start, end);
  const lines = text.split('\r\n');
  if (/[\r\n]/.test(lines.join(''))) return handover('bare CR or LF');
  const m = /^([A-Z]+) (\/[!-~]*) HTTP\/1\.([01])$/.exec(lines[0]!);
  if (!m || m[1] === 'CONNECT') return handover('request line');
  const headers: string[] = [];
  let host: string | undefined;
  let hosts = 0;
  let length: number | undefined;
  let chunked = false;
  let close = false;
  let keepAliveToken = false;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0) return handover('header line');
    const name = line.slice(0, colon);
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) return handover('header name');
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) return handover('control byte');
    headers.push(name, value);
    const lower = name.toLowerCase();
    if (lower === 'host') {
      host = value;
      hosts++;
    } else if (lower === 'content-length') {
      if (length !== undefined || !/^\d{1,15}$/.test(value)) return handover('content-length');
      length = Number(value);
    } else if (lower === 'transfer-encoding') {
      if (chunked || value.toLowerCase() !== 'chunked') return handover('transfer-encoding');
      chunked = true;
    } else if (lower === 'expect' || lower === 'upgrade') return handover(lower);
    else if (lower === 'connection') {
      for (const t of value.toLowerCase().split(',')) {
        const token = t.trim();
        if (token === 'upgrade') return handover('connection upgrade');
        if (token === 'close') close = true;
        if (token === 'keep-alive') keepAliveToken = true;
      }
    }
  }
  if (headers.length / 2 > 2000) return handover('too many headers');
  if (hosts > 1 || (hosts === 0 && m[3] === '1')) return handover('host');
  if (chunked && length !== undefined) return handover('both framings');
  const versionMinor = m[3] === '1' ? 1 : 0;
  return {
    kind: 'request',
    head: { method: m[1]!, target: m[2]!, versionMinor, headers, host, body: chunked ? 'chunked' : (length ?? 0), keepAlive: !close && (versionMinor === 1 || keepAliveToken), headEnd },
  };
}

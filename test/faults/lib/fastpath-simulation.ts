/**
 * Runs the fast path's pure framing over a whole byte stream the way the fast path uses it, so the
 * differential tests can compare the outcome with what Node's parser made of the same bytes.
 */
import { ChunkedScanner } from '../../../src/fastpath/chunked.ts';
import { parseRequestHead } from '../../../src/fastpath/request-head.ts';
import type { RequestHead } from '../../../src/fastpath/request-head.ts';
import { parseResponseHead } from '../../../src/fastpath/response-head.ts';
import type { ResponseHead } from '../../../src/fastpath/response-head.ts';

/** complete: the whole body is in the stream; truncated: the stream ends inside it; error: the chunked scanner refused it. */
export type BodyState = 'complete' | 'truncated' | 'error';

export interface FramedBody {
  readonly state: BodyState;
  /** The decoded body as hex (chunked bodies de-chunked), only when complete. */
  readonly body: string;
  readonly rawTrailers: string[];
  /** Offset just after the body, only when complete. */
  readonly end: number;
}

export interface FramedRequest {
  readonly head: RequestHead;
  readonly body: FramedBody;
}

/** The requests the fast path frames, and the offset it would hand the connection over at (undefined: it never does). */
export function frameRequests(buf: Buffer, maxHeadBytes: number): { requests: FramedRequest[]; handoverAt: number | undefined } {
  const requests: FramedRequest[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const r = parseRequestHead(buf, pos, maxHeadBytes);
    // An incomplete head at the end of the stream goes to node:http too, which answers it as it always did.
    if (r.kind !== 'request') return { requests, handoverAt: pos };
    const body = frameBody(buf, r.head.headEnd, r.head.body);
    requests.push({ head: r.head, body });
    if (body.state !== 'complete' || !r.head.keepAlive) break;
    pos = body.end;
  }
  return { requests, handoverAt: undefined };
}

export interface FramedResponse {
  readonly interim: number[];
  readonly head: ResponseHead;
  readonly body: FramedBody;
}

/** The response the fast path frames from a backend's bytes, or why it does not. */
export function frameResponse(buf: Buffer, maxHeadBytes: number, method: string): FramedResponse | 'invalid' | 'incomplete' {
  const interim: number[] = [];
  let pos = 0;
  for (;;) {
    const r = parseResponseHead(buf, pos, maxHeadBytes, method);
    if (r.kind !== 'response') return r.kind;
    if (r.head.statusCode >= 200) {
      const f = r.head.framing;
      const body =
        f.kind === 'none' ? complete(buf, r.head.headEnd, r.head.headEnd) :
        f.kind === 'close' ? complete(buf, r.head.headEnd, buf.length) :
        frameBody(buf, r.head.headEnd, f.kind === 'chunked' ? 'chunked' : f.length);
      return { interim, head: r.head, body };
    }
    interim.push(r.head.statusCode);
    pos = r.head.headEnd;
  }
}

function frameBody(buf: Buffer, start: number, framing: number | 'chunked'): FramedBody {
  if (framing !== 'chunked') return start + framing <= buf.length ? complete(buf, start, start + framing) : TRUNCATED;
  const scan = new ChunkedScanner().scan(buf, start);
  if ('error' in scan) return { state: 'error', body: '', rawTrailers: [], end: -1 };
  if (!scan.done) return TRUNCATED;
  const { data, trailers } = dechunk(buf.toString('latin1', start, start + scan.consumed));
  return { state: 'complete', body: Buffer.from(data, 'latin1').toString('hex'), rawTrailers: trailers, end: start + scan.consumed };
}

const TRUNCATED: FramedBody = { state: 'truncated', body: '', rawTrailers: [], end: -1 };

function complete(buf: Buffer, start: number, end: number): FramedBody {
  return { state: 'complete', body: buf.toString('hex', start, end), rawTrailers: [], end };
}

/** A plain de-chunker, independent of ChunkedScanner, for bodies the scanner has accepted. */
export function dechunk(raw: string): { data: string; trailers: string[] } {
  let data = '';
  let p = 0;
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', p);
    const size = parseInt(raw.slice(p, lineEnd).split(';')[0]!, 16);
    p = lineEnd + 2;
    if (size === 0) break;
    data += raw.slice(p, p + size);
    p += size + 2;
  }
  const trailers: string[] = [];
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', p);
    if (lineEnd === p) break;
    const line = raw.slice(p, lineEnd);
    const colon = line.indexOf(':');
    trailers.push(line.slice(0, colon), line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, ''));
    p = lineEnd + 2;
  }
  return { data, trailers };
}

import { STATUS_CODES } from 'node:http';
import { connectionNamed, IS_HOP_BY_HOP } from '../proxy/hop-by-hop.ts';
import { FALLBACK_HEADER } from '../proxy/proxy-handler.ts';
import { ROBOTS_HEADER, ROBOTS_VALUE } from '../proxy/robots.ts';
import { httpDate } from './http-date.ts';
import type { ResponseHead } from './response-head.ts';

/** What the proxy adds to a backend's response, known before it arrives. */
export interface ResponseAdditions {
  /** X-Robots-Tag: noindex (ROBOTS_ALLOW does not list the deployment). */
  readonly noindex: boolean;
  /** X-Branch-Proxy-Fallback: the base that served it. */
  readonly servedBy: string | undefined;
}

/** Also dropped from responses by the other path (src/proxy/h2-headers.ts), so clients see the same headers on both. */
const DROPPED = 'http2-settings';

/**
 * The head sent to the client for a backend's final response: its status and
 * end-to-end headers as the backend sent them, the proxy's own headers (unless
 * the backend set them, as the other path lets it), and what Node's server adds:
 * `Date`, and `Connection: keep-alive` + `Keep-Alive` or `Connection: close`.
 * A chunked body is passed through unchanged, so it keeps `Transfer-Encoding: chunked`.
 */
export function clientResponseHead(head: ResponseHead, reason: string, add: ResponseAdditions, close: boolean, keepAliveLine: string): string {
  const raw = head.headers;
  let connection: string | undefined;
  let hasDate = false;
  let hasRobots = false;
  let hasFallback = false;
  const lower: string[] = new Array(raw.length / 2);
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    lower[i / 2] = name;
    if (name === 'connection') connection = connection === undefined ? raw[i + 1]! : `${connection}, ${raw[i + 1]!}`;
    else if (name === 'date') hasDate = true;
    else if (name === ROBOTS_HEADER) hasRobots = true;
    else if (name === FALLBACK_HEADER) hasFallback = true;
  }
  const named = connectionNamed(connection);
  let out = `HTTP/1.1 ${head.statusCode} ${reason === '' ? (STATUS_CODES[head.statusCode] ?? 'unknown') : reason}\r\n`;
  for (let i = 0; i < raw.length; i += 2) {
    const name = lower[i / 2]!;
    if (IS_HOP_BY_HOP.has(name) || name === DROPPED || (named !== undefined && named.includes(name))) continue;
    out += `${raw[i]}: ${raw[i + 1]}\r\n`;
  }
  if (add.noindex && !hasRobots) out += `${ROBOTS_HEADER}: ${ROBOTS_VALUE}\r\n`;
  if (add.servedBy !== undefined && !hasFallback) out += `${FALLBACK_HEADER}: ${add.servedBy}\r\n`;
  if (!hasDate) out += `date: ${httpDate()}\r\n`;
  if (head.framing.kind === 'chunked') out += 'transfer-encoding: chunked\r\n';
  return out + (close ? 'connection: close\r\n\r\n' : `connection: keep-alive\r\n${keepAliveLine}\r\n\r\n`);
}

/** An error page or other answer of the proxy's own, with the same status line and additions as Node's server makes. */
export function ownResponseHead(status: number, headers: Readonly<Record<string, string | number>>, close: boolean, keepAliveLine: string): string {
  let out = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'unknown'}\r\n`;
  for (const name in headers) out += `${name}: ${headers[name]}\r\n`;
  out += `date: ${httpDate()}\r\n`;
  return out + (close ? 'connection: close\r\n\r\n' : `connection: keep-alive\r\n${keepAliveLine}\r\n\r\n`);
}

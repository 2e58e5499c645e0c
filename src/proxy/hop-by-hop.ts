import type { IncomingHttpHeaders } from 'node:http';
import { isPseudoHeader } from './h2-headers.ts';

/** RFC 9110 §7.6.1: headers that describe one connection and must not be forwarded. */
const HOP_BY_HOP = ['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization'];
/** Lower-case names, for the fast path's raw header lists too (src/fastpath/). */
export const IS_HOP_BY_HOP: ReadonlySet<string> = new Set(HOP_BY_HOP);

/**
 * Removes hop-by-hop headers in place, including those named in `Connection`,
 * so a client's `Connection: close` never defeats upstream keep-alive.
 * For a WebSocket upgrade, `Connection: upgrade` and `Upgrade` are the request itself and stay.
 */
export function stripHopByHop(headers: IncomingHttpHeaders, { upgrade = false } = {}): void {
  for (const name of connectionNamed(headers.connection) ?? []) delete headers[name];
  const upgradeTo = headers.upgrade;
  for (const name of HOP_BY_HOP) {
    if (headers[name] !== undefined) delete headers[name];
  }
  if (upgrade && upgradeTo !== undefined) {
    headers.connection = 'upgrade';
    headers.upgrade = upgradeTo;
  }
}

/**
 * The end-to-end headers of a message, as the flat `[name, value, ...]` list
 * `writeHead` and undici take, leaving out the same headers `stripHopByHop`
 * removes, HTTP/2 pseudo-headers, and those in `omit`. Names must be lower case (Node's and undici's are). Copying instead of deleting keeps the
 * response path free of `delete`, which turns an object into a slow dictionary.
 */
export function endToEndHeaders(headers: IncomingHttpHeaders, omit?: ReadonlySet<string>): (string | string[])[] {
  const named = connectionNamed(headers.connection);
  const list: (string | string[])[] = [];
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || IS_HOP_BY_HOP.has(name) || isPseudoHeader(name) || omit?.has(name) === true || (named !== undefined && named.includes(name))) continue;
    list.push(name, value);
  }
  return list;
}

/** Extra header names listed in `Connection`; undefined for the usual bare `keep-alive` or `close`. */
export function connectionNamed(connection: string | undefined): string[] | undefined {
  if (connection === undefined || connection === 'keep-alive' || connection === 'close') return undefined;
  const names: string[] = [];
  for (const token of connection.split(',')) {
    const name = token.trim().toLowerCase();
    if (name !== '' && !IS_HOP_BY_HOP.has(name)) names.push(name);
  }
  return names.length > 0 ? names : undefined;
}

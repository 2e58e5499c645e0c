import type { IncomingHttpHeaders } from 'node:http';
import { connectionNamed, IS_HOP_BY_HOP } from '../proxy/hop-by-hop.ts';
import { forwardedHeaders } from '../proxy/http-forwarder.ts';
import type { TrustProxy } from '../proxy/http-forwarder.ts';
import type { RequestHead } from './request-head.ts';

/**
 * The head sent to the backend, as one string written once: the request line, the
 * client's end-to-end headers as sent (hop-by-hop ones and those `Connection` names
 * left out, as src/proxy/hop-by-hop.ts does for the other path), then
 * X-Forwarded-For/-Proto/-Host exactly as the other path computes them.
 * A chunked body is passed through as it came, so it keeps its Transfer-Encoding.
 */
export function upstreamRequestHead(head: RequestHead, remote: string, trustProxy: TrustProxy | undefined): string {
  const raw = head.headers;
  const lower: string[] = new Array(raw.length / 2);
  // Node's IncomingMessage joins repeated headers of these kinds with ", "; the same values here.
  let connection: string | undefined;
  let forwardedFor: string | undefined;
  let forwardedProto: string | undefined;
  let forwardedHost: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    lower[i / 2] = name;
    const value = raw[i + 1]!;
    if (name === 'connection') connection = join(connection, value);
    else if (name === 'x-forwarded-for') forwardedFor = join(forwardedFor, value);
    else if (name === 'x-forwarded-proto') forwardedProto = join(forwardedProto, value);
    else if (name === 'x-forwarded-host') forwardedHost = join(forwardedHost, value);
  }
  const named = connectionNamed(connection);
  let out = `${head.method} ${head.target} HTTP/1.1\r\n`;
  for (let i = 0; i < raw.length; i += 2) {
    const name = lower[i / 2]!;
    if (IS_HOP_BY_HOP.has(name) || REPLACED.has(name) || (named !== undefined && named.includes(name))) continue;
    out += `${raw[i]}: ${raw[i + 1]}\r\n`;
  }
  if (head.body === 'chunked') out += 'transfer-encoding: chunked\r\n';
  const prior: IncomingHttpHeaders = { host: head.host, 'x-forwarded-for': forwardedFor, 'x-forwarded-proto': forwardedProto, 'x-forwarded-host': forwardedHost };
  const forwarded = forwardedHeaders(remote, false, prior, trustProxy);
  out += `x-forwarded-for: ${forwarded.for}\r\nx-forwarded-proto: ${String(forwarded.proto)}\r\n`;
  if (forwarded.host !== undefined) out += `x-forwarded-host: ${String(forwarded.host)}\r\n`;
  return out + '\r\n';
}

/** Given their new values after the client's headers. */
const REPLACED: ReadonlySet<string> = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']);

function join(prior: string | undefined, value: string): string {
  return prior === undefined ? value : `${prior}, ${value}`;
}

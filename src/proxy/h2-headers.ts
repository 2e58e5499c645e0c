import type { IncomingHttpHeaders } from 'node:http';
import type { ErrorInfo } from '../web/error-page.ts';

/**
 * Header translation between HTTP/2 clients and HTTP/1.1 backends (RFC 9113 §8.2–8.3).
 * Pure: no I/O; the listener applies it once per HTTP/2 request, before routing.
 */

/** Pseudo-header fields (`:method`, `:path`, `:authority`, `:scheme`, `:protocol`) start with a colon and never reach a backend. */
export function isPseudoHeader(name: string): boolean {
  return name.charCodeAt(0) === 58; /* : */
}

/**
 * RFC 9113 §8.2.2: connection-specific fields an HTTP/2 response must not carry.
 * A backend speaking HTTP/1.1 sends some of them routinely; they are dropped, as Node's
 * compat API would otherwise throw ERR_HTTP2_INVALID_CONNECTION_HEADERS and fail the request.
 */
export const H2_FORBIDDEN_RESPONSE_HEADERS: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings']);

/** Why an HTTP/2 request was refused before routing. */
export interface AuthorityConflict {
  readonly authority: string;
  readonly host: string;
}

/**
 * Makes `host` the host that routes an HTTP/2 request, in place: `:authority` when present
 * (browsers send no Host over HTTP/2), otherwise the Host the client sent. Cookies split
 * across several fields (RFC 9113 §8.2.3) are joined with `; ` for the HTTP/1.1 backend.
 *
 * SECURITY: a request whose `:authority` and `Host` name different hosts is refused
 * (returns the conflict; RFC 9113 §8.3.1 calls it malformed): routing by one while a
 * backend reads the other would let a client smuggle a host past the route it was given.
 */
export function adoptAuthority(headers: IncomingHttpHeaders): AuthorityConflict | undefined {
  const authority = headers[':authority'];
  const host = headers.host;
  if (typeof authority === 'string' && authority !== '') {
    if (host !== undefined && host.toLowerCase() !== authority.toLowerCase()) return { authority, host };
    headers.host = authority;
  }
  const cookie: unknown = headers.cookie;
  if (Array.isArray(cookie)) headers.cookie = cookie.join('; ');
  return undefined;
}

/** The answer to a request refused by adoptAuthority. */
export function authorityConflictInfo(conflict: AuthorityConflict): ErrorInfo {
  return {
    status: 400,
    error: 'authority-mismatch',
    title: 'Bad Request',
    message: `The request names two different hosts: :authority ${JSON.stringify(conflict.authority)} and Host ${JSON.stringify(conflict.host)}. Send one host, or the same in both.`,
  };
}

/**
 * Whether an HTTP/2 request carries a body. HTTP/2 frames bodies itself (END_STREAM on the
 * HEADERS frame means none), so a request body often comes with neither Content-Length nor
 * Transfer-Encoding, the signs HTTP/1.1 gives.
 */
export function h2RequestHasBody(req: object): boolean {
  return (req as { stream?: { endAfterHeaders?: boolean } }).stream?.endAfterHeaders === false;
}

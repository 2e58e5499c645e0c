/** Every kind `classifyUpstreamError` can return; metrics pre-register each one from this list. */
export const UPSTREAM_ERROR_KINDS = ['refused', 'unreachable', 'dns', 'reset', 'timeout', 'blocked', 'other'] as const;
export type UpstreamErrorKind = (typeof UPSTREAM_ERROR_KINDS)[number];

/** A backend host name resolved to an address the backend policy denies. */
export class BackendBlockedError extends Error {
  readonly code = 'BACKEND_BLOCKED';
  constructor(readonly address: string, reason: string) {
    super(`resolves to ${address}: ${reason}`);
    this.name = 'BackendBlockedError';
  }
}

export interface UpstreamFailure {
  readonly status: 502 | 504;
  readonly kind: UpstreamErrorKind;
  /** Short, safe explanation for the error page (never a stack trace). */
  readonly reason: string;
}

/** The one place that maps a forwarding error to what the client is told. */
export function classifyUpstreamError(err: unknown): UpstreamFailure {
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
      return { status: 504, kind: 'timeout', reason: 'the backend sent no response headers within UPSTREAM_TIMEOUT_MS' };
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return { status: 504, kind: 'timeout', reason: 'connecting to the backend timed out' };
    case 'BACKEND_BLOCKED':
      return { status: 502, kind: 'blocked', reason: `the backend address is not allowed (${(err as Error).message})` };
    case 'ECONNREFUSED':
      return { status: 502, kind: 'refused', reason: 'the backend refused the connection (nothing listens on that port)' };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return { status: 502, kind: 'unreachable', reason: 'the backend address is unreachable' };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { status: 502, kind: 'dns', reason: 'the backend host name does not resolve' };
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
      return { status: 502, kind: 'reset', reason: 'the backend closed the connection before answering' };
    default:
      return { status: 502, kind: 'other', reason: 'the backend could not be reached' };
  }
}

/** Raised by the forwarder when a backend sends no response headers in time. */
export class UpstreamTimeoutError extends Error {
  readonly code = 'UPSTREAM_TIMEOUT';
  constructor(readonly timeoutMs: number) {
    super(`no response headers within ${timeoutMs} ms`);
    this.name = 'UpstreamTimeoutError';
  }
}

export type UpstreamErrorKind = 'refused' | 'unreachable' | 'dns' | 'reset' | 'timeout' | 'other';

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
    case 'UPSTREAM_TIMEOUT':
      return { status: 504, kind: 'timeout', reason: (err as Error).message };
    case 'ETIMEDOUT':
      return { status: 504, kind: 'timeout', reason: 'connection to the backend timed out' };
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
      return { status: 502, kind: 'reset', reason: 'the backend closed the connection before answering' };
    default:
      return { status: 502, kind: 'other', reason: 'the backend could not be reached' };
  }
}

import type { Socket } from 'node:net';
import type { Logger } from 'pino';

/** Node's parser codes for requests that are malformed or too large, and what the client is told. */
const STATUS_BY_CODE: Record<string, string> = {
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
  ERR_HTTP_HEADERS_TIMEOUT: '408 Request Timeout',
};

/**
 * Answers a request Node's parser rejected (bad syntax, conflicting
 * Content-Length/Transfer-Encoding, oversized headers, slow headers) with the
 * status Node itself would send — 431 stays 431 — plus one log line.
 */
export function createClientErrorHandler(log: Logger): (err: Error & { code?: string }, socket: Socket) => void {
  return (err, socket) => {
    const status = STATUS_BY_CODE[err.code ?? ''] ?? '400 Bad Request';
    // ECONNRESET: the client left; there is no one to answer.
    if (err.code !== 'ECONNRESET') log.warn({ event: 'malformed-request-rejected', code: err.code, remote: socket.remoteAddress, status: Number.parseInt(status, 10) }, 'rejected malformed request');
    if (socket.writable) {
      socket.end(`HTTP/1.1 ${status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    }
    socket.destroySoon();
  };
}

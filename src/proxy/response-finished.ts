import type { ServerResponse } from 'node:http';

/**
 * Whether a response was sent whole, rather than cut short by the client going away.
 * `writableFinished` alone is not enough: an HTTP/2 response whose stream the client
 * reset also reports it (its stream's writable side is ended by the reset), though
 * `end()` was never called. Both together mean the same for HTTP/1.1 and HTTP/2.
 */
export function responseFinished(res: ServerResponse): boolean {
  return res.writableEnded && res.writableFinished;
}

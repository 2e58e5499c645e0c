import type { IncomingHttpHeaders } from 'node:http';

/** RFC 9110 §7.6.1: headers that describe one connection and must not be forwarded. */
const HOP_BY_HOP = ['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization'];

/**
 * Removes hop-by-hop headers in place, including those named in `Connection`,
 * so a client's `Connection: close` never defeats upstream keep-alive.
 * For a WebSocket upgrade, `Connection: upgrade` and `Upgrade` are the request itself and stay.
 */
export function stripHopByHop(headers: IncomingHttpHeaders, { upgrade = false } = {}): void {
  const connection = headers.connection;
  if (connection !== undefined) {
    for (const token of connection.split(',')) {
      const name = token.trim().toLowerCase();
      if (name !== '' && !(upgrade && name === 'upgrade')) delete headers[name];
    }
  }
  const upgradeTo = headers.upgrade;
  for (const name of HOP_BY_HOP) {
    if (headers[name] !== undefined) delete headers[name];
  }
  if (upgrade && upgradeTo !== undefined) {
    headers.connection = 'upgrade';
    headers.upgrade = upgradeTo;
  }
}

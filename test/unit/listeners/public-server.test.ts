import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicServer } from '../../../src/listeners/public-server.ts';
import { makeCertificates } from '../../helpers/certs.ts';
import { memoryLogger } from '../../helpers/memory-logger.ts';

/**
 * Issue #15: the HTTP/2 listener left Nagle's algorithm on (Node's default for
 * http2.createSecureServer, unlike its HTTP and HTTPS servers), so a response the
 * proxy relayed waited for the browser to acknowledge the one before. A net.Server
 * sets TCP_NODELAY on every connection it accepts when its `noDelay` is true.
 */
test('every kind of public listener turns Nagle off on the connections it accepts', (t) => {
  const certs = makeCertificates(t);
  const tls = { certFile: certs.serverCert, keyFile: certs.serverKey, redirectPort: undefined };
  const { log } = memoryLogger();
  const noop = (): void => undefined;
  for (const [kind, config] of [
    ['plain HTTP', undefined],
    ['HTTPS, HTTP/1.1 only', { ...tls, http2: false }],
    ['HTTPS with HTTP/2', { ...tls, http2: true }],
  ] as const) {
    const server = createPublicServer(config, noop, noop, log);
    assert.equal((server as unknown as { noDelay: unknown }).noDelay, true, `${kind}: Nagle's algorithm left on`);
  }
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import type { PeerCertificate } from 'node:tls';
import { join } from 'node:path';
import type { Certificates } from '../helpers/certs.ts';
import { makeCertificates } from '../helpers/certs.ts';
import { useFixture } from '../helpers/fixture.ts';
import { request } from '../helpers/http.ts';
import { SUITE, tempDir } from '../helpers/temp-dir.ts';
import { waitFor } from '../helpers/wait.ts';

interface HttpsReply {
  status: number;
  body: string;
  fingerprint: string;
}

function get(port: number, host: string, path: string, ca: Buffer): Promise<HttpsReply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, ca, servername: 'localhost', headers: { host }, agent: false }, (res) => {
      const fingerprint = (res.socket as unknown as { getPeerCertificate(): PeerCertificate }).getPeerCertificate().fingerprint256;
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, fingerprint }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('TLS termination', () => {
  const first: Certificates = makeCertificates(SUITE);
  const dir = tempDir(SUITE, 'branch-proxy-tls-');
  copyFileSync(first.serverCert, join(dir, 'tls.crt'));
  copyFileSync(first.serverKey, join(dir, 'tls.key'));
  const f = useFixture({
    backends: ['tls'],
    routes: { 'main/web': 'tls' },
    settings: { TLS_CERT_FILE: join(dir, 'tls.crt'), TLS_KEY_FILE: join(dir, 'tls.key'), HTTP_REDIRECT_PORT: '0' },
  });

  test('serves HTTPS and tells the backend the original scheme', async () => {
    const reply = await get(f.proxy.port, 'main.dev.localhost', '/echo', readFileSync(first.ca));
    assert.equal(reply.status, 200);
    assert.equal((JSON.parse(reply.body) as { headers: Record<string, string> }).headers['x-forwarded-proto'], 'https');
  });

  test('the HTTP port redirects to HTTPS for our domains only', async () => {
    const redirect = await request(f.proxy.redirectPort!, 'main.dev.localhost:80', '/a/b?c=1');
    assert.equal(redirect.status, 308);
    assert.equal(redirect.headers.location, `https://main.dev.localhost:${f.proxy.port}/a/b?c=1`);
    assert.equal((await request(f.proxy.redirectPort!, 'evil.example.com', '/')).status, 421, 'no open redirect');
  });

  test('a replaced certificate is served without a restart; a broken one is refused and the old kept', async (t) => {
    const before = await get(f.proxy.port, 'main.dev.localhost', '/echo', readFileSync(first.ca));
    writeFileSync(join(dir, 'tls.crt'), 'not a certificate');
    await waitFor('broken pair reported', () => (f.proxy.logs.some((l) => l.event === 'tls-reload-failed') ? true : undefined), 10_000);
    assert.equal((await get(f.proxy.port, 'main.dev.localhost', '/echo', readFileSync(first.ca))).fingerprint, before.fingerprint);
    const second = makeCertificates(t);
    copyFileSync(second.serverKey, join(dir, 'tls.key'));
    copyFileSync(second.serverCert, join(dir, 'tls.crt'));
    const { value, ms } = await waitFor('new certificate served', async () => {
      try {
        return await get(f.proxy.port, 'main.dev.localhost', '/echo', readFileSync(second.ca));
      } catch {
        return undefined;
      }
    }, 15_000);
    t.diagnostic(`new certificate served ${ms.toFixed(0)} ms after the files changed (polling every 2 s)`);
    assert.equal(value.status, 200);
    assert.notEqual(value.fingerprint, before.fingerprint);
  });
});

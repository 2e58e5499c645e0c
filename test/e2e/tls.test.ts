import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import type { PeerCertificate } from 'node:tls';
import { join } from 'node:path';
import { serviceKey } from '../../src/registry/keys.ts';
import type { Backend } from '../helpers/backend.ts';
import { startBackend } from '../helpers/backend.ts';
import type { Certificates } from '../helpers/certs.ts';
import { makeCertificates } from '../helpers/certs.ts';
import type { EtcdServer } from '../helpers/etcd.ts';
import { startEtcd } from '../helpers/etcd.ts';
import { request } from '../helpers/http.ts';
import type { TestProxy } from '../helpers/proxy.ts';
import { startProxy } from '../helpers/proxy.ts';
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
  let etcd: EtcdServer;
  let backend: Backend;
  let proxy: TestProxy;
  const first: Certificates = makeCertificates(SUITE);
  const dir = tempDir(SUITE, 'branch-proxy-tls-');

  before(async () => {
    etcd = await startEtcd();
    backend = await startBackend('tls');
    await etcd.client.put(serviceKey('/deployment/', 'main', 'web', 'ip')).value('127.0.0.1');
    await etcd.client.put(serviceKey('/deployment/', 'main', 'web', 'port')).value(String(backend.port));
    copyFileSync(first.serverCert, join(dir, 'tls.crt'));
    copyFileSync(first.serverKey, join(dir, 'tls.key'));
    proxy = await startProxy(etcd.endpoint, { TLS_CERT_FILE: join(dir, 'tls.crt'), TLS_KEY_FILE: join(dir, 'tls.key'), HTTP_REDIRECT_PORT: '0' });
    await waitFor('routes', () => (proxy.registry.table.routeCount === 1 ? true : undefined));
  });
  after(async () => {
    await proxy.close();
    await backend.close();
    await etcd.destroy();
  });

  test('serves HTTPS and tells the backend the original scheme', async () => {
    const reply = await get(proxy.port, 'main.dev.localhost', '/echo', readFileSync(first.ca));
    assert.equal(reply.status, 200);
    assert.equal((JSON.parse(reply.body) as { headers: Record<string, string> }).headers['x-forwarded-proto'], 'https');
  });

  test('the HTTP port redirects to HTTPS for our domains only', async () => {
    const redirect = await request(proxy.redirectPort!, 'main.dev.localhost:80', '/a/b?c=1');
    assert.equal(redirect.status, 308);
    assert.equal(redirect.headers.location, `https://main.dev.localhost:${proxy.port}/a/b?c=1`);
    assert.equal((await request(proxy.redirectPort!, 'evil.example.com', '/')).status, 421, 'no open redirect');
  });

  test('a replaced certificate is served without a restart; a broken one is refused and the old kept', async (t) => {
    const before = await get(proxy.port, 'main.dev.localhost', '/echo', readFileSync(first.ca));
    writeFileSync(join(dir, 'tls.crt'), 'not a certificate');
    await waitFor('broken pair reported', () => (proxy.logs.some((l) => l.msg === 'TLS certificate change not loaded; keeping the previous one') ? true : undefined), 10_000);
    assert.equal((await get(proxy.port, 'main.dev.localhost', '/echo', readFileSync(first.ca))).fingerprint, before.fingerprint);
    const second = makeCertificates(t);
    copyFileSync(second.serverKey, join(dir, 'tls.key'));
    copyFileSync(second.serverCert, join(dir, 'tls.crt'));
    const { value, ms } = await waitFor('new certificate served', async () => {
      try {
        return await get(proxy.port, 'main.dev.localhost', '/echo', readFileSync(second.ca));
      } catch {
        return undefined;
      }
    }, 15_000);
    t.diagnostic(`new certificate served ${ms.toFixed(0)} ms after the files changed (polling every 2 s)`);
    assert.equal(value.status, 200);
    assert.notEqual(value.fingerprint, before.fingerprint);
  });
});

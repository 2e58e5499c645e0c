import { after, before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { Backend } from '../helpers/backend.ts';
import { startBackend } from '../helpers/backend.ts';
import type { Certificates } from '../helpers/certs.ts';
import { makeCertificates } from '../helpers/certs.ts';
import type { EtcdServer } from '../helpers/etcd.ts';
import { etcdFor } from '../helpers/etcd.ts';
import { request } from '../helpers/http.ts';
import type { ServeSettings } from '../helpers/proxy.ts';
import { proxyFor } from '../helpers/proxy.ts';
import { register } from '../helpers/registry.ts';
import { SUITE } from '../helpers/temp-dir.ts';
import { waitFor } from '../helpers/wait.ts';

describe('etcd over TLS with client certificates, and with username/password', () => {
  const certs: Certificates = makeCertificates(SUITE);
  let backend: Backend;
  before(async () => {
    backend = await startBackend('secure');
  });
  after(async () => {
    await backend.close();
  });

  async function routesThrough(t: TestContext, etcd: EtcdServer, settings: ServeSettings): Promise<void> {
    await register(etcd.client, 'secure', 'web', backend.port);
    const proxy = await proxyFor(t, etcd.endpoint, settings);
    await waitFor('routed', async () => ((await request(proxy.port, 'secure.dev.localhost', '/echo')).status === 200 ? true : undefined), 10_000);
    assert.equal(proxy.registry.connected, true);
    assert.ok(!JSON.stringify(proxy.logs).includes('s3cret-pass'), 'the etcd password is not logged');
  }

  test('TLS: the proxy verifies etcd with ETCD_CA_FILE and presents ETCD_CERT_FILE/ETCD_KEY_FILE', async (t) => {
    const etcd = await etcdFor(t, { tls: certs });
    await routesThrough(t, etcd, { ETCD_CA_FILE: certs.ca, ETCD_CERT_FILE: certs.clientCert, ETCD_KEY_FILE: certs.clientKey });
    // Without a client certificate etcd refuses the proxy: it must say so and stay unready, not crash.
    const refused = await proxyFor(t, etcd.endpoint, { ETCD_CA_FILE: certs.ca });
    await waitFor('outage logged', () => (refused.logs.some((l) => l.event === 'etcd-unreachable') ? true : undefined), 15_000);
    assert.equal(refused.registry.ready, false);
  });

  test('auth: the proxy logs in with ETCD_USERNAME/ETCD_PASSWORD', async (t) => {
    const etcd = await etcdFor(t);
    const etcdctl = (...args: string[]) => execFileSync('etcdctl', ['--endpoints', etcd.endpoint, ...args], { env: { ...process.env, ETCDCTL_API: '3' }, stdio: 'pipe' });
    etcdctl('user', 'add', 'root:s3cret-pass');
    etcdctl('user', 'grant-role', 'root', 'root');
    etcdctl('auth', 'enable');
    etcd.client.close();
    const { Etcd3 } = await import('etcd3');
    const admin = new Etcd3({ hosts: etcd.endpoint, auth: { username: 'root', password: 's3cret-pass' } });
    Object.assign(etcd, { client: admin });
    await routesThrough(t, etcd, { ETCD_USERNAME: 'root', ETCD_PASSWORD: 's3cret-pass' });
    const anonymous = await proxyFor(t, etcd.endpoint);
    await waitFor('outage logged', () => (anonymous.logs.some((l) => l.event === 'etcd-unreachable') ? true : undefined), 15_000);
    assert.equal(anonymous.registry.ready, false, 'without credentials the registry cannot be read');
  });
});

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { serviceKey } from '../../src/registry/keys.ts';
import type { Backend } from '../helpers/backend.ts';
import { startBackend } from '../helpers/backend.ts';
import type { Certificates } from '../helpers/certs.ts';
import { makeCertificates } from '../helpers/certs.ts';
import type { EtcdServer } from '../helpers/etcd.ts';
import { startEtcd } from '../helpers/etcd.ts';
import { request } from '../helpers/http.ts';
import { startProxy } from '../helpers/proxy.ts';
import { SUITE } from '../helpers/temp-dir.ts';
import { waitFor } from '../helpers/wait.ts';

const P = '/deployment/';

describe('etcd over TLS with client certificates, and with username/password', () => {
  const certs: Certificates = makeCertificates(SUITE);
  let backend: Backend;
  before(async () => {
    backend = await startBackend('secure');
  });
  after(async () => {
    await backend.close();
  });

  async function routesThrough(etcd: EtcdServer, settings: Parameters<typeof startProxy>[1]): Promise<void> {
    await etcd.client.put(serviceKey(P, 'secure', 'web', 'ip')).value('127.0.0.1');
    await etcd.client.put(serviceKey(P, 'secure', 'web', 'port')).value(String(backend.port));
    const proxy = await startProxy(etcd.endpoint, settings);
    try {
      await waitFor('routed', async () => ((await request(proxy.port, 'secure.dev.localhost', '/echo')).status === 200 ? true : undefined), 10_000);
      assert.equal(proxy.registry.connected, true);
      assert.ok(!JSON.stringify(proxy.logs).includes('s3cret-pass'), 'the etcd password is not logged');
    } finally {
      await proxy.close();
    }
  }

  test('TLS: the proxy verifies etcd with ETCD_CA_FILE and presents ETCD_CERT_FILE/ETCD_KEY_FILE', async () => {
    const etcd = await startEtcd({ tls: certs });
    try {
      await routesThrough(etcd, { ETCD_CA_FILE: certs.ca, ETCD_CERT_FILE: certs.clientCert, ETCD_KEY_FILE: certs.clientKey });
      // Without a client certificate etcd refuses the proxy: it must say so and stay unready, not crash.
      const refused = await startProxy(etcd.endpoint, { ETCD_CA_FILE: certs.ca });
      try {
        await waitFor('outage logged', () => (refused.logs.some((l) => l.msg === 'etcd unreachable; serving the last table and retrying') ? true : undefined), 15_000);
        assert.equal(refused.registry.ready, false);
      } finally {
        await refused.close();
      }
    } finally {
      await etcd.destroy();
    }
  });

  test('auth: the proxy logs in with ETCD_USERNAME/ETCD_PASSWORD', async () => {
    const etcd = await startEtcd();
    try {
      const etcdctl = (...args: string[]) => execFileSync('etcdctl', ['--endpoints', etcd.endpoint, ...args], { env: { ...process.env, ETCDCTL_API: '3' }, stdio: 'pipe' });
      etcdctl('user', 'add', 'root:s3cret-pass');
      etcdctl('user', 'grant-role', 'root', 'root');
      etcdctl('auth', 'enable');
      etcd.client.close();
      const { Etcd3 } = await import('etcd3');
      const admin = new Etcd3({ hosts: etcd.endpoint, auth: { username: 'root', password: 's3cret-pass' } });
      Object.assign(etcd, { client: admin });
      await routesThrough(etcd, { ETCD_USERNAME: 'root', ETCD_PASSWORD: 's3cret-pass' });
      const anonymous = await startProxy(etcd.endpoint);
      try {
        await waitFor('outage logged', () => (anonymous.logs.some((l) => l.msg === 'etcd unreachable; serving the last table and retrying') ? true : undefined), 15_000);
        assert.equal(anonymous.registry.ready, false, 'without credentials the registry cannot be read');
      } finally {
        await anonymous.close();
      }
    } finally {
      await etcd.destroy();
    }
  });
});

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { lookup } from 'node:dns/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { serviceKey } from '../../src/registry/keys.ts';
import type { Backend } from '../helpers/backend.ts';
import { startBackend } from '../helpers/backend.ts';
import type { EtcdServer } from '../helpers/etcd.ts';
import { startEtcd } from '../helpers/etcd.ts';
import { request } from '../helpers/http.ts';
import type { TestProxy } from '../helpers/proxy.ts';
import { startProxy } from '../helpers/proxy.ts';
import { waitFor } from '../helpers/wait.ts';

const P = '/deployment/';

describe('backend policy: the registry cannot point the proxy at metadata services or at itself', () => {
  let etcd: EtcdServer;
  let proxy: TestProxy;
  let backend: Backend;
  const register = async (deployment: string, ip: string, port: number) => {
    await etcd.client.put(serviceKey(P, deployment, 'web', 'ip')).value(ip);
    await etcd.client.put(serviceKey(P, deployment, 'web', 'port')).value(String(port));
  };
  const json = (host: string) => request(proxy.port, host, '/echo', { headers: { accept: 'application/json' } });

  before(async () => {
    etcd = await startEtcd();
    backend = await startBackend('ok');
    proxy = await startProxy(etcd.endpoint);
  });
  after(async () => {
    await proxy.close();
    await backend.close();
    await etcd.destroy();
  });

  test('metadata addresses and the proxy itself are logged and not routed; others are', async () => {
    await register('metadata', '169.254.169.254', 80);
    await register('mapped', '::ffff:169.254.169.254', 80);
    await register('loop', '127.0.0.1', proxy.port);
    await register('admin', '127.0.0.1', proxy.adminPort);
    await register('fine', '127.0.0.1', backend.port);
    await waitFor('fine routed', async () => ((await json('fine.dev.localhost')).status === 200 ? true : undefined));
    for (const d of ['metadata', 'mapped', 'loop', 'admin']) {
      const reply = await json(`${d}.dev.localhost`);
      assert.equal(reply.status, 404, d);
      assert.equal(reply.json().error, 'unknown-service', d);
    }
    const blocked = proxy.logs.filter((l) => l.event === 'backend-blocked').map((l) => l.deployment).sort();
    assert.deepEqual(blocked, ['admin', 'loop', 'mapped', 'metadata']);
  });

  test('a host name is checked after resolving it: localhost on the proxy port gets a 502, never a loop', async () => {
    await register('named-loop', 'localhost', proxy.port);
    await waitFor('registered', () => (proxy.registry.resolve('named-loop', 'web').kind === 'route' ? true : undefined));
    const reply = await json('named-loop.dev.localhost');
    assert.equal(reply.status, 502);
    assert.match(reply.json().message as string, /not allowed/);
    assert.ok(proxy.logs.some((l) => l.event === 'upstream-error' && l.deployment === 'named-loop' && l.kind === 'blocked'));
  });

  test('BACKEND_ALLOW narrows which addresses may be backends', async () => {
    const narrow = await startProxy(etcd.endpoint, { BACKEND_ALLOW: '10.0.0.0/8' });
    try {
      await waitFor('snapshot', () => (narrow.registry.ready ? true : undefined));
      assert.equal((await request(narrow.port, 'fine.dev.localhost', '/echo')).status, 404);
      assert.ok(narrow.logs.some((l) => l.event === 'backend-blocked' && l.deployment === 'fine' && /BACKEND_ALLOW/.test(String(l.reason))));
    } finally {
      await narrow.close();
    }
  });

  // Regression: the reachability probe connected to host-name targets without the
  // policy check, so a name resolving to a denied address was touched every PROBE_INTERVAL_MS.
  test('the reachability probe resolves and checks a host name first, and never connects to a denied address', async () => {
    const prefix = '/probe-policy/';
    const connections: string[] = [];
    // Listens where `localhost` resolves, so a probe that skipped the check would land here.
    const { address } = await lookup('localhost');
    const listener = createServer((socket) => {
      connections.push(String(socket.remoteAddress));
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, address, resolve));
    const narrow = await startProxy(etcd.endpoint, { REGISTRY_PREFIX: prefix, BACKEND_ALLOW: '10.0.0.0/8' });
    try {
      await etcd.client.put(serviceKey(prefix, 'named-local', 'web', 'ip')).value('localhost');
      await etcd.client.put(serviceKey(prefix, 'named-local', 'web', 'port')).value(String((listener.address() as AddressInfo).port));
      const { value: service } = await waitFor('probed', async () => {
        const res = await fetch(`http://127.0.0.1:${narrow.adminPort}/api/deployments/named-local`);
        if (res.status !== 200) return undefined;
        const s = ((await res.json()) as { services: { reachable: boolean | null; checkedAt: string | null; unreachableReason: string | null }[] }).services[0];
        return s?.checkedAt ? s : undefined;
      });
      assert.equal(service.reachable, false);
      assert.match(String(service.unreachableReason), /not allowed .*outside BACKEND_ALLOW/);
      assert.deepEqual(connections, [], 'the probe never connected');
    } finally {
      await narrow.close();
      await new Promise((resolve) => listener.close(resolve));
      await etcd.client.delete().prefix(prefix);
    }
  });
});

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { deploymentKey, serviceKey } from '../../src/registry/keys.ts';
import type { CliProcess } from '../helpers/cli-process.ts';
import { spawnCli } from '../helpers/cli-process.ts';
import { useEtcd } from '../helpers/etcd.ts';
import { waitFor } from '../helpers/wait.ts';

const P = '/deployment/';
const TTL = 2;

describe('branch-proxy register', () => {
  const etcd = useEtcd();
  const running: CliProcess[] = [];
  const register = (args: string[]): CliProcess => {
    const p = spawnCli(['register', '--ip', '127.0.0.1', '--ttl', String(TTL), ...args], { ETCD_ENDPOINTS: etcd.endpoint });
    running.push(p);
    return p;
  };
  const get = (key: string): Promise<string | null> => etcd.client.get(key).string();
  const port = (deployment: string, service: string): Promise<string | null> => get(serviceKey(P, deployment, service, 'port'));

  after(async () => {
    for (const p of running) p.kill('SIGKILL');
  });

  test('writes ip, port, created and the raw branch; SIGTERM removes the route at once and exits 0', async (t) => {
    const p = register(['--branch', 'Feature/Login_Page', '--service', 'web', '--port', '4101']);
    await p.waitForEvent('registered');
    assert.equal(await get(serviceKey(P, 'feature-login-page', 'web', 'ip')), '127.0.0.1');
    assert.equal(await port('feature-login-page', 'web'), '4101');
    assert.equal(await get(deploymentKey(P, 'feature-login-page', 'branch')), 'Feature/Login_Page');
    const created = await get(deploymentKey(P, 'feature-login-page', 'created'));
    assert.ok(created && !Number.isNaN(Date.parse(created)), `created=${created}`);
    const line = p.logs.find((l) => l.event === 'registered')!;
    assert.equal(line.deployment, 'feature-login-page');
    assert.equal(line.service, 'web');

    p.kill('SIGTERM');
    const gone = await waitFor('route removed', async () => ((await port('feature-login-page', 'web')) === null ? true : undefined), 3000);
    t.diagnostic(`route gone ${gone.ms.toFixed(0)} ms after SIGTERM`);
    assert.equal(await p.waitExit(), 0, p.output());
    // Deployment metadata outlives one service: deregister/prune remove it.
    assert.equal(await get(deploymentKey(P, 'feature-login-page', 'created')), created);
  });

  test('SIGINT deregisters and exits 0 too', async () => {
    const p = register(['--deployment', 'sigint', '--service', 'web', '--port', '4102']);
    await p.waitForEvent('registered');
    p.kill('SIGINT');
    assert.equal(await p.waitExit(), 0, p.output());
    assert.equal(await port('sigint', 'web'), null);
  });

  test('SIGKILL: the route disappears within the TTL', async (t) => {
    const p = register(['--deployment', 'killed', '--service', 'web', '--port', '4103']);
    await p.waitForEvent('registered');
    p.kill('SIGKILL');
    await p.waitExit();
    const gone = await waitFor('leased route expired', async () => ((await port('killed', 'web')) === null ? true : undefined), TTL * 1000 + 3000);
    t.diagnostic(`route gone ${gone.ms.toFixed(0)} ms after SIGKILL (TTL ${TTL} s)`);
  });

  test('redeploy: the old instance stopping after the new one started leaves the new route', async () => {
    const old = register(['--deployment', 'redeploy', '--service', 'web', '--port', '4104']);
    await old.waitForEvent('registered');
    const next = register(['--deployment', 'redeploy', '--service', 'web', '--port', '4105']);
    await next.waitForEvent('registered');
    assert.equal(await port('redeploy', 'web'), '4105');
    old.kill('SIGTERM');
    assert.equal(await old.waitExit(), 0);
    assert.equal(await port('redeploy', 'web'), '4105');
    // and it stays: the new lease is kept alive past the old one's TTL
    await new Promise((r) => setTimeout(r, TTL * 1000 + 500));
    assert.equal(await port('redeploy', 'web'), '4105');
    next.kill('SIGTERM');
    assert.equal(await next.waitExit(), 0);
    assert.equal(await port('redeploy', 'web'), null);
  });

  test('a slug owned by another raw branch is refused; --force takes it over', async () => {
    const first = register(['--branch', 'feature/foo', '--service', 'web', '--port', '4106']);
    await first.waitForEvent('registered');
    const clash = register(['--branch', 'feature_foo', '--service', 'api', '--port', '4107']);
    assert.equal(await clash.waitExit(), 2, clash.output());
    const refusal = clash.logs.find((l) => l.level === 50);
    assert.match(String(refusal?.msg), /belongs to branch "feature\/foo", not "feature_foo"/, clash.output());
    assert.equal(await port('feature-foo', 'api'), null);

    const forced = register(['--branch', 'feature_foo', '--service', 'api', '--port', '4107', '--force']);
    await forced.waitForEvent('registered');
    assert.equal(await get(deploymentKey(P, 'feature-foo', 'branch')), 'feature_foo');
    assert.equal(await port('feature-foo', 'api'), '4107');
    // the same raw branch registering another service is no clash
    const same = register(['--branch', 'feature_foo', '--service', 'worker', '--port', '4108']);
    await same.waitForEvent('registered');
    for (const p of [first, forced, same]) p.kill('SIGTERM');
    for (const p of [first, forced, same]) assert.equal(await p.waitExit(), 0);
  });

  test('a lease revoked behind its back is replaced at once: the keys are written again', async (t) => {
    const p = register(['--deployment', 'revoked', '--service', 'web', '--port', '4110']);
    const first = await p.waitForEvent('registered');
    await etcd.client.leaseClient.leaseRevoke({ ID: first.value.lease as string });
    const again = await p.waitForEvent('registered-again', 5000);
    t.diagnostic(`registered again ${again.ms.toFixed(0)} ms after the revoke`);
    assert.notEqual(again.value.lease, first.value.lease);
    assert.equal(await port('revoked', 'web'), '4110');
    p.kill('SIGTERM');
    assert.equal(await p.waitExit(), 0);
  });

  test('--default marks the service that <deployment>.<domain> opens', async () => {
    const p = register(['--deployment', 'withdefault', '--service', 'app', '--port', '4109', '--default']);
    await p.waitForEvent('registered');
    assert.equal(await get(deploymentKey(P, 'withdefault', 'default')), 'app');
    p.kill('SIGTERM');
    assert.equal(await p.waitExit(), 0);
  });

  test('bad arguments exit 2 with one line', async () => {
    const cases = [
      ['--branch', '___', '--service', 'web', '--port', '1'],
      ['--deployment', 'Not_A_Slug', '--service', 'web', '--port', '1'],
      ['--branch', 'x', '--deployment', 'x', '--service', 'web', '--port', '1'],
      ['--branch', 'x', '--service', 'web'],
      ['--branch', 'x', '--service', 'web', '--port', '70000'],
      ['--branch', 'x', '--service', 'web', '--port', '1', '--ttl', '0'],
      ['--branch', 'x', '--service', 'web', '--port', '1', '--ip', 'not an ip'],
      ['--branch', 'x', '--service', 'web', '--port-from', 'ecs'],
      ['--deployment', 'd'.repeat(40), '--service', 's'.repeat(23), '--port', '1'],
    ];
    // Three Node start-ups at a time, each given a minute: nine at once on a busy 2-core machine took longer than a timeout meant for a hang.
    for (let i = 0; i < cases.length; i += 3) {
      const batch = cases.slice(i, i + 3).map((args) => ({ args, p: register(args) }));
      for (const { args, p } of batch) {
        assert.equal(await p.waitExit(60_000), 2, `${args.join(' ')}: ${p.output()}`);
        assert.equal(p.output().trim().split('\n').length, 1, p.output());
        assert.match(p.output(), /^branch-proxy: /);
      }
    }
  });
});

describe('branch-proxy register while etcd comes and goes', () => {
  const etcd = useEtcd();
  let p: CliProcess | undefined;
  after(async () => {
    p?.kill('SIGKILL');
  });

  test('etcd unreachable at start: keeps retrying and registers when it comes up', async (t) => {
    await etcd.stop();
    p = spawnCli(['register', '--deployment', 'late', '--service', 'web', '--port', '4201', '--ip', '127.0.0.1', '--ttl', String(TTL)], { ETCD_ENDPOINTS: etcd.endpoint });
    await p.waitForEvent('registration-failing', 15_000);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(p.logs.filter((l) => l.event === 'registration-failing').length, 1, 'logged once per outage');
    const started = performance.now();
    await etcd.start();
    await p.waitForEvent('registered', 15_000);
    t.diagnostic(`registered ${(performance.now() - started).toFixed(0)} ms after etcd started`);
    assert.equal(await etcd.client.get(serviceKey(P, 'late', 'web', 'port')).string(), '4201');
  });

  test('etcd down longer than 2 x TTL: the lease is lost, then it registers again with a new lease', async (t) => {
    const before = p!.logs.find((l) => l.event === 'registered')!.lease;
    await etcd.stop();
    await p!.waitForEvent('lease-keepalive-failing', 10_000);
    await p!.waitForEvent('lease-lost', 3 * TTL * 1000 + 5000);
    const started = performance.now();
    await etcd.start();
    const again = await p!.waitForEvent('registered-again', 15_000);
    t.diagnostic(`registered again ${(performance.now() - started).toFixed(0)} ms after etcd restarted`);
    assert.notEqual(again.value.lease, before);
    assert.equal(p!.logs.filter((l) => l.event === 'lease-keepalive-failing').length, 1, 'keep-alive failures logged once per outage');
    const kv = await etcd.client.get(serviceKey(P, 'late', 'web', 'port')).exec();
    assert.equal(kv.kvs[0]?.value.toString(), '4201');
    assert.equal(BigInt(kv.kvs[0]!.lease).toString(), BigInt(again.value.lease as string).toString());
    // the route survives past the old lease's TTL
    await new Promise((r) => setTimeout(r, TTL * 1000 + 500));
    assert.equal(await etcd.client.get(serviceKey(P, 'late', 'web', 'port')).string(), '4201');
    p!.kill('SIGTERM');
    assert.equal(await p!.waitExit(), 0);
    assert.equal(await etcd.client.get(serviceKey(P, 'late', 'web', 'port')).string(), null);
  });
});

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { slugify } from '../../src/registration/slug.ts';
import { deploymentKey, serviceKey } from '../../src/registry/keys.ts';
import { makeCertificates } from '../helpers/certs.ts';
import type { EtcdServer } from '../helpers/etcd.ts';
import { etcdFor, useEtcd } from '../helpers/etcd.ts';
import { waitFor } from '../helpers/wait.ts';

const P = '/deployment/';
const SCRIPT = 'scripts/register.sh';

/** Inputs where the two implementations could drift: case, runs, edges, non-ASCII, the 40-character boundary. */
const BRANCHES = [
  'main',
  '__Foo..Bar__',
  'feature/JIRA-123_login page',
  'Ünïcode/Bräнch-😀',
  'a'.repeat(40),
  'a'.repeat(41),
  'feature/a-very-long-branch-name-that-goes-on-and-on-forever',
  'feature/a-very-long-branch-name-that-goes-on-and-on-forever-2',
  `${'x'.repeat(30)}--${'y'.repeat(20)}`,
  'release/2026.11',
  'K-Kelvin-İ',
];

interface Script {
  readonly child: ChildProcess;
  stderr(): string;
  exit(): Promise<number | null>;
}

function runScript(env: Record<string, string>): Script {
  const child = spawn('sh', [SCRIPT], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return {
    child,
    stderr: () => stderr,
    exit: () => Promise.race([exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`script still running: ${stderr}`)), 10_000))]),
  };
}

describe('scripts/register.sh', () => {
  test('names deployments exactly like the CLI', () => {
    for (const branch of BRANCHES) {
      const run = spawnSync('sh', [SCRIPT, '--slug', branch], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      assert.equal(run.stdout.trim(), slugify(branch), branch);
    }
    const empty = spawnSync('sh', [SCRIPT, '--slug', '--//--'], { encoding: 'utf8' });
    assert.equal(empty.status, 2);
    assert.match(empty.stderr, /no letters or digits/);
  });

  describe('against etcd', () => {
    const etcd = useEtcd();
    const scripts: Script[] = [];
    const start = (env: Record<string, string>): Script => {
      const s = runScript({ ETCD_ENDPOINTS: etcd.endpoint, IP: '127.0.0.1', TTL: '2', SERVICE: 'web', ...env });
      scripts.push(s);
      return s;
    };
    const kv = async (key: string) => (await etcd.client.get(key).exec()).kvs[0];
    after(async () => {
      for (const s of scripts) s.child.kill('SIGKILL');
    });

    test('registers with a kept-alive lease; TERM revokes it and exits 0', async (t) => {
      const s = start({ BRANCH: 'Feature/Shell', PORT: '4301' });
      const up = await waitFor('script registered', async () => (await kv(serviceKey(P, 'feature-shell', 'web', 'port'))) ?? undefined, 5000);
      t.diagnostic(`registered ${up.ms.toFixed(0)} ms after start`);
      assert.equal(up.value.value.toString(), '4301');
      assert.notEqual(up.value.lease, '0', 'attached to a lease');
      assert.equal((await kv(serviceKey(P, 'feature-shell', 'web', 'ip')))?.value.toString(), '127.0.0.1');
      assert.equal((await kv(deploymentKey(P, 'feature-shell', 'branch')))?.value.toString(), 'Feature/Shell');
      assert.ok(!Number.isNaN(Date.parse((await kv(deploymentKey(P, 'feature-shell', 'created')))!.value.toString())));
      // alive well past the TTL: the keep-alive loop works
      await new Promise((r) => setTimeout(r, 3500));
      assert.equal((await kv(serviceKey(P, 'feature-shell', 'web', 'port')))?.value.toString(), '4301');

      s.child.kill('SIGTERM');
      assert.equal(await s.exit(), 0, s.stderr());
      assert.equal(await kv(serviceKey(P, 'feature-shell', 'web', 'port')), undefined);
      assert.match(s.stderr(), /deregistered feature-shell-web/);
    });

    test('KILL: the route expires within the TTL', async (t) => {
      const s = start({ DEPLOYMENT: 'shell-killed', PORT: '4302' });
      await waitFor('registered', async () => (await kv(serviceKey(P, 'shell-killed', 'web', 'port'))) ?? undefined, 5000);
      s.child.kill('SIGKILL');
      const gone = await waitFor('expired', async () => ((await kv(serviceKey(P, 'shell-killed', 'web', 'port'))) ? undefined : true), 5000);
      t.diagnostic(`route gone ${gone.ms.toFixed(0)} ms after SIGKILL (TTL 2 s)`);
    });

    test('a lease etcd no longer knows is replaced: the keys are written again', async () => {
      const s = start({ DEPLOYMENT: 'shell-revoked', PORT: '4303' });
      const first = await waitFor('registered', async () => (await kv(serviceKey(P, 'shell-revoked', 'web', 'port'))) ?? undefined, 5000);
      await etcd.client.leaseClient.leaseRevoke({ ID: first.value.lease });
      const again = await waitFor('registered again', async () => {
        const now = await kv(serviceKey(P, 'shell-revoked', 'web', 'port'));
        return now && now.lease !== first.value.lease ? now : undefined;
      }, 5000);
      assert.equal(again.value.value.toString(), '4303');
      assert.match(s.stderr(), /expired; registering again/);
      s.child.kill('SIGTERM');
      assert.equal(await s.exit(), 0);
    });

    test('redeploy: the old script stopping leaves the new registration', async () => {
      const old = start({ DEPLOYMENT: 'shell-redeploy', PORT: '4304' });
      await waitFor('old registered', async () => (await kv(serviceKey(P, 'shell-redeploy', 'web', 'port'))) ?? undefined, 5000);
      const next = start({ DEPLOYMENT: 'shell-redeploy', PORT: '4305' });
      await waitFor('new registered', async () => ((await kv(serviceKey(P, 'shell-redeploy', 'web', 'port')))?.value.toString() === '4305' ? true : undefined), 5000);
      old.child.kill('SIGTERM');
      assert.equal(await old.exit(), 0);
      assert.equal((await kv(serviceKey(P, 'shell-redeploy', 'web', 'port')))?.value.toString(), '4305');
      next.child.kill('SIGTERM');
      assert.equal(await next.exit(), 0);
    });

    test('a slug owned by another branch is refused', async () => {
      await etcd.client.put(deploymentKey(P, 'shell-clash', 'branch')).value('shell/clash');
      const s = start({ BRANCH: 'shell_clash', PORT: '4306' });
      assert.equal(await s.exit(), 2);
      assert.match(s.stderr(), /belongs to branch "shell\/clash"/);
      assert.equal(await kv(serviceKey(P, 'shell-clash', 'web', 'port')), undefined);
    });

    test('bad settings exit 2 with a message', async () => {
      for (const env of <Record<string, string>[]>[{ PORT: '1' }, { DEPLOYMENT: 'x', PORT: 'abc' }, { DEPLOYMENT: 'Bad_Name', PORT: '1' }, { DEPLOYMENT: 'x', PORT: '1', SERVICE: '' }]) {
        const s = start(env);
        assert.equal(await s.exit(), 2, JSON.stringify(env));
        assert.match(s.stderr(), /^register\.sh: /);
      }
    });
  });

  describe('against a secured etcd', () => {
    /** Registers, checks the keys with the test's (privileged) client, stops with TERM. */
    async function registersAndStops(etcd: EtcdServer, env: Record<string, string>): Promise<void> {
      const s = runScript({ ETCD_ENDPOINTS: etcd.endpoint, IP: '127.0.0.1', TTL: '2', SERVICE: 'web', DEPLOYMENT: 'secured', PORT: '4401', ...env });
      try {
        await waitFor(`registered (${s.stderr()})`, async () => (await etcd.client.get(serviceKey(P, 'secured', 'web', 'port')).string()) ?? undefined, 8000);
        s.child.kill('SIGTERM');
        assert.equal(await s.exit(), 0, s.stderr());
        assert.equal(await etcd.client.get(serviceKey(P, 'secured', 'web', 'port')).string(), null, s.stderr());
      } finally {
        s.child.kill('SIGKILL');
      }
    }

    test('TLS with a client certificate', async (t) => {
      const certs = makeCertificates(t);
      const etcd = await etcdFor(t, { tls: certs });
      await registersAndStops(etcd, { ETCD_CA_FILE: certs.ca, ETCD_CERT_FILE: certs.clientCert, ETCD_KEY_FILE: certs.clientKey });
    });

    test('username and password', async (t) => {
      const etcd = await etcdFor(t);
      const etcdctl = (...args: string[]) => execFileSync('etcdctl', ['--endpoints', etcd.endpoint, ...args], { env: { ...process.env, ETCDCTL_API: '3' }, stdio: 'pipe' });
      etcdctl('user', 'add', 'root:s3cret "pass"');
      etcdctl('user', 'grant-role', 'root', 'root');
      etcdctl('auth', 'enable');
      etcd.client.close();
      const { Etcd3 } = await import('etcd3');
      Object.assign(etcd, { client: new Etcd3({ hosts: etcd.endpoint, auth: { username: 'root', password: 's3cret "pass"' } }) });
      await registersAndStops(etcd, { ETCD_USERNAME: 'root', ETCD_PASSWORD: 's3cret "pass"' });
    });
  });
});

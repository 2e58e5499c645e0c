import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { WebSocket } from 'ws';
import { mintShareToken, shareKey } from '../../src/access/share-token.ts';
import { useFixture } from '../helpers/fixture.ts';
import { request } from '../helpers/http.ts';
import { startProxy } from '../helpers/proxy.ts';
import { SUITE, tempDir } from '../helpers/temp-dir.ts';
import { waitFor } from '../helpers/wait.ts';

const TOKEN = 'ci-token-0123456789abcdef';
const SECRET = 'share-secret-0123456789abcdef0123456789';
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describe('access control on the public port', () => {
  const dir = tempDir(SUITE, 'branch-proxy-access-');
  writeFileSync(join(dir, 'htpasswd'), `# team\nalice:${bcrypt.hashSync('wonderland', 4)}\n`);
  const f = useFixture({
    backends: ['b'],
    routes: { 'main/web': 'b', 'main/api': 'b', 'other/web': 'b' },
    settings: { AUTH_HTPASSWD: join(dir, 'htpasswd'), AUTH_TOKEN: TOKEN, SHARE_SECRET: SECRET },
  });

  test('without credentials: 401 with a basic-auth challenge, for deployments, the dashboard and the API alike', async () => {
    for (const [host, path] of [['main.dev.localhost', '/echo'], ['dev.localhost', '/'], ['dev.localhost', '/api/deployments'], ['nosuch.dev.localhost', '/']]) {
      const reply = await f.get(host!, path, { headers: { accept: 'application/json' } });
      assert.equal(reply.status, 401, `${host}${path}`);
      assert.match(reply.headers['www-authenticate'] ?? '', /^Basic realm="branch-proxy"/);
      assert.equal(reply.json().error, 'login-required');
      assert.doesNotMatch(reply.body, /main|other/, 'a denied visitor learns nothing about deployments');
    }
    assert.equal((await f.get('main.dev.localhost', '/echo', { headers: { authorization: basic('alice', 'wrong') } })).status, 401);
    assert.equal((await f.get('main.dev.localhost', '/echo', { headers: { authorization: basic('mallory', 'wonderland') } })).status, 401);
  });

  test('valid basic auth lets in; the credentials are not passed to the backend', async () => {
    const reply = await f.get('main.dev.localhost', '/echo', { headers: { authorization: basic('alice', 'wonderland') } });
    assert.equal(reply.status, 200);
    assert.equal(reply.json<{ headers: Record<string, string> }>().headers.authorization, undefined);
    assert.equal((await f.get('dev.localhost', '/api/deployments', { headers: { authorization: basic('alice', 'wonderland') } })).status, 200);
  });

  test('the automation token lets CI in and is not passed on', async () => {
    const reply = await f.get('other.dev.localhost', '/echo', { headers: { 'x-branch-proxy-token': TOKEN } });
    assert.equal(reply.status, 200);
    assert.equal(reply.json<{ headers: Record<string, string> }>().headers['x-branch-proxy-token'], undefined);
    assert.equal((await f.get('other.dev.localhost', '/echo', { headers: { 'x-branch-proxy-token': `${TOKEN}x` } })).status, 401);
  });

  test('a share link opens one deployment (all its services) and nothing else', async () => {
    const token = await mintShareToken(shareKey(SECRET), 'main', new Date(Date.now() + 3600_000));
    const opened = await f.get('main.dev.localhost:8080', `/page?x=1&bp_share=${token}`);
    assert.equal(opened.status, 302);
    assert.equal(opened.headers.location, '/page?x=1');
    const setCookie = opened.headers['set-cookie']?.[0] ?? '';
    assert.match(setCookie, /^bp_share_main=[^;]+; Domain=dev\.localhost; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax$/);
    const cookie = `${setCookie.split(';')[0]}; theirs=1`;
    for (const host of ['main.dev.localhost', 'main-web.dev.localhost', 'main-api.dev.localhost']) {
      const reply = await f.get(host, '/echo', { headers: { cookie } });
      assert.equal(reply.status, 200, host);
      assert.equal(reply.json<{ headers: Record<string, string> }>().headers.cookie, 'theirs=1', 'the share cookie stays with the proxy');
    }
    assert.equal((await f.get('other.dev.localhost', '/echo', { headers: { cookie } })).status, 401, 'not another deployment');
    assert.equal((await f.get('dev.localhost', '/', { headers: { cookie } })).status, 401, 'not the list of deployments');
    const forOther = await mintShareToken(shareKey(SECRET), 'other', new Date(Date.now() + 3600_000));
    assert.equal((await f.get('main.dev.localhost', `/?bp_share=${forOther}`)).status, 401, "another deployment's link");
    const expired = await mintShareToken(shareKey(SECRET), 'main', new Date(Date.now() - 1000));
    assert.equal((await f.get('main.dev.localhost', `/?bp_share=${expired}`)).status, 401, 'an expired link');
    const forged = await mintShareToken(shareKey(`${SECRET}!`), 'main', new Date(Date.now() + 3600_000));
    assert.equal((await f.get('main.dev.localhost', `/?bp_share=${forged}`)).status, 401, 'a link signed with another key');
  });

  test('WebSockets go through the same gate', async () => {
    const denied = new WebSocket(`ws://127.0.0.1:${f.proxy.port}/`, { headers: { host: 'main.dev.localhost' } });
    const status = await new Promise<number>((resolve) => denied.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    assert.equal(status, 401);
    const ws = new WebSocket(`ws://127.0.0.1:${f.proxy.port}/`, { headers: { host: 'main.dev.localhost', 'x-branch-proxy-token': TOKEN } });
    const hello = await new Promise<string>((resolve, reject) => {
      ws.on('message', (m) => resolve(m.toString()));
      ws.on('error', reject);
    });
    ws.close();
    assert.match(hello, /^hello from b/);
  });

  test('secrets never reach the log', () => {
    const text = JSON.stringify(f.proxy.logs);
    assert.ok(!text.includes(TOKEN) && !text.includes(SECRET) && !text.includes('$2'), 'no token, share secret or password hash in the log');
    const started = f.proxy.logs.find((l) => l.event === 'started') as { config: { access: Record<string, unknown> } };
    assert.deepEqual(started.config.access, { basicAuthUsers: 1, allowCidrs: [], trustedProxies: [], token: 'set', shareLinks: 'enabled' });
  });

  test('IP allowlist, believing X-Forwarded-For only from trusted proxies', async () => {
    const local = await startProxy(f.etcd.endpoint, { ALLOW_CIDRS: '127.0.0.0/8' });
    const office = await startProxy(f.etcd.endpoint, { ALLOW_CIDRS: '203.0.113.0/24', TRUSTED_PROXIES: '127.0.0.1' });
    const untrusting = await startProxy(f.etcd.endpoint, { ALLOW_CIDRS: '203.0.113.0/24' });
    try {
      await waitFor('snapshots', () => (local.registry.ready && office.registry.ready && untrusting.registry.ready ? true : undefined));
      assert.equal((await request(local.port, 'main.dev.localhost', '/echo')).status, 200);
      const fromOffice = { 'x-forwarded-for': '203.0.113.5' };
      const viaLb = await request(office.port, 'main.dev.localhost', '/echo', { headers: { ...fromOffice, 'x-forwarded-proto': 'https', 'x-forwarded-host': 'main.dev.example.com' } });
      assert.equal(viaLb.status, 200, 'office address via a trusted LB');
      const seen = viaLb.json<{ headers: Record<string, string> }>().headers;
      assert.equal(seen['x-forwarded-proto'], 'https', 'the LB ended TLS: the backend is told so');
      assert.equal(seen['x-forwarded-host'], 'main.dev.example.com');
      assert.equal(seen['x-forwarded-for'], '203.0.113.5, 127.0.0.1');
      const denied = await request(office.port, 'main.dev.localhost', '/echo', { headers: { accept: 'application/json' } });
      assert.equal(denied.status, 403, 'the LB itself is not in the allowlist');
      assert.equal(denied.json().error, 'forbidden');
      assert.equal((await request(untrusting.port, 'main.dev.localhost', '/echo', { headers: fromOffice })).status, 403, 'a spoofed header from an untrusted peer');
    } finally {
      await Promise.all([local.close(), office.close(), untrusting.close()]);
    }
  });
});

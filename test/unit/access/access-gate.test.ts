import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import bcrypt from 'bcryptjs';
import { SHARE_PARAM, TOKEN_HEADER, createAccessGate, stripAccessCredentials } from '../../../src/access/access-gate.ts';
import type { Verdict } from '../../../src/access/access-gate.ts';
import { mintShareToken, shareKey } from '../../../src/access/share-token.ts';
import type { AccessConfig } from '../../../src/config/serve-config.ts';

const TOKEN = 'ci-token-0123456789abcdef';
const SECRET = 'share-secret-0123456789abcdef0123456789';
const OPEN: AccessConfig = { credentials: undefined, allowCidrs: [], trustedProxies: [], token: undefined, shareSecret: undefined };
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

/** A request as the HTTP server would hand it over, from `address`, without any I/O. */
function requestFrom(address: string, url = '/', headers: Record<string, string> = {}): IncomingMessage {
  const socket = new Socket();
  Object.defineProperty(socket, 'remoteAddress', { value: address });
  const req = new IncomingMessage(socket);
  req.url = url;
  req.headers = { ...headers };
  return req;
}

const shareToken = (deployment: string, inMs = 60_000) => mintShareToken(shareKey(SECRET), deployment, new Date(Date.now() + inMs));

describe('access gate', () => {
  test('nothing configured: no gate at all, so an open proxy pays nothing per request', () => {
    assert.equal(createAccessGate(OPEN), undefined);
  });

  test('ALLOW_CIDRS lets matching addresses in; X-Forwarded-For counts only from TRUSTED_PROXIES', async () => {
    const gate = createAccessGate({ ...OPEN, allowCidrs: ['10.0.0.0/8'], trustedProxies: ['127.0.0.1'] })!;
    assert.deepEqual(await gate.check(requestFrom('10.1.2.3'), 'main', 'dev.localhost'), { allow: true, via: 'ip' });
    const outside = await gate.check(requestFrom('192.0.2.1'), 'main', 'dev.localhost');
    assert.equal(outside.allow, false);
    assert.equal(!outside.allow && outside.status, 403, 'without login configured, a refusal is 403');
    const forged = requestFrom('192.0.2.1', '/', { 'x-forwarded-for': '10.1.2.3' });
    assert.equal((await gate.check(forged, 'main', 'dev.localhost')).allow, false, 'an untrusted client cannot claim an allowed address');
    const relayed = requestFrom('127.0.0.1', '/', { 'x-forwarded-for': '10.1.2.3' });
    assert.equal(gate.clientAddress(relayed), '10.1.2.3');
    assert.deepEqual(await gate.check(relayed, 'main', 'dev.localhost'), { allow: true, via: 'ip' });
  });

  test('the automation token must match exactly', async () => {
    const gate = createAccessGate({ ...OPEN, token: TOKEN })!;
    assert.deepEqual(await gate.check(requestFrom('192.0.2.1', '/', { [TOKEN_HEADER]: TOKEN }), 'main', 'dev.localhost'), { allow: true, via: 'token' });
    for (const wrong of [TOKEN.slice(0, -1), `${TOKEN}x`, '']) {
      assert.equal((await gate.check(requestFrom('192.0.2.1', '/', { [TOKEN_HEADER]: wrong }), 'main', 'dev.localhost')).allow, false, JSON.stringify(wrong));
    }
  });

  test('basic auth against bcrypt entries; a refusal asks for a login (401)', async () => {
    const gate = createAccessGate({ ...OPEN, credentials: new Map([['alice', bcrypt.hashSync('wonderland', 4)]]) })!;
    assert.deepEqual(await gate.check(requestFrom('192.0.2.1', '/', { authorization: basic('alice', 'wonderland') }), 'main', 'dev.localhost'), { allow: true, via: 'basic' });
    const wrong = await gate.check(requestFrom('192.0.2.1', '/', { authorization: basic('alice', 'nope') }), 'main', 'dev.localhost');
    assert.deepEqual(wrong.allow ? undefined : [wrong.status, /Log in/.test(wrong.message)], [401, true]);
  });

  test('a share link opens only its own deployment, sets a cookie for the domain and drops the token from the URL', async () => {
    const gate = createAccessGate({ ...OPEN, shareSecret: SECRET })!;
    const token = await shareToken('main');
    const verdict = await gate.check(requestFrom('192.0.2.1', `/page?${SHARE_PARAM}=${token}&x=1`), 'main', 'dev.localhost');
    assert.equal(verdict.allow && verdict.via, 'share-link');
    if (!verdict.allow || verdict.via !== 'share-link') return;
    assert.equal(verdict.location, '/page?x=1');
    assert.match(verdict.setCookie, new RegExp(`^bp_share_main=${token}; Domain=dev\\.localhost; Path=/; Max-Age=(59|60); HttpOnly; SameSite=Lax$`));
    assert.equal((await gate.check(requestFrom('192.0.2.1', `/?${SHARE_PARAM}=${token}`), 'other', 'dev.localhost')).allow, false, 'not another deployment');
    assert.equal((await gate.check(requestFrom('192.0.2.1', `/?${SHARE_PARAM}=${token}`), undefined, 'dev.localhost')).allow, false, 'never the dashboard');
    assert.deepEqual(await gate.check(requestFrom('192.0.2.1', '/', { cookie: `bp_share_main=${token}` }), 'main', 'dev.localhost'), { allow: true, via: 'share' });
    assert.equal((await gate.check(requestFrom('192.0.2.1', '/', { cookie: `bp_share_other=${token}` }), 'other', 'dev.localhost')).allow, false, 'a cookie named for another deployment');
    const expired = await shareToken('main', -1000);
    assert.equal((await gate.check(requestFrom('192.0.2.1', '/', { cookie: `bp_share_main=${expired}` }), 'main', 'dev.localhost')).allow, false, 'expired');
  });

  test('credentials only the proxy needed are not passed on to the backend', () => {
    const req = requestFrom('192.0.2.1', '/', { [TOKEN_HEADER]: TOKEN, authorization: basic('alice', 'wonderland'), cookie: 'a=1; bp_share_main=t; b=2' });
    stripAccessCredentials(req, { allow: true, via: 'basic' });
    assert.deepEqual(req.headers, { cookie: 'a=1; b=2' });
    const onlyShare = requestFrom('192.0.2.1', '/', { authorization: 'Bearer backend-own', cookie: 'bp_share_main=t' });
    const share: Verdict = { allow: true, via: 'share' };
    stripAccessCredentials(onlyShare, share);
    assert.deepEqual(onlyShare.headers, { authorization: 'Bearer backend-own' }, "the backend's own authorization stays when basic auth did not let the request in");
  });
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { ConfigError } from '../../../src/config/config-error.ts';
import { loadServeConfig } from '../../../src/config/serve-config.ts';
import { SERVE_SETTINGS } from '../../../src/config/settings.ts';
import type { SettingValues } from '../../../src/config/settings.ts';
import { tempDir } from '../../helpers/temp-dir.ts';

const defaults = Object.fromEntries(SERVE_SETTINGS.map((s) => [s.env, s.default])) as SettingValues<typeof SERVE_SETTINGS>;
const load = (overrides: Partial<typeof defaults>) => loadServeConfig({ ...defaults, ...overrides });

describe('loadServeConfig', () => {
  test('defaults are valid', () => {
    const c = load({});
    assert.deepEqual(c.etcd, { endpoints: ['http://127.0.0.1:2379'], prefix: '/deployment/' });
    assert.deepEqual(c.domains, ['dev.localhost']);
    assert.equal(c.port, 8080);
    assert.equal(c.host, undefined);
    assert.equal(c.defaultService, 'web');
    assert.ok(Object.isFrozen(c));
  });

  test('WORKERS: auto is one per CPU this process may use; a number is taken as is', () => {
    assert.equal(load({}).workers, availableParallelism());
    assert.equal(load({ WORKERS: '1' }).workers, 1);
    assert.equal(load({ WORKERS: '12' }).workers, 12);
    for (const bad of ['0', '-1', 'two', '1.5', '1025', '']) assert.throws(() => load({ WORKERS: bad }), /WORKERS/, bad);
  });

  test('FALLBACK_DEPLOYMENT: unset means no fallback', () => {
    assert.equal(load({}).fallbackDeployment, undefined);
    assert.equal(load({ FALLBACK_DEPLOYMENT: 'release-2-4' }).fallbackDeployment, 'release-2-4');
  });

  test('lists and normalisation', () => {
    const c = load({ ETCD_ENDPOINTS: 'a:2379, https://b:2379/', BASE_DOMAIN: 'Dev.Example.com.,dev.localhost', REGISTRY_PREFIX: '/reg' });
    assert.deepEqual(c.etcd.endpoints, ['http://a:2379', 'https://b:2379']);
    assert.deepEqual(c.domains, ['dev.example.com', 'dev.localhost']);
    assert.equal(c.etcd.prefix, '/reg/');
  });

  test('each bad value names its variable', () => {
    for (const [variable, value] of [
      ['PORT', 'abc'],
      ['PORT', '70000'],
      ['ADMIN_PORT', '-1'],
      ['BASE_DOMAIN', 'not a domain'],
      ['BASE_DOMAIN', ''],
      ['ETCD_ENDPOINTS', 'ftp://x'],
      ['REGISTRY_PREFIX', 'deployment'],
      ['DEFAULT_SERVICE', 'Web!'],
      ['FALLBACK_DEPLOYMENT', 'Main'],
      ['FALLBACK_DEPLOYMENT', 'feature/x'],
      ['UPSTREAM_TIMEOUT_MS', '0'],
      ['LOG_LEVEL', 'loud'],
      ['HOST', 'not a host!'],
      ['BACKEND_ALLOW', '10.0.0.0/99'],
    ] as const) {
      assert.throws(
        () => load({ [variable]: value }),
        (err: unknown) => err instanceof ConfigError && err.variable === variable && err.message.includes(variable),
        `${variable}=${value}`,
      );
    }
  });

  test('access settings: secrets must be long and are never echoed; htpasswd must hold bcrypt entries', (t) => {
    assert.throws(() => load({ AUTH_TOKEN: 'short' }), (err: unknown) => err instanceof ConfigError && err.variable === 'AUTH_TOKEN' && !err.message.includes('short'));
    assert.throws(() => load({ SHARE_SECRET: 'x'.repeat(31) }), (err: unknown) => err instanceof ConfigError && err.variable === 'SHARE_SECRET');
    assert.throws(() => load({ AUTH_HTPASSWD: '/nonexistent/htpasswd' }), (err: unknown) => err instanceof ConfigError && /ENOENT/.test(err.message));
    const dir = tempDir(t, 'bp-config-');
    writeFileSync(join(dir, 'md5'), 'bob:$apr1$abc$def\n');
    assert.throws(() => load({ AUTH_HTPASSWD: join(dir, 'md5') }), (err: unknown) => err instanceof ConfigError && /line 1/.test(err.message) && /htpasswd -B/.test(err.message));
    writeFileSync(join(dir, 'ok'), `alice:${bcrypt.hashSync('pw', 4)}\n`);
    assert.equal(load({ AUTH_HTPASSWD: join(dir, 'ok'), AUTH_TOKEN: 't'.repeat(16) }).access.credentials?.size, 1);
  });

  test('etcd TLS files come in pairs, need https endpoints, and are read at start-up', (t) => {
    const dir = tempDir(t, 'bp-etcd-');
    writeFileSync(join(dir, 'pem'), '-----BEGIN CERTIFICATE-----\n');
    const pem = join(dir, 'pem');
    assert.throws(() => load({ ETCD_CERT_FILE: pem }), (err: unknown) => err instanceof ConfigError && err.variable === 'ETCD_KEY_FILE');
    assert.throws(() => load({ ETCD_CA_FILE: pem }), (err: unknown) => err instanceof ConfigError && err.variable === 'ETCD_ENDPOINTS' && /https/.test(err.message));
    assert.throws(() => load({ ETCD_CA_FILE: join(dir, 'missing'), ETCD_ENDPOINTS: 'https://a:2379' }), (err: unknown) => err instanceof ConfigError && err.variable === 'ETCD_CA_FILE');
    assert.throws(() => load({ ETCD_USERNAME: 'root' }), (err: unknown) => err instanceof ConfigError && err.variable === 'ETCD_PASSWORD');
    const c = load({ ETCD_CA_FILE: pem, ETCD_ENDPOINTS: 'https://a:2379', ETCD_USERNAME: 'u', ETCD_PASSWORD: 'p' });
    assert.equal(c.etcd.tls?.ca?.toString(), '-----BEGIN CERTIFICATE-----\n');
    assert.deepEqual(c.etcd.auth, { username: 'u', password: 'p' });
  });

  test('TLS files come in pairs; the redirect port needs TLS', (t) => {
    const dir = tempDir(t, 'bp-tls-');
    writeFileSync(join(dir, 'pem'), 'x');
    assert.throws(() => load({ TLS_CERT_FILE: join(dir, 'pem') }), (err: unknown) => err instanceof ConfigError && err.variable === 'TLS_KEY_FILE');
    assert.throws(() => load({ HTTP_REDIRECT_PORT: '80' }), (err: unknown) => err instanceof ConfigError && err.variable === 'HTTP_REDIRECT_PORT');
    assert.throws(() => load({ TLS_CERT_FILE: join(dir, 'nope'), TLS_KEY_FILE: join(dir, 'pem') }), (err: unknown) => err instanceof ConfigError && err.variable === 'TLS_CERT_FILE');
    assert.deepEqual(load({ TLS_CERT_FILE: join(dir, 'pem'), TLS_KEY_FILE: join(dir, 'pem'), HTTP_REDIRECT_PORT: '80' }).tls, { certFile: join(dir, 'pem'), keyFile: join(dir, 'pem'), redirectPort: 80, http2: true });
  });

  test('HTTP2 is on by default, can be turned off, and a typo is refused even without TLS', (t) => {
    const dir = tempDir(t, 'bp-tls-');
    writeFileSync(join(dir, 'pem'), 'x');
    const tls = { TLS_CERT_FILE: join(dir, 'pem'), TLS_KEY_FILE: join(dir, 'pem') };
    assert.equal(load(tls).tls?.http2, true);
    assert.equal(load({ ...tls, HTTP2: 'false' }).tls?.http2, false);
    assert.equal(load({ ...tls, HTTP2: 'OFF' }).tls?.http2, false);
    assert.throws(() => load({ HTTP2: 'h2' }), (err: unknown) => err instanceof ConfigError && err.variable === 'HTTP2');
  });

  test('FAST_PATH is on by default, can be turned off, and a typo is refused', () => {
    assert.equal(load({}).fastPath, true);
    assert.equal(load({ FAST_PATH: 'false' }).fastPath, false);
    assert.equal(load({ FAST_PATH: 'no' }).fastPath, false);
    assert.throws(() => load({ FAST_PATH: 'fast' }), (err: unknown) => err instanceof ConfigError && err.variable === 'FAST_PATH');
  });
});

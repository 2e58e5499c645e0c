import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { accessDeniedInfo, foreignHostInfo, notLoadedInfo, notRoutedInfo, upstreamFailureInfo } from '../../../src/web/error-info.ts';
import type { Resolution } from '../../../src/routing/route-table.ts';
import { tableOf } from '../web/table-fixture.ts';

const BASE = { scheme: 'http', port: ':8080' };
const DOMAIN = 'dev.localhost';
const table = tableOf({
  'feature-login': { branch: 'feature/login', created: '2026-01-02T03:04:05Z', services: { web: 1001, api: 1002, admin: 1003, broken: 'no-port' } },
  main: { created: '2026-01-01T00:00:00Z', default: 'api', services: { web: 1004, api: 1005 } },
});

function notRouted(label: string, t = table) {
  const resolution = t.resolve(label, 'web');
  assert.notEqual(resolution.kind, 'route', label);
  return notRoutedInfo(resolution as Exclude<Resolution, { kind: 'route' }>, `${label}.${DOMAIN}:8080`, DOMAIN, t, BASE, 'web');
}

describe('error info: what each error page says', () => {
  test('unknown service: lists the routable services, the default one first, each with its address', () => {
    const info = notRouted('feature-login-nosuch');
    assert.equal(info.status, 404);
    assert.equal(info.error, 'unknown-service');
    assert.equal(info.deployment, 'feature-login');
    assert.equal(info.service, 'nosuch');
    assert.equal(info.branch, 'feature/login');
    assert.deepEqual(info.links?.map((l) => [l.label, l.href, l.detail]), [
      ['feature-login-web', 'http://feature-login-web.dev.localhost:8080', '127.0.0.1:1001'],
      ['feature-login-admin', 'http://feature-login-admin.dev.localhost:8080', '127.0.0.1:1003'],
      ['feature-login-api', 'http://feature-login-api.dev.localhost:8080', '127.0.0.1:1002'],
    ]);
    assert.equal(info.dashboard, 'http://dev.localhost:8080/');
    // The deployment's own default wins over DEFAULT_SERVICE.
    assert.deepEqual(notRouted('main-nosuch').links?.map((l) => l.label), ['main-api', 'main-web']);
  });

  test('unknown deployment: close names as suggestions (keeping the service), else the newest deployments', () => {
    const typo = notRouted('feature-logn');
    assert.equal(typo.error, 'unknown-deployment');
    assert.deepEqual(typo.suggestions, [{ label: 'feature-login', href: 'http://feature-login.dev.localhost:8080', detail: 'branch feature/login' }]);
    assert.equal(typo.links, undefined);
    assert.match(typo.message, /"feature-logn".*closest/);
    assert.deepEqual(notRouted('featur-login-api').suggestions?.map((s) => s.href), ['http://feature-login-api.dev.localhost:8080']);
    const nothingAlike = notRouted('zzzzzzzzzz');
    assert.deepEqual(nothingAlike.suggestions, []);
    assert.deepEqual(nothingAlike.links?.map((l) => l.label), ['feature-login', 'main']);
    assert.equal(nothingAlike.linksTitle, 'Newest deployments');
  });

  test('an empty registry says that nothing is registered', () => {
    const info = notRouted('anything', tableOf({}));
    assert.match(info.message, /No deployments are registered right now/);
    assert.equal(info.links, undefined);
  });

  test('before the first snapshot: 503, never a 404 claiming the deployment does not exist', () => {
    const info = notLoadedInfo('main.dev.localhost', DOMAIN, BASE);
    assert.deepEqual([info.status, info.error], [503, 'registry-not-loaded']);
    assert.match(info.message, /readyz/);
  });

  test('upstream failures name deployment, service, target and registration time; 504 is a timeout', () => {
    const d = table.deployments.get('feature-login')!;
    const target = d.services.get('api')!.target!;
    const refused = upstreamFailureInfo({ status: 502, reason: 'connection refused' }, 'feature-login-api.dev.localhost', d, 'api', target);
    assert.equal(refused.error, 'upstream-unavailable');
    assert.equal(refused.title, 'Bad Gateway');
    assert.deepEqual([refused.deployment, refused.service, refused.target, refused.registered, refused.branch], ['feature-login', 'api', '127.0.0.1:1002', '2026-01-02T03:04:05Z', 'feature/login']);
    assert.equal(refused.message, 'Service "api" of deployment "feature-login" at 127.0.0.1:1002: connection refused.');
    assert.ok(refused.time && Math.abs(Date.parse(refused.time) - Date.now()) < 60_000);
    const timeout = upstreamFailureInfo({ status: 504, reason: 'no answer in time' }, 'h', d, 'api', target);
    assert.deepEqual([timeout.status, timeout.error, timeout.title], [504, 'upstream-timeout', 'Gateway Timeout']);
  });

  test('foreign and missing hosts; access refusals', () => {
    assert.deepEqual(foreignHostInfo('', [DOMAIN]), { status: 400, error: 'missing-host', title: 'Bad Request', message: 'The request has no Host header. This proxy serves *.dev.localhost.' });
    const foreign = foreignHostInfo('evil.example.com', [DOMAIN, 'dev.example.com']);
    assert.deepEqual([foreign.status, foreign.error, foreign.host], [421, 'unknown-host', 'evil.example.com']);
    assert.match(foreign.message, /\*\.dev\.localhost, \*\.dev\.example\.com/);
    assert.equal(accessDeniedInfo({ status: 401, message: 'Log in' }).error, 'login-required');
    assert.equal(accessDeniedInfo({ status: 403, message: 'No' }).error, 'forbidden');
  });
});

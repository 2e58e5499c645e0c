import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEntry, decodeKey, MAX_VALUE_BYTES } from '../../../src/registry/codec.ts';
import fc from 'fast-check';
import type { DeploymentField, KeyRef } from '../../../src/registry/keys.ts';
import { parseKey, serviceKey, deploymentKey } from '../../../src/registry/keys.ts';
import { keyArbitrary } from '../../helpers/registry-arbitraries.ts';

const P = '/deployment/';
const put = (key: string, value: string | Buffer) => decodeEntry(P, key, typeof value === 'string' ? Buffer.from(value) : value);

describe('keys', () => {
  test('builders and parser agree', () => {
    assert.deepEqual(parseKey(P, serviceKey(P, 'main', 'web', 'ip')), { deployment: 'main', service: 'web', field: 'ip' });
    assert.deepEqual(parseKey(P, deploymentKey(P, 'main', 'created')), { deployment: 'main', field: 'created' });
    assert.equal(parseKey(P, '/deployment/main/service/web/ip/extra'), undefined);
    assert.equal(parseKey(P, '/deployment/main/unknown'), undefined);
    assert.equal(parseKey(P, '/other/main/created'), undefined);
  });

  test('any key: parseKey splits it as split("/") on the key layout would', () => {
    // The reference: the layout read literally, as parseKey was first written.
    const reference = (key: string): KeyRef | undefined => {
      if (!key.startsWith(P)) return undefined;
      const parts = key.slice(P.length).split('/');
      const [deployment, second, service, field] = parts;
      if (!deployment) return undefined;
      if (parts.length === 2 && ['created', 'branch', 'default', 'last-request', 'fallback', 'sleep', 'last-wake'].includes(second!)) return { deployment, field: second as DeploymentField };
      if (parts.length === 4 && second === 'service' && service && (field === 'ip' || field === 'port')) return { deployment, service, field };
      return undefined;
    };
    const part = fc.oneof(fc.constantFrom('', 'main', 'service', 'services', 'servic', 'web', 'ip', 'port', 'created', 'sleep', 'last-wake', 'x/y'), fc.string({ maxLength: 8 }));
    const key = fc.oneof(
      fc.array(part, { maxLength: 6 }).map((parts) => P + parts.join('/')),
      fc.tuple(fc.constantFrom(P, '/deployment', '/other/', ''), fc.string({ unit: 'binary', maxLength: 40 })).map(([p, rest]) => p + rest),
      keyArbitrary,
    );
    fc.assert(fc.property(key, (k) => assert.deepEqual(parseKey(P, k), reference(k))), { numRuns: 5000 });
  });
});

describe('decodeEntry', () => {
  test('valid values decode', () => {
    assert.deepEqual(put('/deployment/main/service/web/port', '8080'), { ok: true, ref: { deployment: 'main', service: 'web', field: 'port' }, value: 8080 });
    assert.equal(put('/deployment/main/service/web/ip', '10.1.2.3').ok, true);
    assert.equal(put('/deployment/main/service/web/ip', 'api.internal').ok, true);
    const v6 = put('/deployment/main/service/web/ip', '[fd00::1]');
    assert.equal(v6.ok && v6.value, 'fd00::1');
    assert.equal(put('/deployment/main/created', '2026-01-30T10:00:00Z').ok, true);
    assert.equal(put('/deployment/main/branch', 'Feature/Login_Page').ok, true);
    assert.equal(put('/deployment/main/default', 'api').ok, true);
    assert.deepEqual(put('/deployment/feature-x/fallback', 'release-2-4'), { ok: true, ref: { deployment: 'feature-x', field: 'fallback' }, value: 'release-2-4' });
  });

  test('invalid values are refused but keep their ref, so the old value can be dropped', () => {
    for (const [key, value] of [
      ['/deployment/main/service/web/port', 'abc'],
      ['/deployment/main/service/web/port', '0'],
      ['/deployment/main/service/web/port', '65536'],
      ['/deployment/main/service/web/port', ' 80'],
      ['/deployment/main/service/web/port', '8e3'],
      ['/deployment/main/service/web/ip', ''],
      ['/deployment/main/service/web/ip', 'not a host'],
      ['/deployment/main/created', 'yesterday'],
      ['/deployment/main/default', 'Not_A_Label'],
      ['/deployment/feature-x/fallback', 'Release/2.4'],
      ['/deployment/feature-x/fallback', ''],
      ['/deployment/main/branch', 'a\nb'],
    ] as const) {
      const d = put(key, value);
      assert.equal(d.ok, false, `${key}=${JSON.stringify(value)} must be refused`);
      assert.ok(!d.ok && d.ref, `${key} keeps its ref`);
    }
  });

  test('garbage bytes and huge values are refused', () => {
    assert.match(String(!put('/deployment/main/service/web/ip', Buffer.from([0xff, 0xfe])).ok && 'refused'), /refused/);
    const huge = put('/deployment/main/branch', 'x'.repeat(MAX_VALUE_BYTES + 1));
    assert.ok(!huge.ok && /bytes/.test(huge.reason));
  });

  test('keys outside the layout or with non-DNS names have no ref', () => {
    for (const key of ['/deployment/main/whatever', '/deployment/Main/service/web/ip', '/deployment/main/service/we.b/ip', '/deployment//created']) {
      const d = put(key, '1');
      assert.ok(!d.ok && d.ref === undefined, key);
    }
    assert.equal(decodeKey(P, '/deployment/main/service/web/ip').ok, true);
  });
});

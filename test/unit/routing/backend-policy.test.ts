import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createBackendPolicy, parseCidr } from '../../../src/routing/backend-policy.ts';

describe('createBackendPolicy', () => {
  const policy = createBackendPolicy({ allow: [], ownPorts: new Set([8080, 8081]), localAddresses: ['192.0.2.10'] });

  test('link-local and cloud metadata addresses are denied in every form', () => {
    for (const address of ['169.254.169.254', '169.254.0.1', '::ffff:169.254.169.254', '::ffff:a9fe:a9fe', 'fd00:ec2::254', 'fe80::1']) {
      assert.match(policy(address, 80) ?? '', /metadata/, address);
    }
  });

  test("the proxy's own ports on its own addresses are denied, other ports and hosts are not", () => {
    for (const address of ['127.0.0.1', '127.1.2.3', '::1', '0.0.0.0', '192.0.2.10']) assert.match(policy(address, 8081) ?? '', /own listeners/, address);
    assert.equal(policy('127.0.0.1', 3000), undefined);
    assert.equal(policy('10.1.2.3', 8080), undefined);
    assert.equal(policy('backend.internal', 8080), undefined, 'host names are checked once resolved');
  });

  test('BACKEND_ALLOW narrows further', () => {
    const narrow = createBackendPolicy({ allow: ['10.0.0.0/8', 'fd00::/8'], ownPorts: new Set(), localAddresses: [] });
    assert.equal(narrow('10.9.8.7', 80), undefined);
    assert.equal(narrow('fd12::1', 80), undefined);
    assert.match(narrow('192.168.1.1', 80) ?? '', /BACKEND_ALLOW/);
    assert.match(narrow('169.254.169.254', 80) ?? '', /metadata/, 'the deny list still applies');
  });

  test('parseCidr', () => {
    assert.deepEqual(parseCidr('10.0.0.0/8'), ['10.0.0.0', 8]);
    assert.deepEqual(parseCidr('::1'), ['::1', 128]);
    for (const bad of ['10.0.0.0/33', 'x/8', '10.0.0.0/', '']) assert.equal(parseCidr(bad), undefined, bad);
  });
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BlockList, isIP } from 'node:net';
import fc from 'fast-check';
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

  test('IPv4 addresses get the same verdict as a BlockList of the same rules (the policy compares them as numbers)', () => {
    const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
    // Near the interesting ranges as well as anywhere, so matches and near misses both occur.
    const address = fc.oneof(ipv4, fc.constantFrom('169.254.', '169.255.', '10.', '127.', '0.').chain((p) => ipv4.map((a) => p + a.split('.').slice(p.split('.').length - 1).join('.'))));
    const v4Cidr = fc.tuple(address, fc.nat(32)).map(([a, p]) => `${a}/${p}`);
    const cidr = fc.oneof(v4Cidr, v4Cidr, fc.tuple(address, fc.integer({ min: 96, max: 128 })).map(([a, p]) => `::ffff:${a}/${p}`), fc.constant('fd00::/8'));
    fc.assert(
      fc.property(fc.array(cidr, { maxLength: 3 }), address, fc.constantFrom(80, 8081), (allow, a, port) => {
        const policy = createBackendPolicy({ allow, ownPorts: new Set([8081]), localAddresses: ['192.0.2.10'] });
        assert.equal(policy(a, port), referencePolicy(allow, a, port));
      }),
      { numRuns: 2000 },
    );
  });

  test('parseCidr', () => {
    assert.deepEqual(parseCidr('10.0.0.0/8'), ['10.0.0.0', 8]);
    assert.deepEqual(parseCidr('::1'), ['::1', 128]);
    for (const bad of ['10.0.0.0/33', 'x/8', '10.0.0.0/', '']) assert.equal(parseCidr(bad), undefined, bad);
  });
});

/** The policy as BlockList alone decides it, for every family: what the IPv4 fast path must agree with. */
function referencePolicy(allowCidrs: readonly string[], address: string, port: number): string | undefined {
  const family = (a: string): 'ipv4' | 'ipv6' => (isIP(a) === 6 ? 'ipv6' : 'ipv4');
  const metadata = new BlockList();
  metadata.addSubnet('169.254.0.0', 16, 'ipv4');
  if (metadata.check(address, family(address))) return 'link-local and cloud metadata addresses are never proxied to';
  if (allowCidrs.length > 0) {
    const allow = new BlockList();
    for (const c of allowCidrs) {
      const [a, p] = parseCidr(c)!;
      allow.addSubnet(a, p, family(a));
    }
    if (!allow.check(address, family(address))) return 'the address is outside BACKEND_ALLOW';
  }
  const self = new BlockList();
  self.addSubnet('127.0.0.0', 8, 'ipv4');
  self.addAddress('0.0.0.0', 'ipv4');
  self.addAddress('192.0.2.10', 'ipv4');
  if (port === 8081 && self.check(address, family(address))) return "that is one of the proxy's own listeners";
  return undefined;
}

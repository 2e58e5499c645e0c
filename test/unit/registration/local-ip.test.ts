import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NetworkInterfaceInfo } from 'node:os';
import { firstExternalIpv4 } from '../../../src/registration/local-ip.ts';

const addr = (address: string, family: 'IPv4' | 'IPv6', internal: boolean): NetworkInterfaceInfo =>
  ({ address, family, internal, netmask: '', mac: '', cidr: null, scopeid: family === 'IPv6' ? 0 : undefined }) as NetworkInterfaceInfo;

test('the first non-internal IPv4 address, skipping loopback and IPv6', () => {
  assert.equal(
    firstExternalIpv4({ lo: [addr('127.0.0.1', 'IPv4', true)], eth0: [addr('fe80::1', 'IPv6', false), addr('10.0.0.7', 'IPv4', false)], eth1: [addr('192.168.1.2', 'IPv4', false)] }),
    '10.0.0.7',
  );
  assert.equal(firstExternalIpv4({ lo: [addr('127.0.0.1', 'IPv4', true)] }), undefined);
});

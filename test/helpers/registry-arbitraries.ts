import fc from 'fast-check';
import { PREFIX } from './registry.ts';

/** Registry keys: mostly from a small pool of names (so writes collide), some hostile. */
export const keyArbitrary: fc.Arbitrary<string> = (() => {
  const name = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('main', 'a-b', 'x') },
    { weight: 1, arbitrary: fc.constantFrom('web', 'BAD', 'a_b', '-x', 'x-', 'ü', '', 'a'.repeat(64), 'a'.repeat(63), '..', 'a b') },
  );
  const plausible = fc.tuple(fc.constantFrom('main', 'a-b', 'x'), fc.constantFrom('web', 'api'), fc.constantFrom('ip', 'port')).map(([d, s, f]) => `${PREFIX}${d}/service/${s}/${f}`);
  const service = fc.tuple(name, name, fc.constantFrom('ip', 'port', 'junk', 'IP', '')).map(([d, s, f]) => `${PREFIX}${d}/service/${s}/${f}`);
  const meta = fc.tuple(name, fc.constantFrom('created', 'branch', 'default', 'last-request', 'other')).map(([d, f]) => `${PREFIX}${d}/${f}`);
  const hostile = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 80 }).map((s) => PREFIX + s),
    fc.tuple(name, name).map(([d, s]) => `${PREFIX}${d}/service/${s}/ip/extra`),
    fc.tuple(name, name).map(([d, s]) => `${PREFIX}${d}//service/${s}/port`),
  );
  return fc.oneof({ weight: 6, arbitrary: plausible }, { weight: 3, arbitrary: service }, { weight: 2, arbitrary: meta }, { weight: 2, arbitrary: hostile });
})();

/** Values: valid loopback addresses and ports, and the shapes registration scripts get wrong. */
export const LOOPBACK = ['127.0.0.1', '127.0.0.2', '::1', '[::1]', 'localhost'];
export const valueArbitrary: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...LOOPBACK, '80', '8080', '65535', '1', 'web', 'api', '2026-11-26T09:00:00Z', 'feature/x').map((v) => Buffer.from(v)) },
  { weight: 2, arbitrary: fc.constantFrom('0', '65536', '080', ' 80', '80 ', '1e3', '-1', '0x50', '８０', '', ' ', 'not an ip', '127.0.0.1:80', '169.254.169.254', '256.1.1.1', '::ffff:169.254.169.254').map((v) => Buffer.from(v)) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)) },
  { weight: 1, arbitrary: fc.constantFrom(Buffer.from([0xff, 0xfe, 0x38, 0x30]), Buffer.alloc(1025, '1'), Buffer.alloc(2000, 'a')) },
);

/** A key and a value; ip and port keys mostly get values of their own kind, so that routes form and break. */
export const entryArbitrary: fc.Arbitrary<[string, Buffer]> = keyArbitrary.chain((key) => {
  const own = key.endsWith('/ip') ? LOOPBACK : key.endsWith('/port') ? ['80', '8080', '1', '65535'] : undefined;
  const value = own ? fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...own).map((v) => Buffer.from(v)) }, { weight: 1, arbitrary: valueArbitrary }) : valueArbitrary;
  return fc.tuple(fc.constant(key), value);
});

/** An independent, deliberately simple check of what may route: DNS-label names, 1..65535 in digits. */
export function mayRoute(deployment: string, service: string, ip: Buffer | undefined, port: Buffer | undefined): boolean {
  const label = /^[a-z0-9-]{1,63}$/;
  if (!label.test(deployment) || !label.test(service) || !ip || !port) return false;
  const p = port.toString('latin1');
  return /^[0-9]{1,5}$/.test(p) && Number(p) >= 1 && Number(p) <= 65535 && ip.length > 0 && ip.length <= 1024 && !/[\s\0]/.test(ip.toString('latin1'));
}

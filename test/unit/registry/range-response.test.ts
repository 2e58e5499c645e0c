import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { loadSync } from '@grpc/proto-loader';
import type { IRangeResponse } from 'etcd3';
import fc from 'fast-check';
import { decodeRangeResponse, RangeDecodeError } from '../../../src/registry/range-response.ts';
import { rangePage } from '../../../src/registry/read-snapshot.ts';

/** The oracle: etcd3's own decoding, the protocol definition loaded with the options etcd3 loads it with. */
const etcd3Proto = join(dirname(createRequire(import.meta.url).resolve('etcd3/package.json')), 'proto/rpc.proto');
const range = (loadSync(etcd3Proto, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true })['etcdserverpb.KV'] as Record<string, { responseSerialize(v: unknown): Buffer; responseDeserialize(b: Buffer): unknown }>).Range!;

const int64 = fc.oneof(fc.constant('0'), fc.bigInt({ min: 0n, max: 2n ** 53n - 1n }).map(String), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String));
const uint64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String);
const bytes = fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.constantFrom(Buffer.from('/deployment/main/service/web/ip'), Buffer.from('127.0.0.1'), Buffer.from([0xff, 0x00, 0x80])));
const keyValue = fc.record({ key: bytes, create_revision: int64, mod_revision: int64, version: int64, value: bytes, lease: int64 }, { requiredKeys: [] });
const response = fc.record(
  {
    header: fc.record({ cluster_id: uint64, member_id: uint64, revision: fc.bigInt({ min: 0n, max: 2n ** 53n - 1n }).map(String), raft_term: uint64 }, { requiredKeys: [] }),
    kvs: fc.array(keyValue, { maxLength: 20 }),
    more: fc.boolean(),
    count: int64,
  },
  { requiredKeys: [] },
);

/** Fields a newer etcd could add: every wire type the decoder skips, with field numbers it does not know. */
const unknownField = fc.oneof(
  fc.tuple(fc.integer({ min: 5, max: 2000 }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })).map(([field, v]) => Buffer.concat([varint(BigInt(field * 8)), varint(v)])),
  fc.tuple(fc.integer({ min: 5, max: 2000 }), fc.uint8Array({ maxLength: 20 })).map(([field, b]) => Buffer.concat([varint(BigInt(field * 8 + 2)), varint(BigInt(b.length)), b])),
  fc.tuple(fc.integer({ min: 5, max: 2000 }), fc.uint8Array({ minLength: 8, maxLength: 8 })).map(([field, b]) => Buffer.concat([varint(BigInt(field * 8 + 1)), b])),
  fc.tuple(fc.integer({ min: 5, max: 2000 }), fc.uint8Array({ minLength: 4, maxLength: 4 })).map(([field, b]) => Buffer.concat([varint(BigInt(field * 8 + 5)), b])),
);

function varint(v: bigint): Buffer {
  const out: number[] = [];
  do {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? byte | 0x80 : byte);
  } while (v > 0n);
  return Buffer.from(out);
}

function oracle(buf: Buffer): ReturnType<typeof rangePage> | Error {
  try {
    return rangePage(range.responseDeserialize(buf) as IRangeResponse);
  } catch (err) {
    return err as Error;
  }
}

function decoded(buf: Buffer): ReturnType<typeof decodeRangeResponse> | Error {
  try {
    return decodeRangeResponse(buf);
  } catch (err) {
    assert.ok(err instanceof RangeDecodeError, `only RangeDecodeError is thrown, not ${String(err)}`);
    return err;
  }
}

describe('decodeRangeResponse', () => {
  test('any RangeResponse, with fields it does not know in any order: what etcd3 decodes, as latin1 strings', () => {
    fc.assert(
      fc.property(response, fc.array(fc.tuple(unknownField, fc.boolean()), { maxLength: 4 }), (message, extra) => {
        let buf = range.responseSerialize(message);
        // A message's fields may come in any order: unknown ones go before or after the known ones.
        for (const [field, before] of extra) buf = Buffer.concat(before ? [field, buf] : [buf, field]);
        assert.deepEqual(decoded(buf), oracle(buf));
      }),
      { numRuns: 2000 },
    );
  });

  // gRPC hands over whole messages; a cut one would be a bug elsewhere. protobufjs reads some cut
  // varints as zeros; the decoder refuses them all (readRange then asks etcd3), and never decodes differently.
  test('a message cut short anywhere: refused where etcd3 refuses it, otherwise refused or decoded as etcd3 decodes it', () => {
    let refusedOnlyHere = 0;
    fc.assert(
      fc.property(response.map((m) => range.responseSerialize(m)), fc.nat(), (full, at) => {
        const buf = full.subarray(0, full.length === 0 ? 0 : at % full.length);
        const expected = oracle(buf);
        const actual = decoded(buf);
        if (expected instanceof Error) assert.ok(actual instanceof Error, `etcd3 refuses this (${expected.message}); so must the decoder`);
        else if (actual instanceof Error) refusedOnlyHere++;
        else assert.deepEqual(actual, expected);
      }),
      { numRuns: 2000 },
    );
    assert.ok(refusedOnlyHere < 2000 / 2, `most cut messages are decoded or refused alike (${refusedOnlyHere} refused by the decoder alone)`);
  });

  test('a field twice: the last one counts, as in etcd3', () => {
    const first = range.responseSerialize({ header: { revision: '7' }, more: true, kvs: [{ key: Buffer.from('a'), value: Buffer.from('1') }] });
    const second = range.responseSerialize({ header: { member_id: '3' }, more: false, kvs: [{ key: Buffer.from('b'), value: Buffer.from('2') }] });
    const buf = Buffer.concat([first, second]);
    assert.deepEqual(decodeRangeResponse(buf), oracle(buf));
    assert.deepEqual(decodeRangeResponse(buf), { revision: 0, more: false, kvs: ['a', '1', 'b', '2'] });
  });
});

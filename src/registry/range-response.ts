/**
 * A snapshot page as the registry loads it: key, value, key, value, ... each a latin1
 * string, one character per byte, so bytes that are not UTF-8 reach the codec as
 * they are (and cross the cluster's JSON IPC unchanged).
 */
export type Latin1Page = readonly string[];

/** Key/value pairs as etcd3 decodes them, as a Latin1Page. */
export function latin1Page(kvs: readonly { readonly key: Buffer; readonly value: Buffer }[]): string[] {
  const page: string[] = [];
  for (const kv of kvs) page.push(kv.key.toString('latin1'), kv.value.toString('latin1'));
  return page;
}

/** What a snapshot read needs of etcd's RangeResponse. */
export interface RangePage {
  /** header.revision: the store's revision the page was read at. */
  readonly revision: number;
  readonly more: boolean;
  readonly kvs: Latin1Page;
}

/** The response is not a RangeResponse this decoder takes (etcd never sends one; see readRange). */
export class RangeDecodeError extends Error {}

// Field numbers of etcdserverpb.RangeResponse, ResponseHeader and mvccpb.KeyValue (etcd3's proto/*.proto).
const RESPONSE_HEADER = 1;
const RESPONSE_KVS = 2;
const RESPONSE_MORE = 3;
const HEADER_REVISION = 3;
const KV_KEY = 1;
const KV_VALUE = 5;

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

/**
 * Decodes the protobuf wire format of a RangeResponse into latin1 strings straight
 * from the message's bytes. etcd3's own decoding (protobufjs objects, a Buffer per key
 * and per value, four 64-bit revisions turned into strings per key) took most of the
 * start-up CPU at 100,000 routes (docs/benchmarks.md); the differential test against
 * protobufjs (test/unit/registry/range-response.test.ts) keeps the two equal.
 * As protobufjs does, unknown fields are skipped and a field seen twice keeps the last.
 */
export function decodeRangeResponse(buf: Buffer): RangePage {
  const r = new Reader(buf, 0, buf.length);
  let revision = 0;
  let more = false;
  const kvs: string[] = [];
  while (r.pos < r.end) {
    const tag = r.varint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field === RESPONSE_HEADER && wire === LENGTH_DELIMITED) {
      // A message field seen twice replaces the first, as protobufjs decodes it.
      revision = 0;
      const header = r.sub();
      while (header.pos < header.end) {
        const t = header.varint();
        if (Math.floor(t / 8) === HEADER_REVISION && t % 8 === VARINT) revision = header.varint();
        else header.skip(t % 8);
      }
    } else if (field === RESPONSE_KVS && wire === LENGTH_DELIMITED) {
      const kv = r.sub();
      let key = '';
      let value = '';
      while (kv.pos < kv.end) {
        const t = kv.varint();
        const f = Math.floor(t / 8);
        if (f === KV_KEY && t % 8 === LENGTH_DELIMITED) key = kv.latin1();
        else if (f === KV_VALUE && t % 8 === LENGTH_DELIMITED) value = kv.latin1();
        else kv.skip(t % 8);
      }
      kvs.push(key, value);
    } else if (field === RESPONSE_MORE && wire === VARINT) {
      // protobufjs reads a bool as a 32-bit varint.
      more = r.varint() % 2 ** 32 !== 0;
    } else {
      r.skip(wire);
    }
  }
  return { revision, more, kvs };
}

class Reader {
  constructor(
    private readonly buf: Buffer,
    public pos: number,
    public readonly end: number,
  ) {}

  /** An unsigned varint of up to 64 bits, as a number (exact below 2^53, as revisions are). */
  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new RangeDecodeError('truncated varint');
      const byte = this.buf[this.pos++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
    throw new RangeDecodeError('varint longer than 10 bytes');
  }

  #length(): number {
    const length = this.varint();
    if (length > this.end - this.pos) throw new RangeDecodeError('length beyond the end of the message');
    return length;
  }

  latin1(): string {
    const length = this.#length();
    this.pos += length;
    return this.buf.toString('latin1', this.pos - length, this.pos);
  }

  /** The embedded message here, as a reader of its own; this one moves past it. */
  sub(): Reader {
    const length = this.#length();
    this.pos += length;
    return new Reader(this.buf, this.pos - length, this.pos);
  }

  skip(wire: number): void {
    if (wire === VARINT) this.varint();
    else if (wire === LENGTH_DELIMITED) {
      const length = this.#length();
      this.pos += length;
    }
    else if (wire === FIXED64 || wire === FIXED32) {
      const size = wire === FIXED64 ? 8 : 4;
      if (size > this.end - this.pos) throw new RangeDecodeError('truncated fixed-size field');
      this.pos += size;
    } else throw new RangeDecodeError(`unsupported wire type ${wire}`);
  }
}

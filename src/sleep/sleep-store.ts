import type { Etcd3 } from 'etcd3';
import { decodeLastWakeValue, decodeSleepValue } from '../registry/codec.ts';
import { servicesPrefix, sleepStateKey } from '../registry/keys.ts';
import type { SleepRecord } from './sleep-record.ts';
import { encodeLastWake, encodeSleepRecord } from './sleep-record.ts';

/** A sleep record as stored, with the mod revision every change to it must name. */
export type StoredSleep =
  | { readonly record: SleepRecord; readonly modRevision: string }
  /** Something that is not a valid record: it can still be replaced or removed by its revision. */
  | { readonly record: undefined; readonly invalid: string; readonly modRevision: string };

export type ClaimResult = { readonly won: true; readonly modRevision: string } | { readonly won: false };

/**
 * The sleep records in etcd, for the proxy and the CLI alike. Every change is
 * one transaction that compares the record's mod revision with the one the
 * caller read: of several replicas (or a replica and the CLI) acting on the
 * same record, exactly one succeeds, and the others see that they lost.
 */
export class SleepStore {
  readonly #connect: () => Promise<Etcd3>;

  /** `client` may be a function that connects on first use (a cluster worker's, see watchRegistry). */
  constructor(
    client: Etcd3 | (() => Promise<Etcd3>),
    private readonly prefix: string,
  ) {
    this.#connect = typeof client === 'function' ? client : () => Promise.resolve(client);
  }

  async read(deployment: string): Promise<StoredSleep | undefined> {
    const client = await this.#connect();
    const res = await client.kv.range({ key: Buffer.from(this.#key(deployment)) });
    const kv = res.kvs[0];
    if (!kv) return undefined;
    const decoded = decodeSleepValue(kv.value);
    return decoded.ok ? { record: decoded.record, modRevision: kv.mod_revision } : { record: undefined, invalid: decoded.reason, modRevision: kv.mod_revision };
  }

  /**
   * Writes `next` if the record is still at `expected` (`absent`: there is
   * none). Returns the new revision to name in the next change, or that
   * someone else changed the record first.
   */
  async claim(deployment: string, expected: string | 'absent', next: SleepRecord): Promise<ClaimResult> {
    const client = await this.#connect();
    const key = this.#key(deployment);
    const txn = await client
      .if(key, 'Mod', '==', expected === 'absent' ? 0 : expected)
      .then(client.put(key).value(encodeSleepRecord(next)))
      .commit();
    return txn.succeeded ? { won: true, modRevision: txn.header.revision } : { won: false };
  }

  /**
   * The end of a sleep, in one step: the `asleep` record replaces the claim and
   * every service key of the deployment goes (its backends are stopped, so
   * routes to them must not linger until their leases expire).
   */
  async fallAsleep(deployment: string, expected: string, asleep: SleepRecord): Promise<ClaimResult> {
    const client = await this.#connect();
    const key = this.#key(deployment);
    const txn = await client
      .if(key, 'Mod', '==', expected)
      .then(client.put(key).value(encodeSleepRecord(asleep)), client.delete().prefix(servicesPrefix(this.prefix, deployment)))
      .commit();
    return txn.succeeded ? { won: true, modRevision: txn.header.revision } : { won: false };
  }

  /** Removes the record if still at `expected`; with `lastWake`, records how long the wake took in the same step. */
  async remove(deployment: string, expected: string, lastWake?: { ms: number; at: string }): Promise<boolean> {
    const client = await this.#connect();
    const key = this.#key(deployment);
    const ops = [client.delete().key(key), ...(lastWake ? [client.put(this.#lastWakeKey(deployment)).value(encodeLastWake(lastWake))] : [])];
    const txn = await client.if(key, 'Mod', '==', expected).then(...ops).commit();
    return txn.succeeded;
  }

  /** How long the last completed wake took, or undefined when never woken (or the value is invalid). */
  async readLastWake(deployment: string): Promise<{ ms: number; at: string } | undefined> {
    const client = await this.#connect();
    const res = await client.kv.range({ key: Buffer.from(this.#lastWakeKey(deployment)) });
    const kv = res.kvs[0];
    if (!kv) return undefined;
    const decoded = decodeLastWakeValue(kv.value);
    return decoded.ok ? decoded.lastWake : undefined;
  }

  async writeLastWake(deployment: string, lastWake: { ms: number; at: string }): Promise<void> {
    const client = await this.#connect();
    await client.put(this.#lastWakeKey(deployment)).value(encodeLastWake(lastWake)).exec();
  }

  #key(deployment: string): string {
    return sleepStateKey(this.prefix, deployment, 'sleep');
  }

  #lastWakeKey(deployment: string): string {
    return sleepStateKey(this.prefix, deployment, 'last-wake');
  }
}

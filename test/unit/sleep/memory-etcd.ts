import { decodeSleepValue } from '../../../src/registry/codec.ts';
import { deploymentKey, serviceKey, servicesPrefix, sleepStateKey } from '../../../src/registry/keys.ts';
import { Registry } from '../../../src/registry/registry.ts';
import type { RegistryEvent } from '../../../src/registry/registry.ts';
import type { SleepRecord } from '../../../src/sleep/sleep-record.ts';
import { encodeLastWake, encodeSleepRecord } from '../../../src/sleep/sleep-record.ts';
import type { ClaimResult, SleepStore, StoredSleep } from '../../../src/sleep/sleep-store.ts';
import { memoryLogger } from '../../helpers/memory-logger.ts';
import { PREFIX } from '../../helpers/registry.ts';

/**
 * etcd as the waker sees it, in memory, for unit tests of its state machine: keys with
 * mod revisions, transactions that compare them (SleepStore's semantics), and a
 * real Registry fed each transaction's events as one batch on a later turn, like a
 * watch. I/O against the real etcd is tested in test/e2e/sleep-wake.test.ts.
 */
export class MemoryEtcd {
  readonly registry = new Registry(PREFIX, memoryLogger('silent').log);
  readonly #kv = new Map<string, { value: string; modRevision: number }>();
  #revision = 1;
  #readGate: Promise<void> | undefined;

  constructor() {
    this.registry.replace(this.registry.newTable(), 1);
  }

  /** The waker's store: read, claim and remove by mod revision. */
  readonly store: Pick<SleepStore, 'read' | 'claim' | 'remove'> = {
    read: async (deployment: string): Promise<StoredSleep | undefined> => {
      const gate = this.#readGate;
      this.#readGate = undefined;
      if (gate) await gate;
      const kv = this.#kv.get(sleepStateKey(PREFIX, deployment, 'sleep'));
      if (!kv) return undefined;
      const decoded = decodeSleepValue(Buffer.from(kv.value));
      const modRevision = String(kv.modRevision);
      return decoded.ok ? { record: decoded.record, modRevision } : { record: undefined, invalid: decoded.reason, modRevision };
    },
    claim: async (deployment: string, expected: string | 'absent', next: SleepRecord): Promise<ClaimResult> => {
      const key = sleepStateKey(PREFIX, deployment, 'sleep');
      if (!this.#matches(key, expected)) return { won: false };
      return { won: true, modRevision: String(this.txn([{ put: key, value: encodeSleepRecord(next) }])) };
    },
    remove: async (deployment: string, expected: string, lastWake?: { ms: number; at: string }): Promise<boolean> => {
      const key = sleepStateKey(PREFIX, deployment, 'sleep');
      if (!this.#matches(key, expected)) return false;
      this.txn([{ delete: key }, ...(lastWake ? [{ put: sleepStateKey(PREFIX, deployment, 'last-wake'), value: encodeLastWake(lastWake) }] : [])]);
      return true;
    },
  };

  /** The next read waits until the returned function is called. */
  gateNextRead(): () => void {
    let open!: () => void;
    this.#readGate = new Promise((resolve) => (open = resolve));
    return open;
  }

  get(key: string): string | undefined {
    return this.#kv.get(key)?.value;
  }

  record(deployment: string): SleepRecord | undefined {
    const value = this.get(sleepStateKey(PREFIX, deployment, 'sleep'));
    return value === undefined ? undefined : (JSON.parse(value) as SleepRecord);
  }

  /** A deployment that fell asleep with these services: its `created` key and its `asleep` record. */
  asleep(deployment: string, services: string[], extra: Partial<SleepRecord> = {}): void {
    this.txn([
      { put: deploymentKey(PREFIX, deployment, 'created'), value: '2026-01-30T10:00:00.000Z' },
      { put: sleepStateKey(PREFIX, deployment, 'sleep'), value: encodeSleepRecord({ state: 'asleep', since: new Date().toISOString(), services, ...extra }) },
    ]);
  }

  putRecord(deployment: string, record: SleepRecord): void {
    this.txn([{ put: sleepStateKey(PREFIX, deployment, 'sleep'), value: encodeSleepRecord(record) }]);
  }

  /** A service registers, ip and port in one transaction. */
  register(deployment: string, service: string, port: number): void {
    this.txn([
      { put: serviceKey(PREFIX, deployment, service, 'ip'), value: '127.0.0.1' },
      { put: serviceKey(PREFIX, deployment, service, 'port'), value: String(port) },
    ]);
  }

  /** A sleep's last step as SleepStore.fallAsleep writes it: the `asleep` record and the service keys' removal, one transaction. */
  fallAsleep(deployment: string, record: SleepRecord): void {
    const prefix = servicesPrefix(PREFIX, deployment);
    this.txn([{ put: sleepStateKey(PREFIX, deployment, 'sleep'), value: encodeSleepRecord(record) }, ...[...this.#kv.keys()].filter((k) => k.startsWith(prefix)).map((k) => ({ delete: k }))]);
  }

  /** Applies the operations at one new revision; the registry gets them as one watch batch on a later turn. */
  txn(ops: ({ put: string; value: string } | { delete: string })[]): number {
    const revision = ++this.#revision;
    const events: RegistryEvent[] = [];
    for (const op of ops) {
      if ('put' in op) {
        this.#kv.set(op.put, { value: op.value, modRevision: revision });
        events.push({ type: 'put', key: Buffer.from(op.put), value: Buffer.from(op.value), revision });
      } else if (this.#kv.delete(op.delete)) {
        events.push({ type: 'delete', key: Buffer.from(op.delete), value: Buffer.alloc(0), revision });
      }
    }
    setImmediate(() => this.registry.apply(events));
    return revision;
  }

  #matches(key: string, expected: string | 'absent'): boolean {
    const kv = this.#kv.get(key);
    return expected === 'absent' ? kv === undefined : kv !== undefined && String(kv.modRevision) === expected;
  }
}

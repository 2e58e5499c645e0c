import type { Etcd3, IKeyValue, IRequestOp } from 'etcd3';
import { decodeEntry } from '../registry/codec.ts';
import { deploymentKey, serviceKey } from '../registry/keys.ts';

/** What one `register` process puts into etcd. */
export interface RegistrationTarget {
  readonly prefix: string;
  readonly deployment: string;
  /** The raw git branch, when registered by `--branch`; stored once in `<deployment>/branch`. */
  readonly branch: string | undefined;
  readonly service: string;
  readonly ip: string;
  readonly port: number;
  /** Take the deployment name even though another raw branch owns it. */
  readonly force: boolean;
  /** Also make this service the one `<deployment>.<domain>` opens. */
  readonly makeDefault: boolean;
  /** The deployment whose services this one inherits (`<deployment>/fallback`); undefined leaves the key as it is. */
  readonly fallback?: string;
}

/** The deployment name already belongs to another raw branch (two branches with the same slug). */
export class SlugTakenError extends Error {
  override name = 'SlugTakenError';
  constructor(
    readonly deployment: string,
    readonly owner: string,
    readonly branch: string,
  ) {
    super(
      `deployment "${deployment}" belongs to branch ${JSON.stringify(owner)}, not ${JSON.stringify(branch)} (both have the same slug); ` +
        'deregister it first, register with --deployment <another name>, or pass --force to take it over',
    );
  }
}

export type WriteOutcome =
  | { readonly kind: 'registered'; readonly createdDeployment: boolean }
  /** Another live lease owns the service's keys: a newer instance registered meanwhile. */
  | { readonly kind: 'superseded'; readonly owner: string };

const MAX_ATTEMPTS = 10;

/**
 * Writes ip and port attached to `leaseId` (and `created`, `branch`, `default`,
 * `fallback` when missing or different) in ONE transaction, so the proxy never sees half a route.
 *
 * Optimistic concurrency: the keys are read, checked (slug ownership,
 * superseding), then written under a compare that each key's mod_revision is
 * still what was read; a concurrent writer makes the transaction fail and the
 * whole step is repeated.
 *
 * @param ownLeases undefined on the first registration, which always takes
 *   the keys over (the newest instance wins a redeploy). When writing again
 *   after a lost lease, the keys must be absent or held by one of this
 *   process's leases: keys held by any other lease belong to a newer instance,
 *   which is left alone.
 */
export async function writeRegistration(client: Etcd3, t: RegistrationTarget, leaseId: string, ownLeases?: ReadonlySet<string>): Promise<WriteOutcome> {
  const keys = {
    ip: serviceKey(t.prefix, t.deployment, t.service, 'ip'),
    port: serviceKey(t.prefix, t.deployment, t.service, 'port'),
    created: deploymentKey(t.prefix, t.deployment, 'created'),
    branch: deploymentKey(t.prefix, t.deployment, 'branch'),
    default: deploymentKey(t.prefix, t.deployment, 'default'),
    fallback: deploymentKey(t.prefix, t.deployment, 'fallback'),
  };
  const watched = Object.values(keys);
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const read = await client.kv.txn({ success: watched.map((key) => ({ request_range: { key: Buffer.from(key) } })) });
    const current = new Map<string, IKeyValue>();
    for (const res of read.responses) for (const kv of res.response_range.kvs) current.set(kv.key.toString(), kv);

    const owner = current.get(keys.branch)?.value.toString();
    if (t.branch !== undefined && owner !== undefined && owner !== t.branch && !t.force) throw new SlugTakenError(t.deployment, owner, t.branch);
    const holder = current.get(keys.ip)?.lease;
    if (ownLeases !== undefined && holder !== undefined && holder !== leaseId && !ownLeases.has(holder)) return { kind: 'superseded', owner: holder };

    const puts: IRequestOp[] = [put(t.prefix, keys.ip, t.ip, leaseId), put(t.prefix, keys.port, String(t.port), leaseId)];
    const createdDeployment = !current.has(keys.created);
    // Deployment metadata has no lease: it outlives one service's restart and is removed by deregister/prune.
    if (createdDeployment) puts.push(put(t.prefix, keys.created, new Date().toISOString()));
    if (t.branch !== undefined && owner !== t.branch) puts.push(put(t.prefix, keys.branch, t.branch));
    if (t.makeDefault && current.get(keys.default)?.value.toString() !== t.service) puts.push(put(t.prefix, keys.default, t.service));
    if (t.fallback !== undefined && current.get(keys.fallback)?.value.toString() !== t.fallback) puts.push(put(t.prefix, keys.fallback, t.fallback));

    const write = await client.kv.txn({
      compare: watched.map((key) => ({ key: Buffer.from(key), target: 'Mod', result: 'Equal', mod_revision: current.get(key)?.mod_revision ?? 0 })),
      success: puts,
    });
    if (write.succeeded) return { kind: 'registered', createdDeployment };
  }
  throw new Error(`registry keys of ${t.deployment}/${t.service} kept changing during ${MAX_ATTEMPTS} attempts to register`);
}

/** A put of a value the proxy's codec accepts; anything else is a bug caught before it reaches etcd. */
function put(prefix: string, key: string, value: string, lease?: string): IRequestOp {
  const bytes = Buffer.from(value);
  const decoded = decodeEntry(prefix, key, bytes);
  if (!decoded.ok) throw new Error(`refusing to write ${key}=${JSON.stringify(value)}: ${decoded.reason}`);
  return { request_put: { key: Buffer.from(key), value: bytes, ...(lease ? { lease } : {}) } };
}

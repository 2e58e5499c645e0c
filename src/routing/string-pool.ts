/*
 * Strings the route table keeps for as long as a route lives. At ~100,000
 * routes one needless string per route is megabytes (issue #5).
 */

/**
 * Shares equal strings: every etcd value and key part arrives as a string of
 * its own, while service names and backend hosts repeat across deployments.
 * Emptied when full, so churning values (pod IPs) cannot grow it without bound.
 */
export class StringPool {
  readonly #strings = new Map<string, string>();

  constructor(private readonly max: number) {}

  get(s: string): string {
    const shared = this.#strings.get(s);
    if (shared !== undefined) return shared;
    if (this.#strings.size >= this.max) this.#strings.clear();
    this.#strings.set(s, s);
    return s;
  }
}

/**
 * A name cut out of an etcd key of 13 characters or more is a view into the
 * whole key string (V8's sliced strings), which the table would keep alive for
 * as long as the deployment: about 64 bytes more per deployment. A copy keeps
 * only the name.
 */
export function ownCopy(name: string): string {
  return name.length < 13 ? name : Buffer.from(name, 'utf8').toString('utf8');
}

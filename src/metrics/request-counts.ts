/** Label value for requests whose deployment or service is not in the route table. */
export const UNKNOWN = '(unknown)';

/** `fallback` label value of a request its own deployment served. */
export const DIRECT = '';

type Codes = Map<number, number>;

/**
 * Request counts by deployment, service, fallback base and status code, kept in
 * plain Maps of numbers: counting a request is four Map reads and an addition,
 * with no label object or label string built per request (prom-client builds
 * one per `inc`). The metric is filled from these counts at scrape time.
 */
export class RequestCounts {
  readonly #byDeployment = new Map<string, Map<string, Map<string, Codes>>>();

  /** `fallback` is the base that served the request (issue #14), DIRECT when the deployment served it itself. */
  add(deployment: string, service: string, code: number, fallback = DIRECT): void {
    let services = this.#byDeployment.get(deployment);
    if (!services) {
      services = new Map();
      this.#byDeployment.set(deployment, services);
    }
    let bases = services.get(service);
    if (!bases) {
      bases = new Map();
      services.set(service, bases);
    }
    let codes = bases.get(fallback);
    if (!codes) {
      codes = new Map();
      bases.set(fallback, codes);
    }
    codes.set(code, (codes.get(code) ?? 0) + 1);
  }

  /**
   * Forgets a deployment (it left the table), or only the counts of services it
   * no longer has itself. Counts served through a base stay while the
   * deployment does: their label values are bounded by its (at most three) bases.
   */
  drop(deployment: string, keepServices?: ReadonlySet<string> | ReadonlyMap<string, unknown>): void {
    if (!keepServices) {
      this.#byDeployment.delete(deployment);
      return;
    }
    const services = this.#byDeployment.get(deployment);
    if (!services) return;
    for (const [s, bases] of services) {
      if (s === UNKNOWN || keepServices.has(s)) continue;
      bases.delete(DIRECT);
      if (bases.size === 0) services.delete(s);
    }
  }

  deployments(): IterableIterator<string> {
    return this.#byDeployment.keys();
  }

  *entries(): Generator<{ deployment: string; service: string; fallback: string; code: number; count: number }> {
    for (const [deployment, services] of this.#byDeployment) {
      for (const [service, bases] of services) {
        for (const [fallback, codes] of bases) {
          for (const [code, count] of codes) yield { deployment, service, fallback, code, count };
        }
      }
    }
  }
}

/** Label value for requests whose deployment or service is not in the route table. */
export const UNKNOWN = '(unknown)';

/**
 * Request counts by deployment, service and status code, kept in plain Maps of
 * numbers: counting a request is three Map reads and an addition, with no label
 * object or label string built per request (prom-client builds one per `inc`).
 * The metric is filled from these counts at scrape time.
 */
export class RequestCounts {
  readonly #byDeployment = new Map<string, Map<string, Map<number, number>>>();

  add(deployment: string, service: string, code: number): void {
    let services = this.#byDeployment.get(deployment);
    if (!services) {
      services = new Map();
      this.#byDeployment.set(deployment, services);
    }
    let codes = services.get(service);
    if (!codes) {
      codes = new Map();
      services.set(service, codes);
    }
    codes.set(code, (codes.get(code) ?? 0) + 1);
  }

  /** Forgets a deployment (it left the table), or only the services it no longer has. */
  drop(deployment: string, keepServices?: ReadonlySet<string> | ReadonlyMap<string, unknown>): void {
    if (!keepServices) {
      this.#byDeployment.delete(deployment);
      return;
    }
    const services = this.#byDeployment.get(deployment);
    if (!services) return;
    for (const s of services.keys()) if (s !== UNKNOWN && !keepServices.has(s)) services.delete(s);
  }

  deployments(): IterableIterator<string> {
    return this.#byDeployment.keys();
  }

  *entries(): Generator<{ deployment: string; service: string; code: number; count: number }> {
    for (const [deployment, services] of this.#byDeployment) {
      for (const [service, codes] of services) {
        for (const [code, count] of codes) yield { deployment, service, code, count };
      }
    }
  }
}

import { Counter } from 'prom-client';
import type { Registry } from 'prom-client';

/**
 * `branch_proxy_fast_path_total{path}`: requests the fast path forwarded (`fast`) and
 * connections it handed to Node's HTTP server (`handed-over`, counted once per
 * connection: Node serves every later request on it). Plain numbers on the request
 * path, read at scrape time.
 */
export function countFastPath(register: Registry, counts: { readonly fast: number; readonly handedOver: number }): void {
  new Counter({
    name: 'branch_proxy_fast_path_total',
    help: 'Requests forwarded by the fast path (path="fast") and connections it handed to the node:http server (path="handed-over"); docs/fast-path.md.',
    labelNames: ['path'] as const,
    registers: [register],
    collect() {
      this.reset();
      this.inc({ path: 'fast' }, counts.fast);
      this.inc({ path: 'handed-over' }, counts.handedOver);
    },
  });
}

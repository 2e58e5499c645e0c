import { EventEmitter } from 'node:events';
import type { Target } from '../routing/route-table.ts';
import type { Reachability } from '../web/deployments-view.ts';
import type { TargetProbeEvents } from '../web/target-probe.ts';
import type { ReachabilityMessage } from './messages.ts';

const NOT_PROBED: Reachability = { reachable: null, checkedAt: undefined };

/** In a worker: the primary's probe results, so that N workers do not probe every backend N times. */
export class RelayedReachability extends EventEmitter<TargetProbeEvents> {
  #status = new Map<string, Reachability>();

  status(target: Target): Reachability {
    return this.#status.get(target.address) ?? NOT_PROBED;
  }

  apply(m: ReachabilityMessage): void {
    if (m.full) this.#status = new Map();
    for (const [address, reachable, checkedAt, reason] of m.entries) {
      this.#status.set(address, reason == null ? { reachable, checkedAt } : { reachable, checkedAt, reason });
    }
    if (m.changed.length > 0) this.emit('change', [...m.changed]);
  }
}

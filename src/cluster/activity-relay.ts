import type { Worker } from 'node:cluster';
import type { ActivityTracker } from '../activity/activity-tracker.ts';
import type { ActivityWriter } from '../activity/activity-writer.ts';
import { Throttle } from '../activity/throttle.ts';
import type { RouteTable } from '../routing/route-table.ts';
import type { ActivityMessage } from './messages.ts';

/** How often visit times cross the cluster channel, each way, at most (the first change goes at once). */
export const ACTIVITY_RELAY_MS = 1000;

/**
 * In a worker: sends the visits of its own requests to the primary (a round at most
 * every ACTIVITY_RELAY_MS) and merges in what the primary sends back, so every worker
 * shows the times of all. Returns a stop that sends the last round and waits for it.
 */
export function relayVisitsToPrimary(
  tracker: ActivityTracker,
  table: () => Pick<RouteTable, 'deployments'>,
  send: (m: ActivityMessage, sent: () => void) => void,
): { apply(m: ActivityMessage): void; stop(): Promise<void> } {
  let lastSend: Promise<void> = Promise.resolve();
  const round = new Throttle(ACTIVITY_RELAY_MS, () => {
    const visits = tracker.takeDirty();
    if (visits.length > 0) lastSend = new Promise((resolve) => send({ type: 'branch-proxy:activity', visits }, resolve));
  });
  tracker.onDirty(() => round.poke());
  return {
    apply: (m) => void tracker.merge(m.visits, table()),
    async stop() {
      round.flush();
      round.stop();
      await lastSend;
    },
  };
}

/**
 * In the primary: merges the workers' visits into the replica's one record (the later
 * time wins, per deployment and per service), hands what moved forward to the writer
 * (the only process that writes them to etcd) and sends it back to every worker.
 */
export class ActivityHub {
  readonly #changed = new Set<string>();
  readonly #round: Throttle;

  constructor(
    private readonly tracker: ActivityTracker,
    private readonly writer: ActivityWriter,
    private readonly table: () => Pick<RouteTable, 'deployments'>,
    private readonly workers: () => Worker[],
  ) {
    this.#round = new Throttle(ACTIVITY_RELAY_MS, () => {
      const visits = this.tracker.visits(this.#changed);
      this.#changed.clear();
      if (visits.length > 0) this.#send({ type: 'branch-proxy:activity', visits }, this.workers());
    });
  }

  /** Visits relayed by a worker. */
  receive(m: ActivityMessage): void {
    const advanced = this.tracker.merge(m.visits, this.table());
    if (advanced.size === 0) return;
    this.writer.visited(advanced);
    for (const d of advanced) this.#changed.add(d);
    this.#round.poke();
  }

  /** A worker (re)started: everything known so far. */
  welcome(worker: Worker): void {
    const visits = this.tracker.visits();
    if (visits.length > 0) this.#send({ type: 'branch-proxy:activity', visits }, [worker]);
  }

  stop(): void {
    this.#round.stop();
  }

  #send(m: ActivityMessage, to: Worker[]): void {
    for (const w of to) if (w.isConnected()) w.send(m);
  }
}

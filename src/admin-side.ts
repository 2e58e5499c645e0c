import type { Etcd3 } from 'etcd3';
import type { Logger } from 'pino';
import { ActivityTracker } from './activity/activity-tracker.ts';
import { ActivityWriter } from './activity/activity-writer.ts';
import { Throttle } from './activity/throttle.ts';
import type { WorkersReadiness } from './cluster/readiness.ts';
import type { ServeConfig } from './config/serve-config.ts';
import type { RegistryView } from './registry/registry-view.ts';
import { StopTracker } from './registry/stop-tracker.ts';
import type { BackendPolicy } from './routing/backend-policy.ts';
import { inheritedServices } from './routing/inherited-services.ts';
import type { Deployment } from './routing/route-table.ts';
import type { AdminAppOptions } from './web/admin-app.ts';
import { startAdmin } from './web/admin-listener.ts';
import type { ViewSources } from './web/deployments-view.ts';
import type { LinkBase } from './web/links.ts';
import { TargetProbe } from './web/target-probe.ts';
import { createSleepDriver } from './sleep/create-driver.ts';
import { Sleeper } from './sleep/sleeper.ts';
import { SleepStore } from './sleep/sleep-store.ts';

/** Visits touched on this process's request path reach the writer at most this often (the first at once). */
export const VISIT_ROUND_MS = 1000;

export interface AdminSideOptions {
  readonly registry: RegistryView;
  readonly etcd: Etcd3;
  /** The probe connects only where forwarding would. */
  readonly policy: BackendPolicy;
  readonly log: Logger;
  readonly metrics: NonNullable<AdminAppOptions['metrics']>;
  /** In a cluster's primary, the workers' state for /readyz. */
  readonly workers?: () => WorkersReadiness;
}

/** The admin side of a replica, started once per replica. */
export interface AdminSide {
  readonly probe: TargetProbe;
  /** The replica's one record of visits: touched here (one process) or merged from the workers (a primary). */
  readonly activity: ActivityTracker;
  /** Persists visit times; tell it which deployments were visited. */
  readonly writer: ActivityWriter;
  readonly sources: ViewSources;
  /** Starts the admin listener; links to deployments use `publicLinks`, read per request. Resolves to its port. */
  listen(publicLinks: () => LinkBase): Promise<number>;
  /** Closes the admin listener, stops the probe, writes the last visit times. */
  close(): Promise<void>;
}

/**
 * What one process per replica does beside proxying — the single process of
 * WORKERS=1, or a cluster's primary: probe the backends, keep the replica's visit
 * times and persist them to etcd, put idle deployments to sleep (SLEEP_AFTER),
 * serve the admin port (health, API, metrics).
 */
export function createAdminSide(config: ServeConfig, o: AdminSideOptions): AdminSide {
  const stopProbe = new AbortController();
  const probe = new TargetProbe(o.registry, { intervalMs: config.probeIntervalMs, policy: o.policy });
  const probeDone = probe.run(stopProbe.signal);
  const activity = new ActivityTracker();
  const unfollow = activity.follow(o.registry);
  const writer = new ActivityWriter(o.etcd, o.registry, activity, o.log, { intervalMs: config.activityWriteMs });
  // Requests proxied by this process (one process): the request path only flags a deployment; a round hands them over.
  const round = new Throttle(VISIT_ROUND_MS, () => writer.visited(new Set(activity.takeDirty().map(([deployment]) => deployment))));
  activity.onDirty(() => round.poke());
  const stops = new StopTracker(o.registry, { signal: stopProbe.signal });
  const sources: ViewSources = {
    defaultService: config.defaultService,
    activity,
    reachability: probe,
    stops,
    inherited: (d: Deployment) => inheritedServices(o.registry.table.deployments, d, config.fallbackDeployment),
  };
  const stopHooks = new AbortController();
  // Idle deployments go to sleep from here: one sweep per replica, over the activity merged from all its workers.
  const sleeper =
    config.sleep.sleepAfterMs === undefined
      ? undefined
      : new Sleeper({
          registry: o.registry,
          store: new SleepStore(o.etcd, config.etcd.prefix),
          driver: () => createSleepDriver(config.sleep, config.domains[0]!, stopHooks.signal),
          activity,
          sleepAfterMs: config.sleep.sleepAfterMs,
          log: o.log,
        });
  sleeper?.start();
  let admin: Awaited<ReturnType<typeof startAdmin>> | undefined;
  return {
    probe,
    activity,
    writer,
    sources,
    async listen(publicLinks) {
      admin = await startAdmin(config, { registry: o.registry, sources, metrics: o.metrics, publicLinks, workers: o.workers, log: o.log });
      return admin.port;
    },
    async close() {
      stopHooks.abort(); // a sleep hook still running is killed rather than waited for
      await sleeper?.stop();
      await admin?.close();
      stopProbe.abort();
      await probeDone;
      round.flush();
      await writer.stop();
      unfollow();
    },
  };
}

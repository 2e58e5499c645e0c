import type { ActivityTracker } from '../activity/activity-tracker.ts';
import type { OpenStreams } from '../activity/open-streams.ts';
import type { RequestObserver } from '../proxy/proxy-handler.ts';
import type { ProxyMetrics } from './proxy-metrics.ts';

/**
 * What the request path reports, fanned out to the metrics and the activity tracker.
 * `openStreams` and `quietAgents` (with SLEEP_AFTER only) define `openStream` and `quiet`;
 * without them the request path does not call those at all.
 */
export function observeRequests(metrics: ProxyMetrics, activity: ActivityTracker, openStreams?: OpenStreams, quietAgents?: RegExp): RequestObserver {
  return {
    request(deployment, service, status, seconds, servedBy, quiet) {
      metrics.request(deployment, service, status, seconds, servedBy);
      if (deployment !== undefined && service !== undefined && quiet !== true) activity.touch(deployment, service);
    },
    ...(quietAgents ? { quiet: (userAgent: string | undefined) => userAgent !== undefined && quietAgents.test(userAgent) } : {}),
    upgrade(deployment, service) {
      activity.touch(deployment, service);
    },
    ...(openStreams ? { openStream: (deployment: string, service: string) => openStreams.open(deployment, service) } : {}),
    upstreamError(kind) {
      metrics.upstreamError(kind);
    },
  };
}

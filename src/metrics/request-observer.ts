import type { ActivityTracker } from '../activity/activity-tracker.ts';
import type { OpenStreams } from '../activity/open-streams.ts';
import type { RequestObserver } from '../proxy/proxy-handler.ts';
import type { ProxyMetrics } from './proxy-metrics.ts';

/**
 * What the request path reports, fanned out to the metrics and the activity tracker.
 * `openStreams` (with SLEEP_AFTER only) defines `openStream`; without it the request
 * path does not call it at all.
 */
export function observeRequests(metrics: ProxyMetrics, activity: ActivityTracker, openStreams?: OpenStreams): RequestObserver {
  return {
    request(deployment, service, status, seconds, servedBy) {
      metrics.request(deployment, service, status, seconds, servedBy);
      if (deployment !== undefined && service !== undefined) activity.touch(deployment, service);
    },
    upgrade(deployment, service) {
      activity.touch(deployment, service);
    },
    ...(openStreams ? { openStream: (deployment: string, service: string) => openStreams.open(deployment, service) } : {}),
    upstreamError(kind) {
      metrics.upstreamError(kind);
    },
  };
}

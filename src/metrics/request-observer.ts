import type { ActivityTracker } from '../activity/activity-tracker.ts';
import type { RequestObserver } from '../proxy/proxy-handler.ts';
import type { ProxyMetrics } from './proxy-metrics.ts';

/** What the request path reports, fanned out to the metrics and the activity tracker. */
export function observeRequests(metrics: ProxyMetrics, activity: ActivityTracker): RequestObserver {
  return {
    request(deployment, service, status, seconds, servedBy) {
      metrics.request(deployment, service, status, seconds, servedBy);
      if (deployment !== undefined && service !== undefined) activity.touch(deployment, service);
    },
    upgrade(deployment, service) {
      activity.touch(deployment, service);
    },
    streaming(deployment, service) {
      activity.touch(deployment, service);
    },
    upstreamError(kind) {
      metrics.upstreamError(kind);
    },
  };
}

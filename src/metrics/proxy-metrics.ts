import { Counter, Gauge, Histogram, Registry as MetricsRegistry, collectDefaultMetrics } from 'prom-client';
import { UPSTREAM_ERROR_KINDS, type UpstreamErrorKind } from '../proxy/upstream-error.ts';
import type { RegistryView } from '../registry/registry-view.ts';
import { DEPLOYMENT_STATES, deploymentState } from '../sleep/deployment-state.ts';
import { DIRECT, RequestCounts, UNKNOWN } from './request-counts.ts';
import type { WakeObserver, WakeResult } from './wake-observer.ts';
import { WAKE_RESULTS } from './wake-observer.ts';

export interface ProxyMetricsOptions {
  readonly registry: RegistryView;
  /** Read at scrape time. */
  readonly openWebSockets: () => number;
}

/** Up to the default 30 s upstream timeout, and a little beyond for slow streams. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** A wake starts containers: seconds to the default WAKE_TIMEOUT of 5 minutes. */
const WAKE_BUCKETS = [1, 2.5, 5, 10, 20, 30, 60, 120, 180, 300];

/**
 * With WORKERS > 1 the primary sums each metric over the workers; the ones every
 * worker holds a copy of (route count, etcd connection, registry events) take the
 * max (min for the connection) instead, so they read as for one process.
 *
 * The proxy's Prometheus metrics (documented in docs/dashboard.md), in a
 * registry of their own: no global state, so several servers can share a process.
 * Label cardinality is bounded: only deployments and services in the route table
 * get their own label values, everything else is counted as `(unknown)`, and a
 * deployment's series go when it leaves the table.
 */
export class ProxyMetrics implements WakeObserver {
  readonly register = new MetricsRegistry();
  readonly #counts = new RequestCounts();
  readonly #duration: Histogram;
  readonly #upstreamErrors: Counter<'kind'>;
  readonly #events: Counter;
  readonly #resyncs: Counter;
  readonly #wakes: Counter<'result'>;
  readonly #wakeDuration: Histogram<'result'>;
  readonly #held: Gauge;
  readonly #registry: RegistryView;
  readonly #onDeployment: (name: string) => void;
  readonly #onResync: () => void;

  constructor(o: ProxyMetricsOptions) {
    const registers = [this.register];
    const counts = this.#counts;
    const table = () => o.registry.table;
    this.#registry = o.registry;
    new Counter({
      name: 'branch_proxy_requests_total',
      help: 'Requests proxied (or answered with an error page), by deployment asked for, service, status code, and the base that served it (fallback, empty when none).',
      labelNames: ['deployment', 'service', 'code', 'fallback'] as const,
      registers,
      collect() {
        this.reset();
        for (const e of counts.entries()) this.inc({ deployment: e.deployment, service: e.service, code: e.code, fallback: e.fallback }, e.count);
      },
    });
    this.#duration = new Histogram({
      name: 'branch_proxy_request_duration_seconds',
      help: 'Time from receiving a request on the proxy port to the end of its response.',
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.#upstreamErrors = new Counter({
      name: 'branch_proxy_upstream_errors_total',
      help: `Failures to reach a backend, by kind (${UPSTREAM_ERROR_KINDS.join(', ')}).`,
      labelNames: ['kind'] as const,
      registers,
    });
    for (const kind of UPSTREAM_ERROR_KINDS) this.#upstreamErrors.inc({ kind }, 0);
    new Gauge({
      name: 'branch_proxy_websockets_open',
      help: 'WebSocket connections currently forwarded.',
      registers,
      collect() {
        this.set(o.openWebSockets());
      },
    });
    new Gauge({
      name: 'branch_proxy_routes',
      help: 'Routable services (deployment/service pairs with an ip and a port) in the route table.',
      registers,
      aggregator: 'max',
      collect() {
        this.set(table().routeCount);
      },
    });
    new Gauge({
      name: 'branch_proxy_registry_connected',
      help: '1 while the etcd watch is connected, 0 while the proxy serves its last table without etcd.',
      registers,
      aggregator: 'min',
      collect() {
        this.set(o.registry.connected ? 1 : 0);
      },
    });
    this.#events = new Counter({
      name: 'branch_proxy_registry_events_total',
      help: 'Deployment changes applied to the route table (one per registry key changed, and one per deployment a resync changed; the first snapshot counts in branch_proxy_registry_resyncs_total only).',
      registers,
      aggregator: 'max',
    });
    this.#resyncs = new Counter({
      name: 'branch_proxy_registry_resyncs_total',
      help: 'Full snapshot loads from etcd: the first one at start, then one after each watch failure or reconnect.',
      registers,
    });
    new Gauge({
      name: 'branch_proxy_deployments',
      help: 'Deployments in the route table by state: awake, sleeping (sleep step running), asleep, waking.',
      labelNames: ['state'] as const,
      registers,
      aggregator: 'max',
      collect() {
        const counts = new Map(DEPLOYMENT_STATES.map((state) => [state, 0]));
        for (const d of table().deployments.values()) {
          const state = deploymentState(d);
          counts.set(state, counts.get(state)! + 1);
        }
        for (const [state, n] of counts) this.set({ state }, n);
      },
    });
    this.#wakes = new Counter({
      name: 'branch_proxy_wakes_total',
      help: `Wakes this proxy ran, by how they ended (${WAKE_RESULTS.join(', ')}).`,
      labelNames: ['result'] as const,
      registers,
    });
    this.#wakeDuration = new Histogram({
      name: 'branch_proxy_wake_duration_seconds',
      help: 'Time from claiming a wake to its end (every listed service routed and accepting connections, or the failure), by result.',
      labelNames: ['result'] as const,
      buckets: WAKE_BUCKETS,
      registers,
    });
    for (const result of WAKE_RESULTS) {
      this.#wakes.inc({ result }, 0);
      this.#wakeDuration.zero({ result });
    }
    this.#held = new Gauge({
      name: 'branch_proxy_held_requests',
      help: 'Requests to a deployment that is not awake, held until its services are back (at most WAKE_HOLD).',
      registers,
    });
    collectDefaultMetrics({ register: this.register });

    this.#onDeployment = (name) => {
      this.#events.inc();
      const d = table().deployments.get(name);
      // A sleeping deployment's services are not routed, but the wake gate counts requests to them.
      counts.drop(name, d?.sleep ? new Set([...d.services.keys(), ...d.sleep.services]) : d?.services);
    };
    this.#onResync = () => {
      this.#resyncs.inc();
      for (const name of [...counts.deployments()]) if (name !== UNKNOWN && !table().deployments.has(name)) counts.drop(name);
    };
    o.registry.on('deployment', this.#onDeployment);
    o.registry.on('resync', this.#onResync);
  }

  /**
   * Counts one finished request. `deployment` and `service` are what the table
   * matched; either may be undefined (unknown deployment, unknown service).
   * `servedBy` is the base that served it through a fallback: one of the at
   * most three bases of `deployment`, so the label stays bounded.
   */
  request(deployment: string | undefined, service: string | undefined, code: number, seconds: number, servedBy?: string): void {
    // A deployment removed while its request was in flight must not come back as a label.
    const deployments = this.#registry.table.deployments;
    const known = deployment !== undefined && deployments.has(deployment);
    const fallback = servedBy === undefined || !known ? DIRECT : deployments.has(servedBy) ? servedBy : UNKNOWN;
    this.#counts.add(known ? deployment : UNKNOWN, known && service !== undefined ? service : UNKNOWN, code, fallback);
    this.#duration.observe(seconds);
  }

  upstreamError(kind: UpstreamErrorKind): void {
    this.#upstreamErrors.inc({ kind });
  }

  wakeEnded(result: WakeResult, seconds: number): void {
    this.#wakes.inc({ result });
    this.#wakeDuration.observe({ result }, seconds);
  }

  held(delta: 1 | -1): void {
    this.#held.inc(delta);
  }

  /** Prometheus text exposition of every metric. */
  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.register.contentType, body: await this.register.metrics() };
  }

  close(): void {
    this.#registry.off('deployment', this.#onDeployment);
    this.#registry.off('resync', this.#onResync);
    this.register.clear();
  }
}

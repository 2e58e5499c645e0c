import type { SleepRecord } from '../sleep/sleep-record.ts';
import type { Deployment, Service, Target } from './route-types.ts';
import { ServiceMap } from './service-map.ts';

/*
 * Memory layout. A table holds up to ~100,000 routes, so every object and
 * string per route counts (issue #5): classes with all fields set in the
 * constructor (no property arrays grown later), one service stored inline
 * rather than in a Map of its own (ServiceMap), `address`/`origin` derived
 * when asked for (most routes never see a request), and repeated strings
 * (service names, backend hosts) shared through a small pool instead of one
 * copy per key (StringPool).
 */

/**
 * A backend. `origin` is built on its first request and kept (the forwarder asks
 * for it on every one). `address` is built on every call and never kept: the
 * target probe reads it for every route each sweep, which would pin one string
 * per route for good; the other readers are logs and views.
 */
export class RouteTarget implements Target {
  #origin: string | undefined = undefined;

  constructor(
    readonly host: string,
    readonly port: number,
  ) {}

  get address(): string {
    // Only an IPv6 literal contains a colon (the codec has validated the host); cheaper than isIP().
    return this.host.includes(':') ? `[${this.host}]:${this.port}` : `${this.host}:${this.port}`;
  }

  get origin(): string {
    return (this.#origin ??= `http://${this.address}`);
  }

  /** The plain form, so logs, JSON and test comparisons see the same fields as before. */
  toJSON(): Target {
    return { host: this.host, port: this.port, address: this.address, origin: this.origin };
  }
}

export class TableService implements Service {
  ip: string | undefined = undefined;
  port: number | undefined = undefined;
  target: RouteTarget | undefined = undefined;
  blocked: string | undefined = undefined;

  constructor(readonly name: string) {}
}

export class TableDeployment implements Deployment {
  branch: string | undefined = undefined;
  created: string | undefined = undefined;
  defaultService: string | undefined = undefined;
  lastRequest: string | undefined = undefined;
  fallback: string | undefined = undefined;
  // Per deployment, not per route; undefined for every awake deployment.
  sleep: SleepRecord | undefined = undefined;
  lastWake: { readonly ms: number; readonly at: string } | undefined = undefined;
  readonly services = new ServiceMap<TableService>();

  constructor(readonly name: string) {}
}

import type { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { RegistryView } from '../registry/registry-view.ts';
import type { DeploymentView, ViewSources } from './deployments-view.ts';
import { viewDeployment, viewDeployments } from './deployments-view.ts';
import type { LinkBase } from './links.ts';

export interface LiveFeedOptions {
  readonly registry: RegistryView;
  readonly sources: ViewSources;
  /** Emits `change` with the addresses of targets whose reachability flipped. */
  readonly probe?: EventEmitter<{ change: [addresses: string[]] }>;
  readonly log: Logger;
  /** Ends every stream, so shutdown is not held up by open dashboards. */
  readonly signal: AbortSignal;
  /** Changes arriving within this window go out as one message (a registration is several keys). */
  readonly coalesceMs?: number;
  /** A comment line this often keeps idle connections from being cut by intermediaries. */
  readonly heartbeatMs?: number;
  readonly maxClients?: number;
}

/** The messages on the stream (documented in docs/dashboard.md). */
export type FeedMessage =
  | { event: 'snapshot'; data: { revision: number; connected: boolean; deployments: DeploymentView[] } }
  | { event: 'update'; data: { revision: number; changed: DeploymentView[]; removed: string[] } }
  | { event: 'status'; data: { connected: boolean } };

interface Client {
  readonly res: ServerResponse;
  readonly base: LinkBase;
  readonly domain: string;
  /** Clients with the same key get byte-identical messages, rendered once. */
  readonly key: string;
}

/** A slow reader that falls this far behind is dropped rather than buffered for. */
const MAX_BUFFERED_BYTES = 1 << 20;

/**
 * Server-sent events for the dashboard, fed by registry events: one listener
 * per process whatever the number of viewers, and nothing asks etcd per viewer.
 * Each message is rendered once per distinct link base (scheme, port, domain),
 * not once per viewer.
 */
export class LiveFeed {
  readonly #clients = new Set<Client>();
  readonly #dirty = new Set<string>();
  #fullSnapshot = false;
  #flushTimer: NodeJS.Timeout | undefined;
  readonly #heartbeat: NodeJS.Timeout;
  readonly #coalesceMs: number;
  readonly #maxClients: number;
  readonly #detach: () => void;

  constructor(private readonly o: LiveFeedOptions) {
    this.#coalesceMs = o.coalesceMs ?? 50;
    this.#maxClients = o.maxClients ?? 1000;
    const onDeployment = (name: string): void => this.#markDirty([name]);
    const onResync = (): void => {
      this.#fullSnapshot = true;
      this.#schedule();
    };
    const onConnection = (connected: boolean): void => this.#broadcast(() => frame({ event: 'status', data: { connected } }));
    const onProbe = (addresses: string[]): void => this.#markDirty(this.#routedTo(addresses));
    o.registry.on('deployment', onDeployment);
    o.registry.on('resync', onResync);
    o.registry.on('connection', onConnection);
    o.probe?.on('change', onProbe);
    this.#heartbeat = setInterval(() => this.#broadcast(() => ': keep-alive\n\n'), o.heartbeatMs ?? 20_000).unref();
    this.#detach = () => {
      o.registry.off('deployment', onDeployment);
      o.registry.off('resync', onResync);
      o.registry.off('connection', onConnection);
      o.probe?.off('change', onProbe);
    };
    o.signal.addEventListener('abort', () => this.close(), { once: true });
  }

  get clients(): number {
    return this.#clients.size;
  }

  /** Takes over the response: headers, the first snapshot, then updates until either side stops. */
  attach(req: IncomingMessage, res: ServerResponse, base: LinkBase, domain: string): void {
    if (this.o.signal.aborted || this.#clients.size >= this.#maxClients) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '10' }).end('Too many live dashboards open; reload later.\n');
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      'x-content-type-options': 'nosniff',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const client: Client = { res, base, domain, key: `${base.scheme}|${base.port}|${domain}` };
    this.#clients.add(client);
    const drop = (): void => {
      this.#clients.delete(client);
    };
    req.socket.setTimeout(0);
    res.once('close', drop);
    // `retry` asks the browser to reconnect quickly after a restart of the proxy.
    res.write(`retry: 2000\n${frame(this.#snapshot(client))}`);
  }

  close(): void {
    this.#detach();
    clearInterval(this.#heartbeat);
    clearTimeout(this.#flushTimer);
    for (const c of this.#clients) c.res.end();
    this.#clients.clear();
  }

  #snapshot(c: Pick<Client, 'base' | 'domain'>): FeedMessage {
    const r = this.o.registry;
    return { event: 'snapshot', data: { revision: r.revision, connected: r.connected, deployments: viewDeployments(r.table, this.o.sources, c.base, c.domain) } };
  }

  /** The deployments with a route to one of these targets; none when no dashboard is open to show them. */
  #routedTo(addresses: readonly string[]): string[] {
    if (this.#clients.size === 0) return [];
    const targets = new Set(addresses);
    const names = new Set<string>();
    for (const r of this.o.registry.table.routes()) if (targets.has(r.target.address)) names.add(r.deployment);
    return [...names];
  }

  #markDirty(names: readonly string[]): void {
    // With no dashboard open there is nothing to update: one that opens starts from a snapshot.
    if (this.#clients.size === 0) return;
    for (const n of names) this.#dirty.add(n);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#clients.size === 0) {
      this.#dirty.clear();
      this.#fullSnapshot = false;
      return;
    }
    this.#flushTimer ??= setTimeout(() => this.#flush(), this.#coalesceMs);
  }

  #flush(): void {
    this.#flushTimer = undefined;
    const names = [...this.#dirty];
    this.#dirty.clear();
    if (this.#fullSnapshot) {
      this.#fullSnapshot = false;
      this.#broadcast((c) => frame(this.#snapshot(c)));
      return;
    }
    if (names.length === 0) return;
    const table = this.o.registry.table;
    this.#broadcast((c) => {
      const changed: DeploymentView[] = [];
      const removed: string[] = [];
      for (const name of names) {
        const d = table.deployments.get(name);
        if (d) changed.push(viewDeployment(d, this.o.sources, c.base, c.domain));
        else removed.push(name);
      }
      return frame({ event: 'update', data: { revision: this.o.registry.revision, changed, removed } });
    });
  }

  /** Renders once per link base and writes to every client. */
  #broadcast(render: (c: Client) => string): void {
    const rendered = new Map<string, string>();
    for (const c of this.#clients) {
      if (c.res.writableLength > MAX_BUFFERED_BYTES) {
        this.o.log.info({ buffered: c.res.writableLength }, 'dropping a dashboard stream that stopped reading');
        c.res.destroy();
        this.#clients.delete(c);
        continue;
      }
      let text = rendered.get(c.key);
      if (text === undefined) {
        text = render(c);
        rendered.set(c.key, text);
      }
      c.res.write(text);
    }
  }
}

function frame(message: FeedMessage): string {
  return `event: ${message.event}\ndata: ${JSON.stringify(message.data)}\n\n`;
}

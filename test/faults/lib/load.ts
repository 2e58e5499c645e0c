import { Pool } from 'undici';

/** A route the load generator requests, and the backend that must answer it. */
export interface LoadTarget {
  readonly host: string;
  readonly backend: string;
}

export interface LoadFailure {
  readonly atMs: number;
  readonly host: string;
  readonly what: string;
}

export interface LoadResult {
  readonly sent: number;
  readonly ok: number;
  readonly failed: number;
  readonly failures: readonly LoadFailure[];
  /** Slowest answer, in ms. */
  readonly maxMs: number;
  readonly p99Ms: number;
  readonly seconds: number;
}

export interface Load {
  /** Requests finished so far. */
  readonly sent: number;
  /** Stops sending and resolves when the requests in flight have finished. */
  stop(): Promise<LoadResult>;
}

/**
 * A bounded loop of keep-alive requests from this process: `connections`
 * workers, each sending GET /echo to the next target in turn and checking that
 * the expected backend answered with 200. It stops on `stop()`, after
 * `maxRequests` or after `maxMs`, whichever comes first.
 */
export function startLoad(proxyPort: number, targets: readonly LoadTarget[], options: { connections?: number; maxRequests?: number; maxMs?: number } = {}): Load {
  const connections = options.connections ?? 8;
  const maxRequests = options.maxRequests ?? 2_000_000;
  const maxMs = options.maxMs ?? 120_000;
  const pool = new Pool(`http://127.0.0.1:${proxyPort}`, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
  const started = performance.now();
  const failures: LoadFailure[] = [];
  const latencies: number[] = [];
  let sent = 0;
  let ok = 0;
  let failed = 0;
  let stopping = false;
  let next = 0;
  let result: Promise<LoadResult> | undefined;

  const one = async (target: LoadTarget): Promise<void> => {
    const t0 = performance.now();
    let what: string | undefined;
    try {
      const res = await pool.request({ path: '/echo', method: 'GET', headers: { host: target.host }, headersTimeout: 10_000, bodyTimeout: 10_000 });
      const body = await res.body.text();
      if (res.statusCode !== 200) what = `status ${res.statusCode}: ${body.slice(0, 120)}`;
      else if ((JSON.parse(body) as { backend?: string }).backend !== target.backend) what = `answered by the wrong backend: ${body.slice(0, 120)}`;
    } catch (err) {
      what = `error ${(err as Error & { code?: string }).code ?? ''} ${(err as Error).message}`;
    }
    const ms = performance.now() - t0;
    sent++;
    latencies.push(ms);
    if (what === undefined) ok++;
    else {
      failed++;
      if (failures.length < 50) failures.push({ atMs: Math.round(t0 - started), host: target.host, what });
    }
  };
  const worker = async (): Promise<void> => {
    while (!stopping && sent < maxRequests && performance.now() - started < maxMs) {
      const target = targets[next++ % targets.length]!;
      await one(target);
    }
  };
  const workers = Promise.all(Array.from({ length: connections }, worker));

  return {
    get sent() {
      return sent;
    },
    stop() {
      result ??= finish();
      return result;
    },
  };

  async function finish(): Promise<LoadResult> {
    stopping = true;
    await workers;
    await pool.close();
    latencies.sort((a, b) => a - b);
    return {
      sent,
      ok,
      failed,
      failures,
      maxMs: latencies.at(-1) ?? 0,
      p99Ms: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
      seconds: (performance.now() - started) / 1000,
    };
  }
}

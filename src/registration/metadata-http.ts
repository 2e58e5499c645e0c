import { setTimeout as sleep } from 'node:timers/promises';

/** A metadata service that did not answer usefully; the message says which URL and why. */
export class MetadataError extends Error {
  override name = 'MetadataError';
}

export interface MetadataRequest {
  readonly method?: 'GET' | 'PUT';
  readonly headers?: Record<string, string>;
  /** Per attempt; link-local metadata services answer in milliseconds or not at all. */
  readonly timeoutMs?: number;
  readonly attempts?: number;
}

/**
 * The body of a metadata endpoint (EC2 IMDS, ECS task metadata). Retries a
 * few times, since both services are known to fail briefly right after boot.
 */
export async function fetchMetadata(url: string, request: MetadataRequest = {}): Promise<string> {
  const attempts = request.attempts ?? 3;
  let last: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const res = await fetch(url, { method: request.method ?? 'GET', headers: request.headers, signal: AbortSignal.timeout(request.timeoutMs ?? 2000) });
      const body = await res.text();
      if (res.ok) return body;
      last = new Error(`HTTP ${res.status}`);
    } catch (err) {
      last = err;
    }
    if (attempt < attempts) await sleep(200 * attempt);
  }
  const reason = last instanceof Error ? (last.cause instanceof Error ? last.cause.message : last.message) : String(last);
  throw new MetadataError(`${request.method ?? 'GET'} ${url} failed: ${reason}`);
}

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const REPORT = fileURLToPath(new URL('./report.lua', import.meta.url));

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  errors: number;
  non2xx: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** One wrk run (one thread, so the load generator takes one core at most). */
export async function wrk(url: string, host: string, connections: number, seconds: number): Promise<LoadResult> {
  const { stdout } = await run('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '5s', '-H', `Host: ${host}`, '-s', REPORT, url], { timeout: (seconds + 30) * 1000 });
  const line = stdout.split('\n').find((l) => l.startsWith('{"requests"'));
  if (!line) throw new Error(`wrk printed no summary:\n${stdout}`);
  const r = JSON.parse(line) as { requests: number; durationUs: number; errors: number; non2xx: number; p50Us: number; p99Us: number; maxUs: number };
  const secs = r.durationUs / 1e6;
  return { requests: r.requests, seconds: secs, rps: r.requests / secs, errors: r.errors, non2xx: r.non2xx, p50Ms: r.p50Us / 1000, p99Ms: r.p99Us / 1000, maxMs: r.maxUs / 1000 };
}

import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';
import type { LogLevel } from '../config/parsers.ts';

/** Linux's PIPE_BUF: a write up to this size reaches a pipe whole, never interleaved with another process's. */
const PIPE_BUF = 4096;

/** Lines are written in batches of at least this many bytes (or every FLUSH_MS), as nginx's `access_log … buffer= flush=`. */
const BATCH_BYTES = 8192;
const FLUSH_MS = 200;

/**
 * JSON lines on stdout (or a given stream, for tests), one line per event.
 * Batched: with one write per access-log line, the write took about 12 % of the
 * fast path's profiled time per request (docs/benchmarks.md). pino flushes what is left
 * when the process exits.
 * Synchronous, as Node's own stdout is for files and pipes and as nginx writes its
 * access log: a batch is one write(2) on this thread. Handing each batch to libuv's
 * thread pool (`sync: false`) cost about 6 % more CPU per proxied request in
 * futex wake-ups and completion events (static backend, 32 connections, A/B); the price is that a log
 * reader that stops reading stalls the proxy once the pipe is full, as it stalls nginx.
 * `sharedStdout`: several processes (WORKERS) write to the same stdout, so every
 * write carries whole lines and stays within PIPE_BUF.
 */
export function createLogger(level: LogLevel, o: { destination?: DestinationStream; sharedStdout?: boolean } = {}): Logger {
  const batch = o.sharedStdout ? { maxWrite: PIPE_BUF, minLength: PIPE_BUF / 2 } : { minLength: BATCH_BYTES };
  const destination = o.destination ?? pino.destination({ sync: true, ...batch, periodicFlush: FLUSH_MS });
  return pino({ name: 'branch-proxy', level, timestamp: isoTimePerMillisecond() }, destination);
}

/** pino's `isoTime`, formatted once per millisecond instead of once per line: under load many lines share one. */
export function isoTimePerMillisecond(now: () => number = Date.now): () => string {
  let lastMs = Number.NaN;
  let last = '';
  return () => {
    const ms = now();
    if (ms !== lastMs) {
      lastMs = ms;
      last = `,"time":"${new Date(ms).toISOString()}"`;
    }
    return last;
  };
}

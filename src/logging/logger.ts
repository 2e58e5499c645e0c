import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';
import type { LogLevel } from '../config/parsers.ts';

/** Linux's PIPE_BUF: a write up to this size reaches a pipe whole, never interleaved with another process's. */
const PIPE_BUF = 4096;

/**
 * JSON lines on stdout (or a given stream, for tests), one line per event.
 * `sharedStdout`: several processes (WORKERS) write to the same stdout, so every
 * write carries whole lines and stays within PIPE_BUF.
 */
export function createLogger(level: LogLevel, o: { destination?: DestinationStream; sharedStdout?: boolean } = {}): Logger {
  const destination = o.destination ?? pino.destination({ sync: false, ...(o.sharedStdout ? { maxWrite: PIPE_BUF } : {}) });
  return pino({ name: 'branch-proxy', level, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}

import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';
import type { LogLevel } from '../config/parsers.ts';

/** JSON lines on stdout (or a given stream, for tests), one line per event. */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino({ name: 'branch-proxy', level, timestamp: pino.stdTimeFunctions.isoTime }, destination ?? pino.destination({ sync: false }));
}

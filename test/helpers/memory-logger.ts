import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from 'pino';

/** A real pino logger writing into memory, and every line it wrote, parsed. */
export interface MemoryLogger {
  readonly log: Logger;
  readonly lines: Record<string, unknown>[];
  /** The lines with this stable `event` field (see docs/troubleshooting.md, "Log events"). */
  events(event: string): Record<string, unknown>[];
}

export function memoryLogger(level = 'debug'): MemoryLogger {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level }, sink), lines, events: (event) => lines.filter((l) => l.event === event) };
}

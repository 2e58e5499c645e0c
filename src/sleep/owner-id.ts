import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** Names who claimed a sleep or wake in its record: `<hostname>:<pid>:<random>` (the random part tells a restarted pid apart). */
export function ownerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

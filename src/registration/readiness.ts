import { request } from 'node:http';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ReadinessProbe {
  readonly host: string;
  readonly port: number;
  /** When set, ready means `GET <path>` answers 2xx; otherwise that the port accepts a TCP connection. */
  readonly healthPath?: string | undefined;
  readonly intervalMs?: number;
  readonly timeoutMs?: number;
}

/** Checks once whether the service is ready. Never throws. */
export function probeOnce(probe: ReadinessProbe): Promise<boolean> {
  const timeout = probe.timeoutMs ?? 2000;
  return new Promise((resolve) => {
    if (probe.healthPath === undefined) {
      const socket = connect({ host: probe.host, port: probe.port, timeout });
      const finish = (ok: boolean): void => {
        socket.destroy();
        resolve(ok);
      };
      socket.once('connect', () => finish(true));
      socket.once('error', () => finish(false));
      socket.once('timeout', () => finish(false));
      return;
    }
    const req = request({ host: probe.host, port: probe.port, path: probe.healthPath, timeout, agent: false }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      resolve(status >= 200 && status < 300);
    });
    req.once('error', () => resolve(false));
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

/** Polls until the service is ready. Rejects only when the signal aborts (the child exited, or a stop signal came). */
export async function waitUntilReady(probe: ReadinessProbe, signal: AbortSignal): Promise<void> {
  for (;;) {
    signal.throwIfAborted();
    if (await probeOnce(probe)) return;
    await sleep(probe.intervalMs ?? 100, undefined, { signal });
  }
}

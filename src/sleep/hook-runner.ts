import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';

/** What a hook is told about the deployment it acts on: only through these variables. */
export interface HookEnvironment {
  readonly deployment: string;
  /** The raw git branch when known; empty otherwise. */
  readonly branch: string | undefined;
  readonly services: readonly string[];
  readonly baseDomain: string;
}

export interface HookOptions {
  readonly timeoutMs: number;
  /** Between SIGTERM and SIGKILL of the process group once the hook has run too long. */
  readonly killGraceMs?: number;
  /** Ends the hook as a timeout does (the proxy shutting down). */
  readonly signal?: AbortSignal;
  /** Bytes of combined stdout and stderr kept for the log. */
  readonly tailBytes?: number;
}

export interface HookResult {
  /** Exited with status 0 within its time. */
  readonly ok: boolean;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  readonly ms: number;
  /** The last bytes of its output, for the operator's log; never shown to visitors. */
  readonly tail: string;
}

const DEFAULT_TAIL_BYTES = 4096;
const DEFAULT_KILL_GRACE_MS = 3000;

/**
 * Runs a SLEEP_COMMAND or WAKE_COMMAND with `/bin/sh -c`.
 *
 * SECURITY: the deployment's names reach the command only as environment
 * variables (DEPLOYMENT, BRANCH, SERVICES, BASE_DOMAIN), never spliced into
 * its text: a branch name is chosen by whoever pushes, and `"$DEPLOYMENT"` in
 * the command is data to the shell, not code.
 *
 * The shell runs in its own process group, so a timeout ends everything it
 * started (SIGTERM, then SIGKILL after a grace period), not only the shell.
 * When the shell exits by itself, what it left running in the background (a
 * `register` process, a dev server) is left alone, and its output is no longer
 * waited for.
 */
export async function runHook(command: string, env: HookEnvironment, options: HookOptions): Promise<HookResult> {
  const started = performance.now();
  const tail = new OutputTail(options.tailBytes ?? DEFAULT_TAIL_BYTES);
  const child = spawn('/bin/sh', ['-c', command], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      DEPLOYMENT: env.deployment,
      BRANCH: env.branch ?? '',
      SERVICES: env.services.join(' '),
      BASE_DOMAIN: env.baseDomain,
    },
  });
  for (const stream of [child.stdout, child.stderr]) stream.on('data', (chunk: Buffer) => tail.add(chunk));

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    // /bin/sh missing or not executable: report it as a shell would (127) instead of throwing.
    child.once('error', (err) => {
      tail.add(Buffer.from(`cannot run /bin/sh: ${err.message}\n`));
      resolve({ code: 127, signal: null });
    });
  });

  const timedOut = await Promise.race([exited.then(() => false), expiry(options.timeoutMs, options.signal, exited)]);
  if (timedOut) await killGroup(child.pid, options.killGraceMs ?? DEFAULT_KILL_GRACE_MS);
  const { code, signal } = await exited;
  // Output of processes the hook left running is not waited for; they must not keep this process alive.
  for (const stream of [child.stdout, child.stderr]) release(stream);
  return { ok: !timedOut && code === 0, code, signal, timedOut, ms: Math.round(performance.now() - started), tail: tail.text() };
}

/** Resolves true when the time is up or `signal` aborts, whichever comes first, unless `settled` comes before. */
function expiry(ms: number, signal: AbortSignal | undefined, settled: Promise<unknown>): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(true);
    const expire = (): void => resolve(true);
    const timer = setTimeout(expire, ms);
    signal?.addEventListener('abort', expire, { once: true });
    void settled.then(() => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', expire);
    });
  });
}

/** SIGTERM to the whole group; SIGKILL to whatever is still in it after the grace period. */
async function killGroup(pid: number | undefined, graceMs: number): Promise<void> {
  if (pid === undefined || !signalGroup(pid, 'SIGTERM')) return;
  const deadline = performance.now() + graceMs;
  // Wait for the group to empty (children may still be shutting down after the shell), then force it.
  while (signalGroup(pid, 0) && performance.now() < deadline) await delay(50);
  signalGroup(pid, 'SIGKILL');
}

/** Sends a signal to the process group led by `pid`; 0 only checks that one exists. */
function signalGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false; // ESRCH: nothing left in the group
  }
}

function release(stream: Readable): void {
  stream.removeAllListeners('data');
  stream.resume(); // keep draining, so a background writer never blocks on a full pipe
  (stream as Readable & { unref?: () => void }).unref?.();
}

/** The last `limit` bytes of output, kept without holding all of it. */
class OutputTail {
  #chunks: Buffer[] = [];
  #bytes = 0;

  constructor(readonly limit: number) {}

  add(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    while (this.#chunks.length > 1 && this.#bytes - this.#chunks[0]!.length >= this.limit) this.#bytes -= this.#chunks.shift()!.length;
  }

  text(): string {
    const all = Buffer.concat(this.#chunks);
    return all.subarray(Math.max(0, all.length - this.limit)).toString('utf8');
  }
}

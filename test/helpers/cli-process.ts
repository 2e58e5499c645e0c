import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { constants } from 'node:os';
import { waitFor } from './wait.ts';

/** The CLI as users run it, from the repo root (tests run there). */
export const CLI = ['--import', 'tsx', 'src/cli/main.ts'];

export interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** This process's environment without variables the CLI would take as arguments, plus `env`. */
function cliEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const { BRANCH: _b, DEPLOYMENT: _d, ...rest } = process.env;
  return { ...rest, ...env };
}

/** Runs a one-shot command to completion (bounded at 30 s). */
export function runCli(args: readonly string[], env: Record<string, string> = {}): CliRun {
  const started = performance.now();
  const run = spawnSync(process.execPath, [...CLI, ...args], { encoding: 'utf8', env: cliEnv(env), timeout: 30_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr, ms: performance.now() - started };
}

/** A long-running CLI process (`register`), its JSON log lines parsed as they arrive. */
export interface CliProcess {
  readonly child: ChildProcess;
  /** Every JSON line on stdout, parsed; other lines (a wrapped command's output) are kept in `output` only. */
  readonly logs: Record<string, unknown>[];
  output(): string;
  /** Waits for a log line with this stable `event` field (and optional fields), at most `timeoutMs`. */
  waitForEvent(event: string, timeoutMs?: number, fields?: Record<string, unknown>): Promise<{ value: Record<string, unknown>; ms: number }>;
  /** The log lines with this `event` so far. */
  events(event: string): Record<string, unknown>[];
  /** The exit code (or 128 + signal); rejects when the process is still running after `timeoutMs`. */
  waitExit(timeoutMs?: number): Promise<number>;
  kill(signal?: NodeJS.Signals): void;
}

export function spawnCli(args: readonly string[], env: Record<string, string> = {}): CliProcess {
  const child = spawn(process.execPath, [...CLI, ...args], { env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  let output = '';
  let partial = '';
  child.stdout!.on('data', (d: Buffer) => {
    output += d.toString();
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // a wrapped command's own output
      }
    }
  });
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = once(child, 'exit').then(([code, signal]) => (code as number | null) ?? 128 + constants.signals[signal as NodeJS.Signals]);
  return {
    child,
    logs,
    output: () => output,
    waitForEvent: (event, timeoutMs = 10_000, fields = {}) =>
      waitFor(
        `log event "${event}" (output so far: ${output.slice(-800)})`,
        () => logs.find((l) => l.event === event && Object.entries(fields).every(([k, v]) => l[k] === v)),
        timeoutMs,
      ),
    events: (event) => logs.filter((l) => l.event === event),
    waitExit: (timeoutMs = 15_000) =>
      waitFor(`exit (output so far: ${output.slice(-800)})`, () => (child.exitCode ?? child.signalCode ?? undefined) !== undefined ? exited : undefined, timeoutMs).then((r) => r.value),
    kill: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}

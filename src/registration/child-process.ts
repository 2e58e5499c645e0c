import { spawn } from 'node:child_process';
import { constants } from 'node:os';

/** The service that `register -- <command>` runs and speaks for. */
export interface ChildService {
  readonly pid: number | undefined;
  /** Resolves with the exit code a shell would report: the code, 128 + signal number, or 127/126 when it could not start. */
  readonly exited: Promise<number>;
  /** Passes a signal on; a no-op once the child has exited. */
  signal(signal: NodeJS.Signals): void;
}

/** Starts the command with this process's stdin/stdout/stderr, so its logs appear as if it ran alone. */
export function startChild(command: string, args: readonly string[]): ChildService {
  const child = spawn(command, args, { stdio: 'inherit' });
  let done = false;
  const exited = new Promise<number>((resolve) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      done = true;
      process.stderr.write(`branch-proxy register: cannot start ${command}: ${err.message}\n`);
      resolve(err.code === 'ENOENT' ? 127 : 126);
    });
    child.once('exit', (code, signal) => {
      done = true;
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
  return {
    pid: child.pid,
    exited,
    signal(signal) {
      if (!done) child.kill(signal);
    },
  };
}

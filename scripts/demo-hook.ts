/**
 * The demo's SLEEP_COMMAND and WAKE_COMMAND (`npm run demo`, issue #13). The proxy
 * runs them with the deployment in the environment (DEPLOYMENT, BRANCH, SERVICES);
 * DEMO_STATE_DIR, set by the demo, holds one `<deployment>-<service>.pid` per
 * running service: the process group of its `branch-proxy register`.
 *
 *   demo-hook.ts sleep   stops the deployment's services (register deregisters them)
 *   demo-hook.ts wake    starts them again with `branch-proxy register`, as the demo did
 *
 * The same start is used by the demo itself (startService), so a woken deployment
 * is registered exactly as the first time.
 */
import { spawn } from 'node:child_process';
import { openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../test/helpers/ports.ts';

const ROOT = resolve(import.meta.dirname, '..');

export function pidFile(stateDir: string, deployment: string, service: string): string {
  return join(stateDir, `${deployment}-${service}.pid`);
}

/**
 * Starts `branch-proxy register … -- node demo/demo-service.mjs` for one service in
 * a process group of its own, and records its pid. `stdio` is where its output goes.
 */
export async function startService(o: { stateDir: string; branch: string; deployment: string; service: string; env: NodeJS.ProcessEnv; stdio: 'pipe' | number }) {
  const port = String(await freePort());
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'register', '--branch', o.branch, '--service', o.service, '--port', port, '--ip', '127.0.0.1', '--ttl', '5', '--', process.execPath, 'demo/demo-service.mjs'],
    { cwd: ROOT, env: { ...o.env, PORT: port, BRANCH: o.branch, SERVICE: o.service }, stdio: ['ignore', o.stdio, o.stdio], detached: true },
  );
  writeFileSync(pidFile(o.stateDir, o.deployment, o.service), String(child.pid));
  return child;
}

/** Stops a recorded service's process group and waits (up to 10 s) until it is gone. */
export async function stopService(stateDir: string, deployment: string, service: string): Promise<void> {
  const file = pidFile(stateDir, deployment, service);
  let pid: number;
  try {
    pid = Number(readFileSync(file, 'utf8'));
  } catch {
    return; // not running (already asleep, or never started by the demo)
  }
  try {
    process.kill(-pid, 'SIGTERM');
    for (let i = 0; i < 100 && alive(pid); i++) await sleep(100);
  } catch {
    // already gone
  }
  rmSync(file, { force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function hook(step: string | undefined): Promise<void> {
  const { DEMO_STATE_DIR: stateDir, DEPLOYMENT: deployment, BRANCH: branch, SERVICES: services = '' } = process.env;
  if (!stateDir || !deployment || (step !== 'sleep' && step !== 'wake')) {
    throw new Error('usage: DEMO_STATE_DIR=… DEPLOYMENT=… SERVICES="web api" demo-hook.ts sleep|wake (the demo sets these)');
  }
  for (const service of services.split(' ').filter(Boolean)) {
    if (step === 'sleep') {
      await stopService(stateDir, deployment, service);
      console.log(`stopped ${deployment} ${service}`);
    } else {
      const log = openSync(join(stateDir, `${deployment}-${service}.log`), 'a');
      const child = await startService({ stateDir, branch: branch || deployment, deployment, service, env: process.env, stdio: log });
      // The hook ends here; the service runs on in its own process group (the proxy waits for its route).
      child.unref();
      console.log(`started ${deployment} ${service} (pid ${child.pid})`);
    }
  }
}

if (import.meta.filename === resolve(process.argv[1] ?? '')) {
  hook(process.argv[2]).catch((err: unknown) => {
    console.error(`demo-hook: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}

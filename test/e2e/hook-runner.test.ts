import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandDriver } from '../../src/sleep/command-driver.ts';
import { SleepStepError } from '../../src/sleep/driver.ts';
import { runHook } from '../../src/sleep/hook-runner.ts';
import type { HookEnvironment } from '../../src/sleep/hook-runner.ts';
import { waitFor } from '../helpers/wait.ts';
import { isAlive } from '../helpers/process-alive.ts';

const env: HookEnvironment = { deployment: 'feature-x', branch: 'Feature/X', services: ['web', 'api'], baseDomain: 'dev.example.com' };


describe('hook runner (real /bin/sh processes)', () => {
  let dir: string;
  const leftRunning: number[] = [];
  before(() => (dir = mkdtempSync(join(tmpdir(), 'branch-proxy-hooks-'))));
  after(() => {
    for (const pid of leftRunning) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('SECURITY: names with shell metacharacters are data, never executed', async () => {
    const pwned = join(dir, 'pwned');
    const hostile = { deployment: `x; touch ${pwned}`, branch: `$(touch ${pwned})\`touch ${pwned}\``, services: [`a;touch ${pwned}`], baseDomain: `|touch ${pwned}` };
    const quoted = await runHook('echo "$DEPLOYMENT"; echo "$BRANCH"; echo "$SERVICES"; echo "$BASE_DOMAIN"', hostile, { timeoutMs: 10_000 });
    assert.equal(quoted.tail, `x; touch ${pwned}\n$(touch ${pwned})\`touch ${pwned}\`\na;touch ${pwned}\n|touch ${pwned}\n`);
    // Even unquoted, expansion splits words but runs nothing.
    const unquoted = await runHook('echo $DEPLOYMENT $BRANCH $SERVICES $BASE_DOMAIN', hostile, { timeoutMs: 10_000 });
    assert.equal(unquoted.ok, true);
    assert.equal(existsSync(pwned), false, 'no command in a name may run');
  });

  test('the deployment comes in the environment; exit status 0 is success', async () => {
    const r = await runHook('printf "%s|%s|%s|%s" "$DEPLOYMENT" "$BRANCH" "$SERVICES" "$BASE_DOMAIN"', env, { timeoutMs: 10_000 });
    assert.deepEqual({ ok: r.ok, code: r.code, signal: r.signal, timedOut: r.timedOut, tail: r.tail }, { ok: true, code: 0, signal: null, timedOut: false, tail: 'feature-x|Feature/X|web api|dev.example.com' });
    const noBranch = await runHook('printf "[%s]" "$BRANCH"', { ...env, branch: undefined }, { timeoutMs: 10_000 });
    assert.equal(noBranch.tail, '[]');
  });

  test('a non-zero exit fails with its status and the tail of stdout and stderr', async () => {
    const r = await runHook('echo starting; echo "no such service" >&2; exit 3', env, { timeoutMs: 10_000 });
    assert.deepEqual({ ok: r.ok, code: r.code, timedOut: r.timedOut, tail: r.tail }, { ok: false, code: 3, timedOut: false, tail: 'starting\nno such service\n' });
    const missing = await runHook('no-such-command-here', env, { timeoutMs: 10_000 });
    assert.equal(missing.code, 127);
    assert.match(missing.tail, /not found/);
  });

  test('only the last bytes of a long output are kept', async () => {
    const r = await runHook('head -c 100000 /dev/zero | tr "\\0" x; echo; echo END', env, { timeoutMs: 10_000, tailBytes: 4096 });
    assert.equal(r.ok, true);
    assert.equal(Buffer.byteLength(r.tail), 4096);
    assert.match(r.tail, /^x+\nEND\n$/);
  });

  test('a timeout kills the whole process group, grandchildren included', async () => {
    const pidFile = join(dir, 'grandchild.pid');
    const r = await runHook(`sleep 60 & echo $! > ${pidFile}; echo waiting; wait`, env, { timeoutMs: 500 });
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    leftRunning.push(grandchild);
    assert.equal(r.ok, false);
    assert.equal(r.timedOut, true);
    assert.equal(r.signal, 'SIGTERM');
    assert.equal(r.tail, 'waiting\n');
    await waitFor(`grandchild ${grandchild} to be gone`, () => (isAlive(grandchild) ? undefined : true), 10_000);
  });

  test('a group that ignores SIGTERM is killed with SIGKILL after the grace period', async () => {
    const pidFile = join(dir, 'stubborn.pid');
    const r = await runHook(`trap "" TERM; sleep 60 & echo $! > ${pidFile}; wait; wait`, env, { timeoutMs: 500, killGraceMs: 300 });
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    leftRunning.push(grandchild);
    assert.equal(r.timedOut, true);
    assert.equal(r.signal, 'SIGKILL');
    await waitFor(`grandchild ${grandchild} to be gone`, () => (isAlive(grandchild) ? undefined : true), 10_000);
  });

  test('an aborted hook is ended like a timed-out one', async () => {
    const abort = new AbortController();
    const running = runHook('sleep 60', env, { timeoutMs: 60_000, signal: abort.signal });
    abort.abort();
    const r = await running;
    assert.deepEqual({ ok: r.ok, timedOut: r.timedOut }, { ok: false, timedOut: true });
  });

  test('what a hook leaves running in the background is neither waited for nor killed', async () => {
    const pidFile = join(dir, 'background.pid');
    const r = await runHook(`sleep 60 & echo $! > ${pidFile}; echo started`, env, { timeoutMs: 10_000 });
    const background = Number(readFileSync(pidFile, 'utf8'));
    leftRunning.push(background);
    assert.deepEqual({ ok: r.ok, tail: r.tail }, { ok: true, tail: 'started\n' });
    assert.ok(r.ms < 30_000, 'returned when the shell exited, not when the background process closed its output');
    assert.equal(isAlive(background), true);
  });
});

describe('command driver', () => {
  test('runs SLEEP_COMMAND and WAKE_COMMAND with the target; a missing command is nothing to run', async () => {
    const driver = new CommandDriver({ sleepCommand: 'test "$DEPLOYMENT/$SERVICES/$BASE_DOMAIN" = "feature-x/web api/dev.example.com"', timeoutMs: 10_000, baseDomain: 'dev.example.com' });
    assert.deepEqual(await driver.sleep({ deployment: 'feature-x', services: ['web', 'api'] }), {});
    await driver.wake({ deployment: 'feature-x', services: ['web'] });
  });

  test('a failed or hung command is a SleepStepError: status in the summary, output only in the tail', async () => {
    const driver = new CommandDriver({ sleepCommand: 'echo "secret output"; exit 4', wakeCommand: 'sleep 60', timeoutMs: 300, baseDomain: 'dev.example.com' });
    await assert.rejects(driver.sleep({ deployment: 'feature-x', services: ['web'] }), (err: unknown) => {
      assert.ok(err instanceof SleepStepError);
      assert.deepEqual({ step: err.step, summary: err.summary, tail: err.tail }, { step: 'sleep', summary: 'sleep command exited with status 4', tail: 'secret output\n' });
      return true;
    });
    await assert.rejects(driver.wake({ deployment: 'feature-x', services: ['web'] }), (err: unknown) => {
      assert.ok(err instanceof SleepStepError);
      assert.equal(err.summary, 'wake command ran longer than 300 ms and was stopped');
      return true;
    });
  });
});

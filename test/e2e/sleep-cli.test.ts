import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { deploymentKey, serviceKey, sleepStateKey } from '../../src/registry/keys.ts';
import { probeOnce } from '../../src/registration/readiness.ts';
import { CLI, runCli } from '../helpers/cli-process.ts';
import type { EtcdServer } from '../helpers/etcd.ts';
import { startEtcd } from '../helpers/etcd.ts';
import type { FakeEcs } from '../helpers/fake-ecs.ts';
import { startFakeEcs } from '../helpers/fake-ecs.ts';
import { freePort } from '../helpers/ports.ts';
import { waitFor } from '../helpers/wait.ts';
import { isAlive } from '../helpers/process-alive.ts';

const run = promisify(execFile);


/** Asserts a failed command: its exit code, and the first stderr line. */
function assertFails(r: { status: number | null; stderr: string }, status: number, pattern: RegExp): void {
  assert.equal(r.status, status, r.stderr);
  assert.match(r.stderr.split('\n')[0]!, pattern);
}

describe('branch-proxy sleep and wake (real etcd, real backends started and stopped by the hooks)', () => {
  let etcd: EtcdServer;
  let dir: string;
  let prefix = '';
  let n = 0;
  let port = 0;
  const started: number[] = [];
  // The wake command starts the service the way a deployment does: `register` wrapping it, in the background.
  const wakeCommand = () =>
    `cd ${JSON.stringify(process.cwd())} && PORT=${port} ${JSON.stringify(process.execPath)} ${CLI.join(' ')} register --deployment "$DEPLOYMENT" --service web --ip 127.0.0.1 --port ${port} --ttl 5 ` +
    `-- ${JSON.stringify(process.execPath)} test/helpers/fake-service.mjs > "${dir}/$DEPLOYMENT.log" 2>&1 & echo $! > "${dir}/$DEPLOYMENT.pid"`;
  const sleepCommand = () => `kill -TERM "$(cat "${dir}/$DEPLOYMENT.pid")"`;
  const env = (over: Record<string, string> = {}) => ({
    ETCD_ENDPOINTS: etcd.endpoint,
    REGISTRY_PREFIX: prefix,
    SLEEP_COMMAND: sleepCommand(),
    WAKE_COMMAND: wakeCommand(),
    WAKE_TIMEOUT: '60s',
    ...over,
  });
  const cli = (args: string[], over: Record<string, string> = {}) => runCli(args, env(over));
  const keys = async () => (await etcd.client.getAll().prefix(prefix).keys()).sort();
  const record = async (deployment: string) => {
    const text = await etcd.client.get(sleepStateKey(prefix, deployment, 'sleep')).string();
    return text === null ? undefined : (JSON.parse(text) as Record<string, unknown>);
  };
  const pidOf = (deployment: string) => Number(readFileSync(join(dir, `${deployment}.pid`), 'utf8'));
  const fresh = async () => {
    prefix = `/sleep-cli-${++n}/`;
    port = await freePort();
  };
  /** Starts the deployment as its wake command would, and waits until it is registered. */
  const startDeployment = async (deployment: string) => {
    const r = await run('/bin/sh', ['-c', wakeCommand()], { env: { ...process.env, ...env(), DEPLOYMENT: deployment } });
    assert.equal(r.stderr, '');
    started.push(pidOf(deployment));
    await waitFor(`${deployment} registered`, async () => ((await keys()).includes(serviceKey(prefix, deployment, 'web', 'port')) ? true : undefined), 20_000);
  };

  before(async () => {
    etcd = await startEtcd();
    dir = mkdtempSync(join(tmpdir(), 'branch-proxy-sleep-cli-'));
  });
  after(async () => {
    // SIGTERM lets `register` stop the service it wraps; SIGKILL only what is left after that.
    for (const pid of started) if (isAlive(pid)) process.kill(pid, 'SIGTERM');
    await waitFor('registers to stop', () => (started.some(isAlive) ? undefined : true), 10_000).catch(() => undefined);
    for (const pid of started) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    await etcd?.destroy();
  });

  test('sleep stops the backend and keeps the deployment known; wake --wait starts it and marks it awake', async () => {
    await fresh();
    await startDeployment('feat-a');
    const registerPid = pidOf('feat-a');

    const slept = cli(['sleep', '--deployment', 'feat-a']);
    assert.equal(slept.status, 0, slept.stderr);
    assert.match(slept.stdout, /^feat-a is asleep: web; a visit or `branch-proxy wake` wakes it\n$/);
    const asleep = await record('feat-a');
    assert.deepEqual({ state: asleep?.state, services: asleep?.services }, { state: 'asleep', services: ['web'] });
    assert.deepEqual(await keys(), [deploymentKey(prefix, 'feat-a', 'created'), sleepStateKey(prefix, 'feat-a', 'sleep')]);
    await waitFor('register and its service to stop', () => (isAlive(registerPid) ? undefined : true), 20_000);
    assert.equal(await probeOnce({ host: '127.0.0.1', port, timeoutMs: 1000 }), false, 'nothing listens once asleep');

    const again = cli(['sleep', '--deployment', 'feat-a']);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /feat-a is already asleep \(since .*\); nothing to do/);

    const woken = cli(['wake', '--deployment', 'feat-a', '--wait']);
    started.push(pidOf('feat-a'));
    assert.equal(woken.status, 0, woken.stderr);
    assert.match(woken.stdout, /^feat-a is awake after \d+\.\d s: web\n$/);
    assert.equal(await record('feat-a'), undefined, 'the record is removed');
    const lastWake = JSON.parse((await etcd.client.get(sleepStateKey(prefix, 'feat-a', 'last-wake')).string()) ?? '{}') as { ms: number; at: string };
    assert.ok(Number.isInteger(lastWake.ms) && lastWake.ms >= 0 && !Number.isNaN(Date.parse(lastWake.at)), JSON.stringify(lastWake));
    assert.equal(await probeOnce({ host: '127.0.0.1', port, timeoutMs: 1000 }), true);
    assert.ok((await keys()).includes(serviceKey(prefix, 'feat-a', 'web', 'ip')));

    const awake = cli(['wake', '--deployment', 'feat-a']);
    assert.equal(awake.status, 0, awake.stderr);
    assert.equal(awake.stdout, 'feat-a is awake; nothing to do\n');

    // The next sleep carries the last wake's duration, for the waiting page.
    assert.equal(cli(['sleep', '--deployment', 'feat-a']).status, 0);
    assert.deepEqual((await record('feat-a'))?.lastWake, lastWake);
  });

  test('clear errors: no such deployment, nothing routed, claimed by another', async () => {
    await fresh();
    assertFails(cli(['sleep', '--deployment', 'nope']), 2, /^branch-proxy: no deployment named nope is registered \(see branch-proxy ls\)$/);
    assertFails(cli(['wake', '--branch', 'Feature/Nope']), 2, /no deployment named feature-nope/);
    await etcd.client.put(deploymentKey(prefix, 'empty', 'created')).value('2026-01-30T10:00:00.000Z').exec();
    assertFails(cli(['sleep', '--deployment', 'empty']), 1, /empty has no routed service/);
    await etcd.client.put(sleepStateKey(prefix, 'busy', 'sleep')).value(JSON.stringify({ state: 'sleeping', since: new Date().toISOString(), owner: 'proxy-2:7:ab', services: ['web'] })).exec();
    assertFails(cli(['sleep', '--deployment', 'busy']), 1, /busy is sleeping \(claimed by proxy-2:7:ab since .*\); try again once that is done/);
    assertFails(cli(['wake', '--deployment', 'busy']), 1, /busy is falling asleep \(claimed by proxy-2:7:ab/);
    assertFails(cli(['sleep', '--deployment', 'x'], { SLEEP_DRIVER: 'ecs' }), 2, /invalid ECS_CLUSTER/);
  });

  test('a failed sleep command leaves the deployment awake and reports its status and output', async () => {
    await fresh();
    await etcd.client.put(serviceKey(prefix, 'feat-b', 'web', 'ip')).value('127.0.0.1').exec();
    await etcd.client.put(serviceKey(prefix, 'feat-b', 'web', 'port')).value(String(port)).exec();
    const r = cli(['sleep', '--deployment', 'feat-b'], { SLEEP_COMMAND: 'echo "docker: no such container" >&2; exit 7' });
    assertFails(r, 1, /^branch-proxy: sleep of feat-b failed: sleep command exited with status 7 after \d+ ms$/);
    assert.match(r.stderr, /\n {2}\| docker: no such container\n$/);
    assert.equal(await record('feat-b'), undefined, 'no record: it stays awake');
    assert.equal((await keys()).length, 2, 'routes untouched');
  });

  test('a failed wake leaves it asleep with the reason; --wait gives up after --timeout', async () => {
    await fresh();
    const asleep = { state: 'asleep', since: '2026-01-30T10:00:00.000Z', services: ['web'], lastWake: { ms: 1234, at: '2026-01-29T10:00:00.000Z' } };
    await etcd.client.put(sleepStateKey(prefix, 'feat-c', 'sleep')).value(JSON.stringify(asleep)).exec();
    assertFails(cli(['wake', '--deployment', 'feat-c'], { WAKE_COMMAND: 'exit 3' }), 1, /wake of feat-c failed: wake command exited with status 3/);
    let rec = await record('feat-c');
    assert.equal(rec?.state, 'asleep');
    assert.deepEqual({ ...(rec?.lastWake as object), at: undefined }, { ms: 1234, at: undefined, error: 'wake command exited with status 3' });

    assertFails(cli(['wake', '--deployment', 'feat-c', '--wait', '--timeout', '1s'], { WAKE_COMMAND: 'true' }), 1, /feat-c did not wake within 1 s: web not routed or not accepting connections/);
    rec = await record('feat-c');
    assert.equal(rec?.state, 'asleep');
    assert.equal((rec?.lastWake as { error?: string }).error, 'not routed within 1 s');
    assertFails(cli(['wake', '--deployment', 'feat-c', '--wait', '--timeout', '5'], { WAKE_COMMAND: 'true' }), 2, /invalid --timeout="5": expected a duration with a unit/);
  });

  test('SLEEP_DRIVER=ecs: the exact ECS calls, credentials and endpoint from the environment', async () => {
    await fresh();
    let ecs: FakeEcs | undefined;
    try {
      ecs = await startFakeEcs({ 'preview-feat-d-web': 2, 'preview-feat-d-api': 1 });
      for (const service of ['web', 'api']) {
        await etcd.client.put(serviceKey(prefix, 'feat-d', service, 'ip')).value('127.0.0.1').exec();
        await etcd.client.put(serviceKey(prefix, 'feat-d', service, 'port')).value(String(port)).exec();
      }
      const ecsEnv = {
        ...env(),
        SLEEP_DRIVER: 'ecs',
        ECS_CLUSTER: 'dev',
        ECS_SERVICE_TEMPLATE: 'preview-{deployment}-{service}',
        AWS_ENDPOINT_URL_ECS: ecs.url,
        AWS_REGION: 'eu-west-1',
        AWS_ACCESS_KEY_ID: 'AKIDEXAMPLETEST',
        AWS_SECRET_ACCESS_KEY: 'dummy-secret',
      };
      // Async: the fake ECS endpoint answers from this process.
      const sleepRun = await run(process.execPath, [...CLI, 'sleep', '--deployment', 'feat-d'], { env: { ...process.env, ...ecsEnv } });
      assert.match(sleepRun.stdout, /feat-d is asleep: api, web/);
      assert.deepEqual((await record('feat-d'))?.ecs, { desiredCounts: { 'preview-feat-d-api': 1, 'preview-feat-d-web': 2 } });
      const wakeRun = await run(process.execPath, [...CLI, 'wake', '--deployment', 'feat-d'], { env: { ...process.env, ...ecsEnv } });
      assert.match(wakeRun.stdout, /feat-d is waking: api, web started/);
      assert.deepEqual(
        ecs.calls.map(({ action, input }) => ({ action, input })),
        [
          { action: 'DescribeServices', input: { cluster: 'dev', services: ['preview-feat-d-api', 'preview-feat-d-web'] } },
          { action: 'UpdateService', input: { cluster: 'dev', service: 'preview-feat-d-api', desiredCount: 0 } },
          { action: 'UpdateService', input: { cluster: 'dev', service: 'preview-feat-d-web', desiredCount: 0 } },
          { action: 'UpdateService', input: { cluster: 'dev', service: 'preview-feat-d-api', desiredCount: 1 } },
          { action: 'UpdateService', input: { cluster: 'dev', service: 'preview-feat-d-web', desiredCount: 2 } },
        ],
      );
      assert.match(String(ecs.calls[0]!.headers.authorization), /Credential=AKIDEXAMPLETEST\/\d{8}\/eu-west-1\/ecs\//);
      assert.equal((await record('feat-d'))?.state, 'waking');
    } finally {
      await ecs?.close();
    }
  });
});

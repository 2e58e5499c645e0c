import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { serviceKey } from '../../src/registry/keys.ts';
import type { CliProcess } from '../helpers/cli-process.ts';
import { spawnCli } from '../helpers/cli-process.ts';
import { useEtcd } from '../helpers/etcd.ts';
import { freePort } from '../helpers/ports.ts';
import { waitFor } from '../helpers/wait.ts';

const P = '/deployment/';
const SERVICE = ['node', 'test/helpers/fake-service.mjs'];

/** The epoch ms the fake service printed after `word`, once it has. */
function printed(p: CliProcess, word: string): number | undefined {
  const m = p.output().match(new RegExp(`^${word} (\\d+)$`, 'm'));
  return m ? Number(m[1]) : undefined;
}

describe('branch-proxy register -- <command>', () => {
  const etcd = useEtcd();
  const running: CliProcess[] = [];
  const wrap = async (deployment: string, env: Record<string, string>, extra: string[] = []): Promise<{ p: CliProcess; port: number }> => {
    const port = await freePort();
    const p = spawnCli(
      ['register', '--deployment', deployment, '--service', 'web', '--port', String(port), '--ip', '127.0.0.1', '--ttl', '2', ...extra, '--', ...SERVICE],
      { ETCD_ENDPOINTS: etcd.endpoint, PORT: String(port), ...env },
    );
    running.push(p);
    return { p, port };
  };
  const port = (deployment: string): Promise<string | null> => etcd.client.get(serviceKey(P, deployment, 'web', 'port')).string();

  after(async () => {
    for (const p of running) p.kill('SIGKILL');
  });

  test('registers only once the port accepts connections; SIGTERM reaches the command and its exit code is ours', async (t) => {
    const { p, port: servicePort } = await wrap('wrapped', { LISTEN_AFTER: '800', EXIT_CODE: '3' });
    await p.waitForEvent('waiting-for-service');
    assert.equal(await port('wrapped'), null, 'not registered before the port is open');
    const registered = await p.waitForEvent('registered', 10_000);
    const listening = printed(p, 'listening')!;
    const at = Date.parse(registered.value.time as string);
    assert.ok(at >= listening, `registered at ${at}, before the port opened at ${listening}`);
    t.diagnostic(`registered ${at - listening} ms after the command started listening (readyMs ${String(p.logs.find((l) => l.event === 'service-ready')?.readyMs)})`);
    assert.equal(await port('wrapped'), String(servicePort));

    p.kill('SIGTERM');
    assert.equal(await p.waitExit(), 3, p.output());
    assert.match(p.output(), /got SIGTERM/);
    assert.equal(await port('wrapped'), null);
  });

  test('the command exiting on its own deregisters and passes its code on', async () => {
    const { p } = await wrap('crashes', { EXIT_AFTER: '1500', EXIT_CODE: '7' });
    await p.waitForEvent('registered', 10_000);
    assert.equal(await p.waitExit(), 7, p.output());
    assert.equal(await port('crashes'), null);
    assert.ok(p.logs.some((l) => l.event === 'command-exited' && l.code === 7));
  });

  test('--health-path: registers only once it answers 2xx', async (t) => {
    const { p } = await wrap('healthy', { HEALTHY_AFTER: '1000' }, ['--health-path', '/health']);
    const registered = await p.waitForEvent('registered', 10_000);
    const healthy = printed(p, 'healthy')!;
    const at = Date.parse(registered.value.time as string);
    assert.ok(at >= healthy, `registered at ${at}, before /health answered 200 at ${healthy}`);
    t.diagnostic(`registered ${at - healthy} ms after /health turned 200`);
    p.kill('SIGINT');
    assert.equal(await p.waitExit(), 130, 'the service has no SIGINT handler: it dies of the forwarded signal');
    assert.equal(await port('healthy'), null);
  });

  test('a command that exits before it is ready is never registered', async () => {
    const { p } = await wrap('neverready', { EXIT_EARLY: '1000', EXIT_CODE: '5' });
    assert.equal(await p.waitExit(), 5, p.output());
    assert.equal(await port('neverready'), null);
    assert.ok(!p.logs.some((l) => l.event === 'registered'));
  });

  test('a command that cannot start exits 127', async () => {
    const p = spawnCli(['register', '--deployment', 'nocommand', '--service', 'web', '--port', '1', '--ip', '127.0.0.1', '--', 'no-such-command-here'], {
      ETCD_ENDPOINTS: etcd.endpoint,
    });
    running.push(p);
    assert.equal(await p.waitExit(), 127, p.output());
    await waitFor('nothing registered', async () => ((await port('nocommand')) === null ? true : undefined), 1000);
  });
});

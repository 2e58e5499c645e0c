import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { serviceKey } from '../../src/registry/keys.ts';
import { SERVE_SETTINGS } from '../../src/config/settings.ts';
import type { Backend } from '../helpers/backend.ts';
import { startBackend } from '../helpers/backend.ts';
import type { EtcdServer } from '../helpers/etcd.ts';
import { startEtcd } from '../helpers/etcd.ts';
import { request } from '../helpers/http.ts';
import { freePort } from '../helpers/ports.ts';
import { waitFor } from '../helpers/wait.ts';

const CLI = ['--import', 'tsx', 'src/cli/main.ts'];

function runCli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [...CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 20_000 });
}

describe('branch-proxy serve as a process', () => {
  test('--help explains every option with its environment variable', () => {
    const help = runCli(['serve', '--help']);
    assert.equal(help.status, 0);
    const text = help.stdout.replace(/\s+/g, ' ');
    for (const s of SERVE_SETTINGS) assert.match(text, new RegExp(`--${s.env.toLowerCase().replaceAll('_', '-')} <value> .*env: ${s.env}\\b`), s.env);
  });

  test('a bad value exits non-zero with one line naming the variable', () => {
    for (const [env, value] of [['PORT', 'abc'], ['BASE_DOMAIN', 'not a domain'], ['ETCD_ENDPOINTS', 'ftp://x']] as const) {
      const run = runCli(['serve'], { [env]: value });
      assert.equal(run.status, 2, `${env}=${value}: ${run.stderr}`);
      const lines = run.stderr.trim().split('\n');
      assert.equal(lines.length, 1, run.stderr);
      assert.match(lines[0]!, new RegExp(`^branch-proxy: invalid ${env}=`));
    }
    const flag = runCli(['serve', '--port', '99999']);
    assert.equal(flag.status, 2);
    assert.match(flag.stderr, /invalid PORT="99999"/);
  });

  describe('SIGTERM', () => {
    let etcd: EtcdServer;
    let backend: Backend;
    before(async () => {
      etcd = await startEtcd();
      backend = await startBackend('slow');
      await etcd.client.put(serviceKey('/deployment/', 'main', 'web', 'ip')).value('127.0.0.1');
      await etcd.client.put(serviceKey('/deployment/', 'main', 'web', 'port')).value(String(backend.port));
    });
    after(async () => {
      await backend.close();
      await etcd.destroy();
    });

    test('lets in-flight requests finish, then exits 0', async () => {
      const [port, adminPort] = [await freePort(), await freePort()];
      const child = spawn(process.execPath, [...CLI, 'serve'], {
        env: { ...process.env, ETCD_ENDPOINTS: etcd.endpoint, PORT: String(port), ADMIN_PORT: String(adminPort), HOST: '127.0.0.1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      try {
        // Ready means every worker (WORKERS defaults to one per CPU) has loaded its table.
        await waitFor('proxy ready', async () => ((await fetch(`http://127.0.0.1:${adminPort}/readyz`).catch(() => undefined))?.ok ? true : undefined), 15_000);
        await waitFor('proxy routes main', async () => ((await request(port, 'main.dev.localhost', '/echo')).status === 200 ? true : undefined), 15_000);
        const inFlight = request(port, 'main.dev.localhost', '/slow?ms=800');
        await new Promise((r) => setTimeout(r, 200));
        child.kill('SIGTERM');
        const [code] = (await once(child, 'exit')) as [number | null];
        const reply = await inFlight;
        assert.equal(reply.status, 200);
        assert.equal(reply.body, 'slow');
        assert.equal(code, 0, out);
        const lines = out.trim().split('\n').map((l) => JSON.parse(l) as { event?: string; config?: unknown });
        assert.ok(lines.some((l) => l.event === 'started' && l.config), 'start line with the effective config');
        assert.ok(lines.some((l) => l.event === 'shutting-down'));
      } finally {
        child.kill('SIGKILL');
      }
    });
  });
});

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { runCli } from '../helpers/cli-process.ts';
import { request } from '../helpers/http.ts';
import { freePort } from '../helpers/ports.ts';
import { waitFor } from '../helpers/wait.ts';

/** `export A=1 B=2` -> { A: '1', B: '2' } (the demo prints plain values here). */
function parseExport(line: string): Record<string, string> {
  return Object.fromEntries(line.replace(/^export /, '').split(/\s+/).map((pair) => {
    const eq = pair.indexOf('=');
    return [pair.slice(0, eq), pair.slice(eq + 1)];
  }));
}

// Regression: the demo's etcd listens on a random port, so the CLI run beside it looked
// for etcd on 2379, and `url` printed URLs without the demo's port.
describe('npm run demo: the CLI can be pointed at it, and its log shows what the proxy does', () => {
  let demo: ChildProcess;
  let output = '';
  let port: number;
  let cliEnv: Record<string, string>;

  before(async () => {
    port = await freePort();
    const adminPort = await freePort();
    // The demo starts its own etcd when ETCD_ENDPOINTS is unset; nothing inherited may steer it.
    const { ETCD_ENDPOINTS: _e, URL_PORT: _u, BASE_DOMAIN: _b, WORKERS: _w, DEMO_LOG: _l, ...env } = process.env;
    demo = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts'], {
      env: { ...env, PORT: String(port), ADMIN_PORT: String(adminPort) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    demo.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    demo.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const exportLine = await waitFor('the export line', () => /^export .+$/m.exec(output)?.[0], 90_000).catch((err: Error) => {
      throw new Error(`${err.message}; the demo printed:\n${output.slice(-1500)}`);
    });
    cliEnv = parseExport(exportLine.value);
  });
  after(async () => {
    if (demo.exitCode === null && demo.signalCode === null) {
      demo.kill('SIGTERM');
      await once(demo, 'exit');
    }
  });

  test('the printed export line names the demo etcd and port', () => {
    assert.match(cliEnv.ETCD_ENDPOINTS ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(cliEnv.URL_PORT, String(port));
  });

  test('with it, `branch-proxy ls` lists the demo deployments and `url` prints their URLs with the port', () => {
    const ls = runCli(['ls'], cliEnv);
    assert.equal(ls.status, 0, ls.stderr);
    assert.match(ls.stdout, /^main\b/m);
    assert.match(ls.stdout, /^feature-login\b/m);
    const url = runCli(['url', '--branch', 'feature/login'], cliEnv);
    assert.equal(url.status, 0, url.stderr);
    assert.equal(url.stdout, `http://feature-login.dev.localhost:${port}\n`);
  });

  test("the proxy's route changes and requests are shown, one readable line each", async () => {
    assert.match(output, /\[proxy\] route added {2}deployment=feature-login service=web target=127\.0\.0\.1:\d+/);
    const reply = await request(port, `feature-login.dev.localhost:${port}`, '/');
    assert.equal(reply.status, 200);
    await waitFor('the request line', () => (/\[proxy\] request {2}host=feature-login\.dev\.localhost:\d+ deployment=feature-login service=web .*status=200/.test(output) ? true : undefined));
  });

  test('Ctrl-C stops everything quietly, with exit code 0', async () => {
    const before = output.length;
    demo.kill('SIGINT');
    const [code] = (await once(demo, 'exit')) as [number | null];
    assert.equal(code, 0, output.slice(before));
    assert.equal(output.slice(before), '', 'nothing is printed while stopping');
  });
});

describe('npm run demo with SLEEP_AFTER: its deployments fall asleep, and a request wakes them', () => {
  let demo: ChildProcess;
  let output = '';
  let port: number;

  before(async () => {
    port = await freePort();
    const adminPort = await freePort();
    const { ETCD_ENDPOINTS: _e, URL_PORT: _u, BASE_DOMAIN: _b, WORKERS: _w, DEMO_LOG: _l, ...env } = process.env;
    demo = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts'], {
      env: { ...env, PORT: String(port), ADMIN_PORT: String(adminPort), SLEEP_AFTER: '3s' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    demo.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    demo.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  });
  after(async () => {
    if (demo.exitCode === null && demo.signalCode === null) {
      demo.kill('SIGTERM');
      await once(demo, 'exit');
    }
  });

  test('the demo says so; main falls asleep (its services stop); a request is held until the wake command has started them again', async () => {
    const fail = (err: Error): never => {
      throw new Error(`${err.message}; the demo printed:\n${output.slice(-2500)}`);
    };
    await waitFor('main asleep', () => (/\[proxy\] deployment asleep {2}deployment=main /.test(output) ? true : undefined), 90_000).catch(fail);
    assert.match(output, /^Sleep: a deployment nobody opens for 3s falls asleep/m);
    assert.match(output, /\[main web\] demo-service: main\/web listening on port \d+/, 'the first start is shown');

    // Not a browser: held, then forwarded to the service the wake command started.
    const reply = await request(port, `main-api.dev.localhost:${port}`, '/', { headers: { accept: 'application/json' } });
    assert.equal(reply.status, 200, reply.body);
    const body = JSON.parse(reply.body) as { deployment: string; service: string };
    assert.deepEqual([body.deployment, body.service], ['main', 'api']);
    // Held requests go as soon as the services accept connections; the record's removal (this line) follows.
    await waitFor('main awake', () => (/\[proxy\] deployment awake {2}deployment=main ms=\d+ hook=true/.test(output) ? true : undefined), 10_000).catch(fail);
  });
});

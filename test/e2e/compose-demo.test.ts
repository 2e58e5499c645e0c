/**
 * k8s-free-compose.yml without Docker: runs the proxy's and every demo service's
 * `command` from the compose file itself, as the image's ENTRYPOINT (`branch-proxy`)
 * would, against a real etcd. Only what differs outside containers is rewritten:
 * the etcd address, the ports (free ones), and `--ip <compose name>` -> 127.0.0.1.
 * So the registration command the demo containers run is the one tested here, and
 * the healthchecks of compose and the Dockerfile are run against the live processes.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { loadComposeFile } from '../static/compose-file.ts';
import { demoRegistrations, environmentOf, healthcheckArgv, services } from '../static/compose-rules.ts';
import type { DemoRegistration } from '../static/compose-rules.ts';
import { healthcheckArgv as imageHealthcheckArgv, parseDockerfile } from '../static/dockerfile-rules.ts';
import { startEtcd } from '../helpers/etcd.ts';
import type { EtcdServer } from '../helpers/etcd.ts';
import { request } from '../helpers/http.ts';
import { freePort } from '../helpers/ports.ts';
import { waitFor } from '../helpers/wait.ts';
import { slugify } from '../../src/registration/slug.ts';

const CLI = ['--import', 'tsx', 'src/cli/main.ts'];
const { doc } = loadComposeFile('k8s-free-compose.yml').main;
const proxyService = services(doc).get('proxy')!;
const demos = demoRegistrations(doc);

/** `--flag value` -> `--flag replacement` in an argv, before the `--` that starts the wrapped command. */
function withFlag(argv: readonly string[], flag: string, value: string): string[] {
  const out = [...argv];
  const i = out.indexOf(flag);
  assert.ok(i >= 0 && i < out.indexOf('--'), `${flag} missing in ${argv.join(' ')}`);
  out[i + 1] = value;
  return out;
}

/** Runs a compose healthcheck argv here: `node` is this node, the compose port is the real one. */
function runHealthcheck(argv: readonly string[], composePort: string, port: number, env: Record<string, string> = {}): number | null {
  const [cmd, ...args] = argv.map((a) => a.replaceAll(`127.0.0.1:${composePort}/`, `127.0.0.1:${port}/`));
  const run = spawnSync(cmd === 'node' ? process.execPath : cmd!, args, { encoding: 'utf8', timeout: 10_000, env: { ...process.env, ...env } });
  return run.status;
}

describe('k8s-free-compose.yml demo, run as processes', () => {
  let etcd: EtcdServer;
  let proxyPort: number;
  let adminPort: number;
  const children = new Map<string, ChildProcess>();
  const ports = new Map<string, number>();
  const output = new Map<string, string>();

  function start(name: string, argv: readonly string[], env: Record<string, string>): ChildProcess {
    const child = spawn(process.execPath, [...CLI, ...argv], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    output.set(name, '');
    const keep = (d: Buffer): void => void output.set(name, (output.get(name)! + d.toString()).slice(-4000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    children.set(name, child);
    return child;
  }

  before(async () => {
    etcd = await startEtcd();
    [proxyPort, adminPort] = [await freePort(), await freePort()];
    const proxyEnv = Object.fromEntries(environmentOf(proxyService));
    start('proxy', proxyService.command as string[], {
      ...proxyEnv,
      ETCD_ENDPOINTS: etcd.endpoint,
      PORT: String(proxyPort),
      ADMIN_PORT: String(adminPort),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
    });
    // As compose's health check would: with WORKERS each worker loads its own table, and the
    // proxy is ready once all have; before that a worker still loading answers 404.
    await waitFor(`proxy ready (proxy: ${output.get('proxy')})`, async () => ((await fetch(`http://127.0.0.1:${adminPort}/readyz`).catch(() => undefined))?.ok ? true : undefined), 30_000);
    for (const demo of demos) {
      const port = await freePort();
      ports.set(demo.container, port);
      const argv = withFlag(withFlag(demo.argv, '--port', String(port)), '--ip', '127.0.0.1');
      start(demo.container, argv, { ...Object.fromEntries(demo.environment), ETCD_ENDPOINTS: etcd.endpoint, PORT: String(port), LOG_LEVEL: 'warn' });
    }
  });

  after(async () => {
    await Promise.all(
      [...children.values()].map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }),
    );
    await etcd?.destroy();
  });

  const hostOf = (demo: DemoRegistration, deployment: string): string => `${deployment}-${demo.service}.dev.localhost`;

  test('every demo service registers itself and answers through the proxy as its deployment and service', async (t) => {
    assert.equal(demos.length, 4);
    for (const demo of demos) {
      const deployment = slugify(demo.branch);
      const { value: body, ms } = await waitFor(
        `${hostOf(demo, deployment)} through the proxy (output: ${output.get(demo.container)}; proxy: ${output.get('proxy')})`,
        async () => {
          const reply = await request(proxyPort, hostOf(demo, deployment), '/', { headers: { accept: 'application/json' } });
          return reply.status === 200 ? reply.json<{ deployment: string; service: string; branch: string }>() : undefined;
        },
        30_000,
      );
      assert.deepEqual([body.deployment, body.service, body.branch], [deployment, demo.service, demo.branch]);
      t.diagnostic(`${demo.container}: routed ${Math.round(ms)} ms after the checks began`);
    }
  });

  test('<deployment>.dev.localhost opens the web service', async () => {
    const reply = await request(proxyPort, 'main.dev.localhost', '/', { headers: { accept: 'application/json' } });
    assert.equal(reply.status, 200);
    assert.equal(reply.json<{ service: string }>().service, 'web');
  });

  test("the compose healthchecks and the image's HEALTHCHECK pass against the running processes", async () => {
    for (const demo of demos) {
      const argv = healthcheckArgv(services(doc).get(demo.container)!);
      assert.ok(argv, `${demo.container}: no CMD healthcheck`);
      assert.equal(runHealthcheck(argv, demo.port, ports.get(demo.container)!), 0, `${demo.container} healthcheck`);
    }
    const proxyCheck = healthcheckArgv(proxyService);
    assert.ok(proxyCheck);
    const composeAdmin = environmentOf(proxyService).get('ADMIN_PORT') ?? '8081';
    assert.equal(runHealthcheck(proxyCheck, composeAdmin, adminPort), 0, 'proxy healthcheck (/readyz)');

    const imageCheck = imageHealthcheckArgv(parseDockerfile(readFileSync('Dockerfile', 'utf8')));
    assert.ok(imageCheck, 'Dockerfile: no exec-form HEALTHCHECK');
    assert.equal(runHealthcheck(imageCheck, composeAdmin, adminPort, { ADMIN_PORT: String(adminPort) }), 0, 'Dockerfile HEALTHCHECK');
    // And it fails when nothing listens, or a stopped proxy would look healthy.
    assert.notEqual(runHealthcheck(imageCheck, composeAdmin, adminPort, { ADMIN_PORT: String(await freePort()) }), 0, 'Dockerfile HEALTHCHECK with nothing listening');
  });

  test('stopping a demo container (SIGTERM) removes its route at once and exits 0', async (t) => {
    const demo = demos.find((d) => d.container === 'feature-login-api')!;
    const child = children.get(demo.container)!;
    const exited = once(child, 'exit');
    const stoppedAt = performance.now();
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0, output.get(demo.container));
    const { ms } = await waitFor(
      'the route to disappear',
      async () => ((await request(proxyPort, hostOf(demo, 'feature-login'), '/', { headers: { accept: 'application/json' } })).status === 404 ? true : undefined),
      5000,
    );
    t.diagnostic(`feature-login-api: 404 ${Math.round(performance.now() - stoppedAt)} ms after SIGTERM (${Math.round(ms)} ms after exit)`);
    const other = await request(proxyPort, 'feature-login-web.dev.localhost', '/', { headers: { accept: 'application/json' } });
    assert.equal(other.status, 200, 'the other service of the deployment stays');
  });
});

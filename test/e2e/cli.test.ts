import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { deploymentKey, serviceKey, sleepStateKey } from '../../src/registry/keys.ts';
import type { Backend } from '../helpers/backend.ts';
import { startBackend } from '../helpers/backend.ts';
import { CLI, runCli, spawnCli } from '../helpers/cli-process.ts';
import type { EtcdServer } from '../helpers/etcd.ts';
import { startEtcd } from '../helpers/etcd.ts';
import { request } from '../helpers/http.ts';
import { freePort } from '../helpers/ports.ts';
import type { TestProxy } from '../helpers/proxy.ts';
import { startProxy } from '../helpers/proxy.ts';
import { waitFor } from '../helpers/wait.ts';

const DAY = 86_400_000;

/** Asserts a failed one-shot command: the exit code and exactly one line on stderr. */
function assertOneLineError(run: { status: number | null; stderr: string }, status: number, pattern: RegExp): void {
  assert.equal(run.status, status, run.stderr);
  const lines = run.stderr.trim().split('\n');
  assert.equal(lines.length, 1, run.stderr);
  assert.match(lines[0]!, pattern);
}

describe('branch-proxy url', () => {
  test('prints the URL of a branch, a service, or with another domain, scheme and port', () => {
    assert.equal(runCli(['url', '--branch', 'Feature/Login', '--service', 'api']).stdout, 'http://feature-login-api.dev.localhost\n');
    assert.equal(runCli(['url', '--branch', 'Feature/Login']).stdout, 'http://feature-login.dev.localhost\n');
    assert.equal(runCli(['url', '--deployment', 'main', '--domain', 'dev.example.com', '--scheme', 'https']).stdout, 'https://main.dev.example.com\n');
    assert.equal(runCli(['url', '--deployment', 'main'], { BASE_DOMAIN: 'a.test,b.test', URL_SCHEME: 'https', URL_PORT: '8443' }).stdout, 'https://main.a.test:8443\n');
  });

  test('BRANCH / DEPLOYMENT from the environment; a flag wins over the other variable', () => {
    assert.equal(runCli(['url'], { BRANCH: 'Feature/From-Env' }).stdout, 'http://feature-from-env.dev.localhost\n');
    assert.equal(runCli(['url', '--service', 'api'], { DEPLOYMENT: 'main' }).stdout, 'http://main-api.dev.localhost\n');
    assert.equal(runCli(['url', '--deployment', 'main'], { BRANCH: 'Feature/From-Env' }).stdout, 'http://main.dev.localhost\n');
    assertOneLineError(runCli(['url'], { BRANCH: 'a', DEPLOYMENT: 'b' }), 2, /give either --branch/);
  });

  test('bad arguments: one line, exit 2', () => {
    assertOneLineError(runCli(['url']), 2, /give either --branch/);
    assertOneLineError(runCli(['url', '--branch', '///']), 2, /no letters or digits/);
    assertOneLineError(runCli(['url', '--deployment', 'main', '--scheme', 'ftp']), 2, /--scheme must be http or https/);
    assertOneLineError(runCli(['url', '--deployment', 'main', '--service', 'Bad_Service']), 2, /invalid --service/);
    assertOneLineError(runCli(['url', '--deployment', 'main', '--domain', 'not a domain']), 2, /invalid BASE_DOMAIN/);
  });
});

describe('one-shot commands against etcd', () => {
  let etcd: EtcdServer;
  let prefix = '';
  let n = 0;
  const cli = (args: string[]) => runCli(args, { ETCD_ENDPOINTS: etcd.endpoint, REGISTRY_PREFIX: prefix });
  const put = (key: string, value: string) => etcd.client.put(key).value(value).exec();
  const keys = async () => (await etcd.client.getAll().prefix(prefix).keys()).sort();

  before(async () => {
    etcd = await startEtcd();
  });
  after(async () => {
    await etcd.destroy();
  });

  /** Every test gets its own registry prefix, so none sees another's deployments. */
  const fresh = (): string => (prefix = `/cli-test-${++n}/`);

  test('url --check: exit 0 and the URL when registered, 1 when not', async () => {
    fresh();
    await put(serviceKey(prefix, 'checked', 'web', 'ip'), '127.0.0.1');
    await put(serviceKey(prefix, 'checked', 'web', 'port'), '80');
    assert.equal(cli(['url', '--deployment', 'checked', '--check']).stdout, 'http://checked.dev.localhost\n');
    assert.equal(cli(['url', '--deployment', 'checked', '--service', 'web', '--check']).status, 0);
    assertOneLineError(cli(['url', '--deployment', 'checked', '--service', 'api', '--check']), 1, /checked-api is not registered/);
    assertOneLineError(cli(['url', '--deployment', 'absent', '--check']), 1, /absent is not registered/);
  });

  test('ls: a table, or --json, with branch, created/age, state and service targets', async () => {
    fresh();
    assert.equal(cli(['ls']).stdout, `no deployments under ${prefix}\n`);
    assert.equal(cli(['ls', '--json']).stdout, '[]\n');
    const created = new Date(Date.now() - 3 * DAY).toISOString();
    await put(deploymentKey(prefix, 'feature-x', 'created'), created);
    await put(deploymentKey(prefix, 'feature-x', 'branch'), 'Feature/X');
    await put(deploymentKey(prefix, 'feature-x', 'default'), 'web');
    await put(serviceKey(prefix, 'feature-x', 'web', 'ip'), '10.0.0.5');
    await put(serviceKey(prefix, 'feature-x', 'web', 'port'), '8080');
    await put(serviceKey(prefix, 'feature-x', 'api', 'ip'), '::1');
    await put(serviceKey(prefix, 'feature-x', 'api', 'port'), '9090');
    await put(deploymentKey(prefix, 'bare', 'created'), new Date().toISOString());
    // Asleep for 2 hours: only its record (and the last wake's duration) is left in etcd.
    const asleepSince = new Date(Date.now() - 2 * 3_600_000).toISOString();
    await put(sleepStateKey(prefix, 'nap', 'sleep'), JSON.stringify({ state: 'asleep', since: asleepSince, services: ['web', 'api'], defaultService: 'web' }));
    await put(sleepStateKey(prefix, 'nap', 'last-wake'), JSON.stringify({ ms: 4200, at: '2026-11-30T10:00:00.000Z' }));

    const table = cli(['ls']);
    assert.equal(table.status, 0, table.stderr);
    const [header, bare, featureX, nap] = table.stdout.split('\n');
    assert.match(header!, /^DEPLOYMENT\s+BRANCH\s+CREATED\s+AGE\s+LAST VISITED\s+STATE\s+SERVICES$/);
    assert.match(bare!, /^bare\s+-\s+\S+\s+\d+s\s+never\s+awake\s+\(none running\)$/);
    assert.match(featureX!, new RegExp(`^feature-x\\s+Feature/X\\s+${created.replaceAll('.', '\\.')}\\s+3d\\s+never\\s+awake\\s+api \\[::1\\]:9090, web\\* 10\\.0\\.0\\.5:8080$`));
    assert.match(nap!, /^nap\s+-\s+-\s+-\s+never\s+asleep 2h\s+web\*, api$/);

    const json = JSON.parse(cli(['ls', '--json']).stdout) as Record<string, unknown>[];
    // The HTTP API's field names; what etcd does not hold is null, as there.
    assert.deepEqual(json[1], {
      name: 'feature-x',
      branch: 'Feature/X',
      created,
      lastVisited: null,
      defaultService: 'web',
      state: 'awake',
      stateSince: null,
      lastWake: null,
      services: [
        { name: 'api', target: '[::1]:9090', ip: '::1', port: 9090, leased: false },
        { name: 'web', target: '10.0.0.5:8080', ip: '10.0.0.5', port: 8080, leased: false },
      ],
    });
    assert.deepEqual(json[0], { name: 'bare', branch: null, created: json[0]!.created, lastVisited: null, defaultService: null, state: 'awake', stateSince: null, lastWake: null, services: [] });
    // Listed with the services its record names, which have no target while it sleeps.
    assert.deepEqual(json[2], {
      name: 'nap',
      branch: null,
      created: null,
      lastVisited: null,
      defaultService: null,
      state: 'asleep',
      stateSince: asleepSince,
      lastWake: { ms: 4200, at: '2026-11-30T10:00:00.000Z', error: null },
      services: [
        { name: 'api', target: null, ip: null, port: null, leased: false },
        { name: 'web', target: null, ip: null, port: null, leased: false },
      ],
    });
  });

  test('deregister: one service, or every key of the deployment; idempotent', async () => {
    fresh();
    for (const service of ['web', 'api']) {
      await put(serviceKey(prefix, 'gone', service, 'ip'), '127.0.0.1');
      await put(serviceKey(prefix, 'gone', service, 'port'), '80');
    }
    await put(deploymentKey(prefix, 'gone', 'created'), new Date().toISOString());
    await put(deploymentKey(prefix, 'gone', 'branch'), 'gone');
    await put(deploymentKey(prefix, 'kept', 'created'), new Date().toISOString());

    const one = cli(['deregister', '--branch', 'gone', '--service', 'api']);
    assert.equal(one.stdout, 'removed service api of gone (2 keys)\n');
    assert.deepEqual(await keys(), [`${prefix}gone/branch`, `${prefix}gone/created`, `${prefix}gone/service/web/ip`, `${prefix}gone/service/web/port`, `${prefix}kept/created`]);

    const all = cli(['deregister', '--branch', 'gone']);
    assert.equal(all.stdout, 'removed deployment gone (4 keys)\n');
    assert.deepEqual(await keys(), [`${prefix}kept/created`]);

    const again = cli(['deregister', '--branch', 'gone']);
    assert.equal(again.status, 0);
    assert.equal(again.stdout, 'deployment gone was not registered; nothing removed\n');
    assertOneLineError(cli(['deregister']), 2, /give either --branch/);
  });

  test('prune --older-than: removes deployments created before then; --dry-run only lists them', async () => {
    fresh();
    await put(deploymentKey(prefix, 'old', 'created'), new Date(Date.now() - 10 * DAY).toISOString());
    await put(serviceKey(prefix, 'old', 'web', 'ip'), '127.0.0.1');
    await put(serviceKey(prefix, 'old', 'web', 'port'), '80');
    await put(deploymentKey(prefix, 'older', 'created'), new Date(Date.now() - 30 * DAY).toISOString());
    await put(deploymentKey(prefix, 'recent', 'created'), new Date(Date.now() - 1 * DAY).toISOString());
    await put(serviceKey(prefix, 'undated', 'web', 'ip'), '127.0.0.1');
    await put(serviceKey(prefix, 'undated', 'web', 'port'), '80');
    const before = await keys();

    const dry = cli(['prune', '--older-than', '7d', '--dry-run']);
    assert.equal(dry.status, 0, dry.stderr);
    assert.match(
      dry.stdout,
      /^would remove old \(created \S+, 10d ago\) — still has running services: web; they would keep running without a route\nwould remove older \(created \S+, 30d ago\)\nkept 1 without a created time: undated\n$/,
    );
    assert.deepEqual(await keys(), before);

    const real = cli(['prune', '--older-than', '7d']);
    assert.equal(real.status, 0, real.stderr);
    assert.match(real.stdout, /^removed old .* — still has running services: web; they keep running without a route\nremoved older \(created \S+, 30d ago\)\n2 of 2 removed\n/);
    assert.deepEqual(await keys(), [`${prefix}recent/created`, `${prefix}undated/service/web/ip`, `${prefix}undated/service/web/port`]);
    assert.match(cli(['prune', '--older-than', '12h']).stdout, /^removed recent/);
    assert.match(cli(['prune', '--older-than', '1h30m']).stdout, /^no deployment is older than 1h30m\n/);

    for (const bad of ['7', 'soon', '-1d', '0s']) assertOneLineError(cli(['prune', '--older-than', bad]), 2, /--older-than needs a duration with a unit/);
    assertOneLineError(cli(['prune']), 2, /prune needs --older-than/);
  });

  test('share: refuses a deployment or service that is not registered, unless --force', async () => {
    fresh();
    await put(serviceKey(prefix, 'shared', 'web', 'ip'), '127.0.0.1');
    await put(serviceKey(prefix, 'shared', 'web', 'port'), '80');
    const share = (args: string[], endpoint = etcd.endpoint) =>
      runCli(['share', ...args], { ETCD_ENDPOINTS: endpoint, REGISTRY_PREFIX: prefix, SHARE_SECRET: 'share-secret-0123456789abcdef0123456789' });

    const made = share(['--deployment', 'shared']);
    assert.equal(made.status, 0, made.stderr);
    assert.match(made.stdout, /^http:\/\/shared\.dev\.localhost\/\?bp_share=[\w.-]+\n$/);
    assert.match(share(['--deployment', 'shared', '--service', 'web']).stdout, /^http:\/\/shared-web\.dev\.localhost\/\?bp_share=/);

    const absent = share(['--branch', 'feature/nope']);
    assertOneLineError(absent, 1, /^branch-proxy: branch "feature\/nope" \(deployment feature-nope\) is not registered in etcd; .*add --force/);
    assert.equal(absent.stdout, '', 'no link for a deployment that does not exist');
    assertOneLineError(share(['--deployment', 'shared', '--service', 'api']), 1, /deployment shared has no service api \(it has web\); add --force/);

    const forced = share(['--branch', 'feature/nope', '--force']);
    assert.equal(forced.status, 0, forced.stderr);
    assert.match(forced.stdout, /^http:\/\/feature-nope\.dev\.localhost\/\?bp_share=/);

    // Without etcd the name cannot be checked: say so, and how to go on.
    const down = `http://127.0.0.1:${await freePort()}`;
    assertOneLineError(share(['--deployment', 'shared'], down), 1, /^branch-proxy: etcd at \S+ unavailable: .*could not check .*add --force/);
    assert.equal(share(['--deployment', 'shared', '--force'], down).status, 0, 'with --force, etcd is not asked');
  });
});

describe('one-shot commands when etcd does not answer', () => {
  let blackHole: Server;
  const sockets = new Set<Socket>();
  let silent = '';
  before(async () => {
    // Accepts TCP connections and never says a word: the worst kind of unreachable.
    blackHole = createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
    silent = `http://127.0.0.1:${(blackHole.address() as AddressInfo).port}`;
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => blackHole.close(resolve));
  });

  const COMMANDS = [['ls'], ['deregister', '--deployment', 'x'], ['prune', '--older-than', '7d'], ['url', '--deployment', 'x', '--check']];

  test('refused: exit 1 at once with one line', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    for (const args of COMMANDS) {
      const run = runCli(args, { ETCD_ENDPOINTS: endpoint });
      assertOneLineError(run, 1, new RegExp(`^branch-proxy: etcd at ${endpoint} unavailable: `));
    }
  });

  test('silent: exit 1 with one line, never hanging', async (t) => {
    // In parallel, so the suite waits for one deadline, not four.
    const runs = await Promise.all(
      COMMANDS.map(async (args) => {
        const started = performance.now();
        const child = spawn(process.execPath, [...CLI, ...args], { env: { ...process.env, ETCD_ENDPOINTS: silent }, stdio: ['ignore', 'pipe', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        // A hang ends in SIGKILL, and so in the wrong exit status: no clock assertion to flake on a busy machine.
        const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        const [status] = (await once(child, 'exit')) as [number | null];
        clearTimeout(killer);
        return { args, status, stderr, ms: performance.now() - started };
      }),
    );
    for (const run of runs) {
      assertOneLineError(run, 1, /^branch-proxy: etcd at \S+ unavailable: /);
      t.diagnostic(`${run.args[0]} gave up after ${run.ms.toFixed(0)} ms`);
    }
  });
});

describe('the printed URL opens the right backend through the proxy', () => {
  let etcd: EtcdServer;
  let proxy: TestProxy;
  let web: Backend;
  let api: Backend;
  before(async () => {
    etcd = await startEtcd();
    [web, api] = await Promise.all([startBackend('web'), startBackend('api')]);
    proxy = await startProxy(etcd.endpoint);
  });
  after(async () => {
    await proxy.close();
    await Promise.all([web.close(), api.close()]);
    await etcd.destroy();
  });

  test('register two services of a branch, then fetch what `url` prints', async () => {
    const branch = 'Feature/Through_The-Proxy';
    const registrations = [
      spawnCli(['register', '--branch', branch, '--service', 'web', '--port', String(web.port), '--ip', '127.0.0.1', '--ttl', '2'], { ETCD_ENDPOINTS: etcd.endpoint }),
      spawnCli(['register', '--branch', branch, '--service', 'api', '--port', String(api.port), '--ip', '127.0.0.1', '--ttl', '2'], { ETCD_ENDPOINTS: etcd.endpoint }),
    ];
    try {
      await Promise.all(registrations.map((r) => r.waitForEvent('registered')));
      for (const [service, backend] of [['web', 'web'], ['api', 'api'], [undefined, 'web']] as const) {
        const printed = runCli(['url', '--branch', branch, ...(service ? ['--service', service] : []), '--url-port', String(proxy.port)]);
        assert.equal(printed.status, 0, printed.stderr);
        const url = new URL(printed.stdout.trim());
        assert.equal(url.port, String(proxy.port));
        const reply = await waitFor(`${url.host} through the proxy`, async () => {
          const r = await request(proxy.port, url.host, '/echo');
          return r.status === 200 ? r : undefined;
        });
        assert.equal(reply.value.json<{ backend: string }>().backend, backend, `${printed.stdout.trim()} opens ${backend}`);
      }
    } finally {
      for (const r of registrations) r.kill('SIGTERM');
      for (const r of registrations) await r.waitExit();
    }
  });
});

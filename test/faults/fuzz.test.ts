import { after, before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import fc from 'fast-check';
import { decodeEntry } from '../../src/registry/codec.ts';
import { serviceKey } from '../../src/registry/keys.ts';
import { createHostMatcher } from '../../src/routing/host.ts';
import { RouteTable } from '../../src/routing/route-table.ts';
import type { Backend } from '../helpers/backend.ts';
import type { EtcdServer } from '../helpers/etcd.ts';
import { useFixture } from '../helpers/fixture.ts';
import type { TestProxy } from '../helpers/proxy.ts';
import { startProxy } from '../helpers/proxy.ts';
import { waitFor } from '../helpers/wait.ts';
import { createFigures } from './lib/figures.ts';
import { describeTally, tally } from './lib/process.ts';
import { DOMAIN, PREFIX, etcdRoutes, tableOf } from '../helpers/registry.ts';
import { LOOPBACK, entryArbitrary, keyArbitrary, mayRoute, valueArbitrary } from '../helpers/registry-arbitraries.ts';

const figures = createFigures(import.meta.filename);
const RUNS = Number(process.env.FAULTS_FUZZ_RUNS ?? 2000);
const FALLBACK = 'web';

/** The routes the host fuzzing runs against: dashed names make the label split interesting. */
const ROUTES: readonly { deployment: string; service: string }[] = [
  { deployment: 'main', service: 'web' },
  { deployment: 'main', service: 'api' },
  { deployment: 'feature-login', service: 'web' },
  { deployment: 'feature-login', service: 'api' },
  { deployment: 'feature', service: 'login-api' },
  { deployment: 'a-b-c', service: 'd-e' },
  { deployment: 'x1', service: 'web' },
];
const routeName = (r: { deployment: string; service: string }): string => `${r.deployment}/${r.service}`;

/** Hostile Host headers: known labels with every kind of decoration, and plain garbage. */
function hostArbitrary(allowLineBreaks: boolean): fc.Arbitrary<string> {
  const labels = [...new Set(ROUTES.flatMap((r) => [r.deployment, `${r.deployment}-${r.service}`]))];
  const junk = fc.string({ unit: fc.constantFrom(...'aZ09-_.:@[]%*/\\ \t\0é\u00ff\u2028ı'.split('')), maxLength: 12 });
  const label = fc.oneof(fc.constantFrom(...labels), junk, fc.tuple(fc.constantFrom(...labels), junk).map(([l, j]) => l + j), fc.constantFrom(...labels).map((l) => l.toUpperCase()));
  const suffix = fc.constantFrom(`.${DOMAIN}`, `.${DOMAIN}.`, `.${DOMAIN}:8080`, `.${DOMAIN.toUpperCase()}`, `.${DOMAIN}.evil.example`, `.evil.example`, '', `.${DOMAIN}:`, `.${DOMAIN}@127.0.0.1`, `.${DOMAIN}/x`, `.${DOMAIN}..`, '.localhost');
  const prefix = fc.constantFrom('', '', '', 'www.', '.', '[::1]', '127.0.0.1:', 'user@', ' ', '*.');
  const built = fc.tuple(prefix, label, suffix).map(([p, l, s]) => p + l + s);
  const garbage = fc.string({ unit: 'binary', maxLength: 300 }).map((s) => (allowLineBreaks ? s : s.replace(/[\r\n]/g, '')));
  return fc.oneof({ weight: 4, arbitrary: built }, { weight: 1, arbitrary: garbage });
}

/** The table the pure properties use, with one backend port per route. */
function tableWithRoutes(): RouteTable {
  const table = new RouteTable();
  ROUTES.forEach((r, i) => {
    table.set({ deployment: r.deployment, service: r.service, field: 'ip' }, '127.0.0.1');
    table.set({ deployment: r.deployment, service: r.service, field: 'port' }, 10_000 + i);
  });
  return table;
}

describe('fuzzing: Host headers and registry entries (pure properties)', () => {
  after(() => figures.finish());

  test('any Host header: matching and resolving never throw, and a route is only ever one the table holds and the host names', (t: TestContext) => {
    const match = createHostMatcher([DOMAIN, 'example.test']);
    const table = tableWithRoutes();
    const known = new Map(ROUTES.map((r, i) => [routeName(r), 10_000 + i]));
    const kinds: string[] = [];
    fc.assert(
      fc.property(hostArbitrary(true), (host) => {
        const m = match(host);
        if (m.kind !== 'label') return void kinds.push(m.kind);
        const res = table.resolve(m.label, FALLBACK);
        kinds.push(res.kind);
        if (res.kind !== 'route') return;
        assert.equal(known.get(`${res.deployment.name}/${res.service}`), res.target.port, 'a route the table holds, with its own target');
        assert.ok(m.label === `${res.deployment.name}-${res.service}` || (m.label === res.deployment.name && res.service === FALLBACK), `label ${m.label} names ${res.deployment.name}/${res.service}`);
        assert.ok(host.toLowerCase().includes(m.label));
      }),
      { numRuns: RUNS * 5 },
    );
    figures.record(t, 'Host headers against createHostMatcher + RouteTable.resolve', 'runs / outcomes', `${RUNS * 5} / ${describeTally(tally(kinds))}`);
  });

  test('any registry key and value: decodeEntry never throws, and what it accepts is a DNS label with a sane value', (t: TestContext) => {
    let accepted = 0;
    fc.assert(
      fc.property(keyArbitrary, valueArbitrary, (key, value) => {
        const d = decodeEntry(PREFIX, key, value);
        if (!d.ok) return;
        accepted++;
        assert.match(d.ref.deployment, /^[a-z0-9-]{1,63}$/);
        if (d.ref.service !== undefined) assert.match(d.ref.service, /^[a-z0-9-]{1,63}$/);
        if (d.ref.field === 'port') assert.ok(mayRoute('a', 'b', Buffer.from('x'), value));
      }),
      { numRuns: RUNS * 5 },
    );
    figures.record(t, 'registry keys/values against decodeEntry', 'runs / accepted', `${RUNS * 5} / ${accepted}`);
  });
});

/** Sends one raw request with this Host (bytes as latin1) and returns what came back. */
function rawGet(port: number, host: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => socket.destroy(), 3000);
    socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(data);
    });
    socket.write(Buffer.concat([Buffer.from('GET /echo HTTP/1.1\r\nHost: '), Buffer.from(host, 'utf8'), Buffer.from('\r\nConnection: close\r\n\r\n')]));
  });
}

describe('fuzzing the live proxy: hostile Host headers over sockets, hostile registry entries through etcd', () => {
  // Each route's backend is named after it (`main/web`), so an answer says which route it came from.
  const f = useFixture({ backends: ['outsider', ...ROUTES.map(routeName)], settings: { LOG_LEVEL: 'warn', BACKEND_ALLOW: '127.0.0.0/8,::1/128' } });
  let etcd: EtcdServer;
  let proxy: TestProxy;
  let outsider: Backend;
  const backends = new Map<string, Backend>();

  before(() => {
    ({ etcd, proxy } = f);
    outsider = f.backend('outsider');
    for (const r of ROUTES) backends.set(routeName(r), f.backend(routeName(r)));
    assert.equal(tableOf(proxy).length, ROUTES.length);
  });
  after(() => figures.finish());

  test('hostile Host headers: the proxy never crashes and never answers from a backend the host does not name', { timeout: 60_000 }, async (t: TestContext) => {
    const statuses: string[] = [];
    await fc.assert(
      fc.asyncProperty(hostArbitrary(false), async (host) => {
        const answer = await rawGet(proxy.port, host);
        statuses.push(answer.split('\r\n')[0]!.split(' ')[1] ?? 'none');
        assert.ok(answer.startsWith('HTTP/1.1 '), `no answer for ${JSON.stringify(host)}`);
        for (const [, name] of answer.matchAll(/"backend":"([^"]*)"/g)) {
          const route = ROUTES.find((r) => routeName(r) === name);
          assert.ok(route, `answered by ${name}`);
          // Leading and trailing spaces and tabs are not part of a header value (RFC 9110 §5.5).
          const lower = host.replace(/^[ \t]+|[ \t]+$/g, '').toLowerCase();
          const named = lower.startsWith(`${route.deployment}-${route.service}.${DOMAIN}`) || (route.service === FALLBACK && lower.startsWith(`${route.deployment}.${DOMAIN}`));
          assert.ok(named, `${JSON.stringify(host)} was answered by ${name}`);
        }
      }),
      { numRuns: RUNS / 2 },
    );
    figures.record(t, 'hostile Host headers over real sockets', 'requests / statuses', `${RUNS / 2} / ${describeTally(tally(statuses))}`);
    assert.equal(outsider.seen.length, 0, 'the backend outside the table never got a request');
    assert.equal((await rawGet(proxy.port, `main.${DOMAIN}`)).includes('"backend":"main/web"'), true, 'still serving');
  });

  test('hostile registry entries written to etcd: the proxy keeps serving, invalid entries never route, and its table equals a fresh snapshot', { timeout: 60_000 }, async (t: TestContext) => {
    const writes = fc.sample(fc.tuple(fc.boolean(), entryArbitrary), { numRuns: RUNS / 4 });
    let puts = 0;
    let deletes = 0;
    for (const [isDelete, [key, value]] of writes) {
      if (isDelete) {
        await etcd.client.delete().key(key);
        deletes++;
      } else {
        // The host properties above cover names; here valid ip values stay on loopback, so no probe leaves the machine.
        const safe = key.endsWith('/ip') && decodeEntry(PREFIX, key, value).ok && !LOOPBACK.includes(value.toString()) ? Buffer.from('127.0.0.1') : value;
        await etcd.client.put(key).value(safe);
        puts++;
      }
    }
    await waitFor('the proxy at etcd revision', async () => {
      const res = await etcd.client.kv.range({ key: Buffer.from('\0'), limit: 1 });
      return proxy.registry.revision >= Number(res.header.revision) ? true : undefined;
    }, 5000);
    const kvs = await etcd.client.getAll().prefix(PREFIX).buffers();
    for (const r of proxy.registry.table.routes()) {
      const ip = kvs[serviceKey(PREFIX, r.deployment, r.service, 'ip')];
      const port = kvs[serviceKey(PREFIX, r.deployment, r.service, 'port')];
      assert.ok(mayRoute(r.deployment, r.service, ip, port), `routed ${r.deployment}/${r.service} from ip=${String(ip)} port=${String(port)}`);
    }
    // A second proxy loads the same keys as a snapshot: the incrementally built table must be the same.
    const fresh = await startProxy(etcd.endpoint, { LOG_LEVEL: 'silent', BACKEND_ALLOW: '127.0.0.0/8,::1/128' });
    try {
      await waitFor('fresh proxy ready', () => (fresh.registry.ready ? true : undefined), 10_000);
      assert.deepEqual(tableOf(proxy), tableOf(fresh));
    } finally {
      await fresh.close();
    }
    const ready = await fetch(`http://127.0.0.1:${proxy.adminPort}/readyz`);
    assert.equal(ready.status, 200);
    // Routes the random writes did not touch still reach their own backend.
    // (feature-login-api names feature-login/api while that exists: the longest deployment wins.)
    const table = tableOf(proxy);
    const shadowed = (r: (typeof ROUTES)[number]): boolean =>
      table.some((line) => {
        const [d, rest] = line.split('/');
        return d!.length > r.deployment.length && `${d}-${rest!.split('=')[0]}` === `${r.deployment}-${r.service}`;
      });
    const untouched = ROUTES.filter((r) => table.includes(`${routeName(r)}=127.0.0.1:${backends.get(routeName(r))!.port}`) && !shadowed(r));
    assert.ok(untouched.length > 0);
    for (const r of untouched) assert.ok((await rawGet(proxy.port, `${r.deployment}-${r.service}.${DOMAIN}`)).includes(`"backend":"${routeName(r)}"`), routeName(r));
    const ignored = proxy.logs.filter((l) => l.event === 'registry-entry-ignored').length;
    figures.record(t, 'hostile registry entries through etcd', 'puts / deletes / warned as ignored', `${puts} / ${deletes} / ${ignored}`);
    figures.record(t, 'hostile registry entries through etcd', 'routes afterwards (all valid, equal to a fresh snapshot) / services with both keys in etcd', `${tableOf(proxy).length} / ${(await etcdRoutes(etcd.client)).length}`);
  });
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { deploymentKey, serviceKey } from '../../../src/registry/keys.ts';
import { latin1Page } from '../../../src/registry/range-response.ts';
import { Registry } from '../../../src/registry/registry.ts';
import type { RegistryEvent } from '../../../src/registry/registry.ts';
import type { RouteChange } from '../../../src/routing/route-table.ts';
import { memoryLogger } from '../../helpers/memory-logger.ts';
import { entryArbitrary, mayRoute } from '../../helpers/registry-arbitraries.ts';
import { PREFIX } from '../../helpers/registry.ts';

const RUNS = Number(process.env.REGISTRY_PROPERTY_RUNS ?? 1000);

const put = (key: string, value: string, revision: number): RegistryEvent => ({ type: 'put', key: Buffer.from(key), value: Buffer.from(value), revision });
const del = (key: string, revision: number): RegistryEvent => ({ type: 'delete', key: Buffer.from(key), value: Buffer.alloc(0), revision });
const ip = (d: string, s: string) => serviceKey(PREFIX, d, s, 'ip');
const port = (d: string, s: string) => serviceKey(PREFIX, d, s, 'port');
const routesOf = (r: Registry): string[] => [...r.table.routes()].map((x) => `${x.deployment}/${x.service}=${x.target.address}`).sort();

/** A registry that has loaded an empty first snapshot at revision 1, with what it logged and emitted. */
function loadedRegistry() {
  const memory = memoryLogger();
  const registry = new Registry(PREFIX, memory.log);
  registry.replace(registry.newTable(), 1);
  const changes: RouteChange[] = [];
  const deployments: string[] = [];
  registry.on('route', (c) => changes.push(c));
  registry.on('deployment', (d) => deployments.push(d));
  return { registry, memory, changes, deployments };
}

describe('Registry', () => {
  test('any sequence of puts and deletes: the table routes exactly the services whose current ip and port are valid, as a snapshot of the same keys would', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), entryArbitrary), { minLength: 1, maxLength: 60 }), (ops) => {
        const registry = new Registry(PREFIX, memoryLogger('silent').log);
        registry.replace(registry.newTable(), 1);
        const kv = new Map<string, Buffer>();
        let revision = 1;
        for (const [isDelete, [key, value]] of ops) {
          registry.apply([{ type: isDelete ? 'delete' : 'put', key: Buffer.from(key), value: isDelete ? Buffer.alloc(0) : value, revision: ++revision }]);
          if (isDelete) kv.delete(key);
          else kv.set(key, value);
        }
        const live = [...registry.table.routes()].map((r) => `${r.deployment}/${r.service}=${r.target.port}`).sort();
        const snapshot = registry.newTable();
        registry.load(snapshot, latin1Page([...kv].map(([key, value]) => ({ key: Buffer.from(key), value }))));
        assert.deepEqual(live, [...snapshot.routes()].map((r) => `${r.deployment}/${r.service}=${r.target.port}`).sort(), 'incremental equals snapshot');
        for (const r of registry.table.routes()) {
          const ipValue = kv.get(ip(r.deployment, r.service));
          const portValue = kv.get(port(r.deployment, r.service));
          assert.ok(mayRoute(r.deployment, r.service, ipValue, portValue), `routed ${r.deployment}/${r.service} from ip=${String(ipValue)} port=${String(portValue)}`);
          assert.equal(r.target.port, Number(portValue!.toString()));
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('a service routes once both keys are in, emits the change and logs it with deployment and service', () => {
    const { registry, memory, changes, deployments } = loadedRegistry();
    registry.apply([put(ip('main', 'web'), '127.0.0.1', 2)]);
    assert.deepEqual(routesOf(registry), []);
    registry.apply([put(port('main', 'web'), '8080', 3)]);
    assert.deepEqual(routesOf(registry), ['main/web=127.0.0.1:8080']);
    assert.deepEqual(changes.map((c) => `${c.type} ${c.deployment}/${c.service}`), ['added main/web']);
    assert.deepEqual(deployments, ['main', 'main']);
    assert.deepEqual(memory.events('route-added').map((l) => [l.deployment, l.service, l.target]), [['main', 'web', '127.0.0.1:8080']]);
    registry.apply([put(port('main', 'web'), '9090', 4)]);
    registry.apply([del(ip('main', 'web'), 5)]);
    assert.deepEqual(changes.map((c) => c.type), ['added', 'changed', 'removed']);
    assert.deepEqual(memory.events('route-changed').map((l) => [l.target, l.previous]), [['127.0.0.1:9090', '127.0.0.1:8080']]);
    assert.equal(memory.events('route-removed').length, 1);
    assert.equal(registry.revision, 5);
  });

  test('regression: keys written in one transaction (same revision) are all applied, and older events are skipped', () => {
    const { registry } = loadedRegistry();
    registry.apply([put(ip('txn', 'web'), '127.0.0.1', 7), put(port('txn', 'web'), '80', 7)]);
    assert.deepEqual(routesOf(registry), ['txn/web=127.0.0.1:80']);
    // A replayed event the table already reflects changes nothing.
    registry.apply([del(port('txn', 'web'), 7), put(port('txn', 'web'), '81', 6)]);
    assert.deepEqual(routesOf(registry), ['txn/web=127.0.0.1:80']);
    assert.equal(registry.revision, 7);
  });

  test('an invalid value replacing a valid one removes the route and warns with the key', () => {
    const { registry, memory, changes } = loadedRegistry();
    registry.apply([put(ip('main', 'web'), '127.0.0.1', 2), put(port('main', 'web'), '80', 2)]);
    registry.apply([put(port('main', 'web'), 'http', 3)]);
    assert.deepEqual(routesOf(registry), []);
    assert.deepEqual(changes.map((c) => c.type), ['added', 'removed']);
    const warnings = memory.events('registry-entry-ignored');
    assert.deepEqual(warnings.map((l) => l.key), [port('main', 'web')]);
    assert.equal(warnings[0]!.level, 40);
    assert.equal(typeof warnings[0]!.reason, 'string');
  });

  test('metadata changes announce the deployment without a route change', () => {
    const { registry, changes, deployments } = loadedRegistry();
    registry.apply([put(deploymentKey(PREFIX, 'main', 'branch'), 'feature/x', 2)]);
    assert.deepEqual(deployments, ['main']);
    assert.deepEqual(changes, []);
    assert.equal(registry.table.deployments.get('main')?.branch, 'feature/x');
  });

  test('a snapshot replaces the table in one step: the first logs one summary line and emits only resync, a later one logs and emits what changed', () => {
    const memory = memoryLogger();
    const registry = new Registry(PREFIX, memory.log);
    assert.equal(registry.ready, false);
    const firstEvents: string[] = [];
    registry.on('resync', () => firstEvents.push('resync'));
    registry.on('deployment', (d) => firstEvents.push(`deployment ${d}`));
    registry.on('route', (c) => firstEvents.push(`${c.type} ${c.deployment}/${c.service}`));
    const first = registry.newTable();
    registry.load(first, [ip('a', 'web'), '127.0.0.1', port('a', 'web'), '80']);
    assert.deepEqual(routesOf(registry), [], 'a loaded table is not live until replace');
    registry.replace(first, 10);
    assert.equal(registry.ready, true);
    assert.equal(registry.revision, 10);
    assert.deepEqual(memory.events('registry-snapshot-loaded').map((l) => [l.routes, l.changed]), [[1, 1]]);
    assert.equal(memory.events('route-added').length, 0, 'the first snapshot is one summary line');
    assert.deepEqual(firstEvents, ['resync'], 'listeners read a first table whole, on resync');
    registry.removeAllListeners();

    const events: string[] = [];
    registry.on('resync', () => events.push('resync'));
    registry.on('deployment', (d) => events.push(`deployment ${d}`));
    registry.on('route', (c) => events.push(`${c.type} ${c.deployment}/${c.service}`));
    const second = registry.newTable();
    registry.load(second, [ip('b', 'web'), '127.0.0.1', port('b', 'web'), '81']);
    registry.replace(second, 20);
    assert.deepEqual(routesOf(registry), ['b/web=127.0.0.1:81']);
    assert.deepEqual(events.sort(), ['added b/web', 'deployment a', 'deployment b', 'removed a/web', 'resync']);
    assert.deepEqual(memory.events('route-added').map((l) => l.deployment), ['b']);
    assert.deepEqual(memory.events('route-removed').map((l) => l.deployment), ['a']);
  });

  test('connection changes are emitted once per change', () => {
    const { registry } = loadedRegistry();
    const seen: boolean[] = [];
    registry.on('connection', (c) => seen.push(c));
    registry.setConnected(true);
    registry.setConnected(true);
    registry.setConnected(false);
    assert.deepEqual(seen, [true, false]);
    assert.equal(registry.connected, false);
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { Registry } from '../../../src/registry/registry.ts';
import type { RegistryView } from '../../../src/registry/registry-view.ts';

const P = '/deployment/';
const put = (key: string, value: string, revision: number) => ({ type: 'put' as const, key: Buffer.from(P + key), value: Buffer.from(value), revision });

test('a reader sees the live table and its events through the view, and cannot write', () => {
  const registry = new Registry(P, pino({ enabled: false }));
  const view: RegistryView = registry;
  const seen: string[] = [];
  view.on('deployment', (name) => seen.push(name));
  registry.replace(registry.newTable(), 1);
  registry.apply([put('main/service/web/ip', '10.0.0.1', 2), put('main/service/web/port', '8080', 2)]);

  assert.deepEqual(seen, ['main', 'main']);
  assert.equal(view.revision, 2);
  assert.equal(view.ready, true);
  assert.equal(view.table.routeCount, 1);
  const resolved = view.resolve('main-web', 'web');
  assert.equal(resolved.kind === 'route' && resolved.target.address, '10.0.0.1:8080');

  // Compile-time checks (npm run typecheck): each line stops compiling if the view exposes the writer.
  const writeAttempts = () => {
    // @ts-expect-error readers cannot apply changes
    view.apply([]);
    // @ts-expect-error readers cannot replace the table
    view.replace(registry.newTable(), 3);
    // @ts-expect-error readers cannot flip the connection state
    view.setConnected(true);
    // @ts-expect-error readers cannot emit registry events
    view.emit('resync');
    // @ts-expect-error readers cannot edit the table
    view.table.set({ deployment: 'main', service: 'web', field: 'port' }, 1);
    // @ts-expect-error chaining a listener does not hand back the writer
    view.on('resync', () => {}).emit('resync');
  };
  assert.equal(typeof writeAttempts, 'function');
});

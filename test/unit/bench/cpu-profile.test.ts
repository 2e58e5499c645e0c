import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { summarizeProfiles } from '../../../bench/lib/cpu-profile.ts';
import type { CpuProfile } from '../../../bench/lib/cpu-profile.ts';

const CHECKOUT = '/checkout/';

/** A profile whose samples land in the given node ids, `stepUs` apart, starting at `startTime`. */
function profile(startTime: number, stepUs: number, samples: number[]): CpuProfile {
  return {
    startTime,
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 } },
      { id: 2, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
      { id: 3, callFrame: { functionName: 'forward', url: 'file:///checkout/dist/proxy/forward.js', lineNumber: 9 } },
      { id: 4, callFrame: { functionName: 'parse', url: 'file:///elsewhere/node_modules/undici/lib/parse.js', lineNumber: 0 } },
      { id: 5, callFrame: { functionName: '', url: 'node:internal/streams/readable', lineNumber: 99 } },
      { id: 6, callFrame: { functionName: '(garbage collector)', url: '', lineNumber: -1 } },
    ],
    samples,
    timeDeltas: samples.map(() => stepUs),
  };
}

describe('summarizeProfiles', () => {
  test('self time per function summed over processes, shares of the busy time with (idle) left out, sorted', () => {
    const s = summarizeProfiles([profile(0, 1000, [3, 3, 2, 4, 6, 3]), profile(0, 1000, [4, 2, 2, 5, 3])], CHECKOUT, { fromUs: 0, toUs: 1e9 });
    assert.equal(s.processes, 2);
    // The last sample of each profile stands for no time.
    assert.equal(s.idleMs, 3);
    assert.equal(s.busyMs, 6);
    assert.deepEqual(
      s.top.map((e) => [e.functionName, e.location, e.selfMs, e.share]),
      [
        ['forward', 'dist/proxy/forward.js:10', 2, 2 / 6],
        ['parse', 'node_modules/undici/lib/parse.js:1', 2, 2 / 6],
        ['(garbage collector)', '', 1, 1 / 6],
        ['(anonymous)', 'node:internal/streams/readable:100', 1, 1 / 6],
      ],
    );
  });

  test('only samples inside the window count: start-up and shutdown are left out', () => {
    // Samples at 1100, 1200, … 1600 µs; the window keeps those that run from 1300 to 1500.
    const s = summarizeProfiles([profile(1000, 100, [4, 4, 3, 3, 6, 4, 4])], CHECKOUT, { fromUs: 1300, toUs: 1500 });
    assert.deepEqual(s.top.map((e) => [e.functionName, e.selfMs]), [['forward', 0.2]]);
  });

  test('a native function is split by its nearest caller in the checkout or a package, skipping Node internals', () => {
    const nodes: CpuProfile['nodes'] = [
      { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 }, children: [2, 3] },
      { id: 2, callFrame: { functionName: 'writeHead', url: 'file:///checkout/dist/exchange.js', lineNumber: 4 }, children: [4] },
      { id: 3, callFrame: { functionName: 'write', url: 'file:///x/node_modules/sonic-boom/index.js', lineNumber: 0 }, children: [6] },
      { id: 4, callFrame: { functionName: 'writeGeneric', url: 'node:internal/stream_base_commons', lineNumber: 0 }, children: [5] },
      { id: 5, callFrame: { functionName: 'writeLatin1String', url: '', lineNumber: -1 } },
      { id: 6, callFrame: { functionName: 'writeLatin1String', url: '', lineNumber: -1 } },
    ];
    const s = summarizeProfiles([{ startTime: 0, nodes, samples: [5, 5, 6, 2, 2], timeDeltas: [1000, 1000, 1000, 1000, 1000] }], CHECKOUT, { fromUs: 0, toUs: 1e9 });
    assert.deepEqual(
      s.top.map((e) => [e.functionName, e.calledFrom, e.selfMs]),
      [
        ['writeLatin1String', 'writeHead dist/exchange.js:5', 2],
        ['writeLatin1String', 'write node_modules/sonic-boom/index.js:1', 1],
        ['writeHead', undefined, 1],
      ],
    );
  });

  test('the top N only', () => {
    const s = summarizeProfiles([profile(0, 10, [3, 4, 5, 6, 3])], CHECKOUT, { fromUs: 0, toUs: 1e9 }, 2);
    assert.equal(s.top.length, 2);
  });
});

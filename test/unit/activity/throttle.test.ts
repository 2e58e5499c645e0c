import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Throttle } from '../../../src/activity/throttle.ts';

describe('Throttle', () => {
  test('runs once soon after the first poke, then once at the end of the period for the pokes in it', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let now = 0;
    let runs = 0;
    const throttle = new Throttle(1000, () => runs++, () => now);
    throttle.poke();
    throttle.poke();
    t.mock.timers.tick(0);
    assert.equal(runs, 1, 'leading edge: at once, pokes in one tick share the run');
    now = 100;
    throttle.poke();
    throttle.poke();
    t.mock.timers.tick(899);
    assert.equal(runs, 1, 'not before the period has passed');
    now = 1000;
    t.mock.timers.tick(1);
    assert.equal(runs, 2, 'one run for both pokes in the period');
    now = 5000;
    throttle.poke();
    t.mock.timers.tick(0);
    assert.equal(runs, 3, 'after a quiet period, at once again');
  });

  test('flush runs a pending round now; stop drops it', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let runs = 0;
    const throttle = new Throttle(1000, () => runs++, () => 0);
    throttle.flush();
    assert.equal(runs, 0, 'nothing pending');
    throttle.poke();
    throttle.flush();
    assert.equal(runs, 1);
    throttle.poke();
    throttle.stop();
    t.mock.timers.tick(5000);
    assert.equal(runs, 1);
  });
});

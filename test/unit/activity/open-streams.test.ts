import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { OpenStreams } from '../../../src/activity/open-streams.ts';
import { waitFor } from '../../helpers/wait.ts';

test('an open stream touches its deployment while open and once when it ends; an ended one no more', async () => {
  const touches: string[] = [];
  const streams = new OpenStreams((d, s) => touches.push(`${d}/${s}`), 10);
  try {
    const end = streams.open('feat', 'web');
    const endOther = streams.open('feat', 'api');
    assert.equal(streams.size, 2);
    await waitFor('touches while open', () => (touches.filter((t) => t === 'feat/web').length >= 2 ? true : undefined));
    assert.ok(touches.includes('feat/api'));
    endOther();
    const atEnd = touches.filter((t) => t === 'feat/api').length;
    endOther(); // twice is once
    assert.equal(streams.size, 1);
    await sleep(50);
    assert.equal(touches.filter((t) => t === 'feat/api').length, atEnd, 'not touched after it ended');
    touches.length = 0;
    end();
    assert.deepEqual(touches, ['feat/web'], 'the end counts as activity');
  } finally {
    streams.stop();
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { SERVE_SETTINGS } from '../../src/config/settings.ts';

test('the README documents every setting with its default', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  for (const s of SERVE_SETTINGS) {
    const row = readme.split('\n').find((line) => line.startsWith(`| \`${s.env}\` |`));
    assert.ok(row, `README has a row for ${s.env}`);
    // A `|` inside a table cell is written `\|`, also in a code span.
    if (s.default !== '') assert.ok(row.replaceAll('\\|', '|').includes(`\`${s.default}\``), `README row for ${s.env} shows its default ${s.default}`);
  }
});

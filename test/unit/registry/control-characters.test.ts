import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasControlCharacter } from '../../../src/registry/control-characters.ts';

test('hasControlCharacter finds C0 controls and DEL, nothing else', () => {
  for (const text of ['a\u0000b', 'tab\there', 'new\nline', '\u001b[31mred', 'del\u007f']) assert.equal(hasControlCharacter(text), true, JSON.stringify(text));
  for (const text of ['', 'feature/login', 'Feature/Login_Page', 'café-ünïcode', 'emoji-🚀', '\u0080 is C1, not refused']) assert.equal(hasControlCharacter(text), false, JSON.stringify(text));
});

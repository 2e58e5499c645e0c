import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHostMatcher, normaliseHost } from '../../../src/routing/host.ts';

describe('normaliseHost', () => {
  test('lowercases and drops port and trailing dot', () => {
    assert.equal(normaliseHost('Feature-X.Dev.Localhost.:8080'), 'feature-x.dev.localhost');
    assert.equal(normaliseHost('main.dev.localhost'), 'main.dev.localhost');
    assert.equal(normaliseHost('[::1]:8080'), '[::1]');
    assert.equal(normaliseHost(''), '');
  });
});

describe('createHostMatcher', () => {
  const match = createHostMatcher(['example.com', 'dev.example.com']);

  test('bare domain is the dashboard', () => {
    assert.deepEqual(match('dev.example.com:80'), { kind: 'dashboard', domain: 'dev.example.com' });
  });

  test('one label below a domain is a label, the most specific domain wins', () => {
    assert.deepEqual(match('feature-login-api.dev.example.com'), { kind: 'label', label: 'feature-login-api', domain: 'dev.example.com' });
    assert.deepEqual(match('x.example.com'), { kind: 'label', label: 'x', domain: 'example.com' });
  });

  test('hosts outside every domain, deeper names and look-alikes are foreign', () => {
    assert.equal(match('evil.com').kind, 'foreign');
    assert.equal(match('a.b.dev.example.com').kind, 'foreign');
    assert.equal(match('notexample.com').kind, 'foreign');
    assert.equal(match(undefined).kind, 'foreign');
    assert.equal(match('[::1]:8080').kind, 'foreign');
  });
});

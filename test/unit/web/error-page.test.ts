import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { renderErrorHtml } from '../../../src/web/error-page.ts';

describe('error page HTML', () => {
  test('every registry value is escaped', () => {
    const html = renderErrorHtml({
      status: 502,
      error: 'upstream-unavailable',
      title: 'Bad Gateway',
      message: 'Service "<b>" failed',
      deployment: 'x',
      branch: 'feat/<script>alert(1)</script>',
      target: '10.0.0.1:80',
      registered: '2026-01-01T00:00:00Z',
      links: [{ label: '<i>', href: 'http://x.dev.localhost/"onmouseover="x', detail: '<u>' }],
      dashboard: 'http://dev.localhost/',
    });
    assert.doesNotMatch(html, /<script>|<b>|<i>|<u>|"onmouseover/);
    assert.match(html, /feat\/&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.match(html, /Reporting a problem\?/, '5xx pages ask for the facts in bug reports');
  });

  test('sections appear only when they have links', () => {
    const html = renderErrorHtml({ status: 404, error: 'unknown-deployment', title: 'Deployment not found', message: 'm', suggestions: [], links: [] });
    assert.doesNotMatch(html, /Did you mean|See also|All deployments/);
    const withSuggestions = renderErrorHtml({ status: 404, error: 'unknown-deployment', title: 'T', message: 'm', suggestions: [{ label: 'main', href: 'http://main.dev.localhost' }] });
    assert.match(withSuggestions, /<h2>Did you mean<\/h2>/);
  });
});

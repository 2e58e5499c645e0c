import { createHash } from 'node:crypto';
import escapeHtml from 'escape-html';

/** Where the waiting page follows a wake (GET: server-sent events) and retries one (POST), on the deployment's own host. */
export const WAKE_PATH = '/.well-known/branch-proxy/wake';

export interface WaitingPageFacts {
  readonly deployment: string;
  readonly host: string;
  /** When the current state began (ISO-8601). */
  readonly since: string;
  readonly lastWakeMs?: number | undefined;
  /** Set when the last wake failed: the page says so and offers a retry instead of waiting. */
  readonly error?: string | undefined;
}

/*
 * The page's script: follows the state over server-sent events, switches to the
 * application by reloading once the state says awake, and shows a failure with
 * the retry button. Inline, allowed by its hash, so the page needs no asset route.
 */
const SCRIPT = `(() => {
  const status = document.getElementById('status');
  const failed = document.getElementById('failed');
  const reason = document.getElementById('reason');
  const since = document.getElementById('since');
  const start = Date.parse(since.dataset.since);
  const tick = () => { since.textContent = Math.max(0, Math.round((Date.now() - start) / 1000)) + ' s ago'; };
  tick();
  setInterval(tick, 1000);
  const path = ${JSON.stringify(WAKE_PATH)};
  // A failure from before the last retry is old news: the stream may still say so until the retry is claimed.
  let retriedAt = 0;
  let events;
  const follow = () => {
    events?.close();
    events = new EventSource(path);
    events.onmessage = (e) => {
      const s = JSON.parse(e.data);
      if (s.state === 'awake') { events.close(); status.textContent = 'Awake. Opening it…'; location.reload(); return; }
      if (s.error && Date.parse(s.since) >= retriedAt) { reason.textContent = s.error; failed.hidden = false; status.textContent = 'The wake failed.'; return; }
      if (s.error) return;
      failed.hidden = true;
      status.textContent = s.state === 'sleeping' ? 'Still falling asleep; it wakes right after.' : 'Starting its services…';
    };
    events.onerror = () => { events.close(); setTimeout(() => location.reload(), 2000); };
  };
  document.getElementById('retry').addEventListener('click', (e) => {
    e.preventDefault();
    retriedAt = Date.now();
    failed.hidden = true;
    status.textContent = 'Starting its services…';
    fetch(path, { method: 'POST', headers: { accept: 'application/json' } }).finally(follow);
  });
  follow();
})();`;

const SCRIPT_HASH = createHash('sha256').update(SCRIPT).digest('base64');

/** The page loads nothing from elsewhere; it talks only to WAKE_PATH on its own host. */
export const WAITING_PAGE_CSP = `default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${SCRIPT_HASH}'; connect-src 'self'; base-uri 'none'; form-action 'self'`;

/** The 503 page a browser sees while a deployment wakes (issue #13). Without script, its form still retries. */
export function renderWaitingPage(f: WaitingPageFacts): string {
  const name = escapeHtml(f.deployment);
  const last = f.lastWakeMs === undefined ? 'This is its first wake.' : `Its last wake took ${Math.max(1, Math.round(f.lastWakeMs / 1000))} s.`;
  const failed = f.error !== undefined;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>Waking up ${name}</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:12vh auto;padding:0 1rem;color:#222;background:#fafafa}
h1{font-size:1.5rem;margin:0 0 .5rem}
.muted{color:#666}
#failed{border-left:4px solid #c33;padding:.5rem 1rem;background:#fff}
button{font:inherit;padding:.4rem 1rem;cursor:pointer}
@media (prefers-color-scheme:dark){body{background:#181818;color:#eee}.muted{color:#aaa}#failed{background:#222}}
</style></head>
<body>
<h1>Waking up ${name}</h1>
<p>This deployment was asleep to save resources and is starting again. This page opens it by itself once it is ready.</p>
<p id="status">${failed ? 'The wake failed.' : 'Starting its services…'}</p>
<p class="muted">${failed ? 'Failed' : 'Waking since'} <time id="since" data-since="${escapeHtml(f.since)}" datetime="${escapeHtml(f.since)}">${escapeHtml(f.since)}</time>. ${last}</p>
<div id="failed"${failed ? '' : ' hidden'}>
<p>It did not come back: <span id="reason">${escapeHtml(f.error ?? '')}</span></p>
<form method="post" action="${WAKE_PATH}"><button id="retry" type="submit">Retry</button></form>
</div>
<script>${SCRIPT}</script>
</body></html>`;
}

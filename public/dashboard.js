// The dashboard: renders the deployments that the server streams from
// /api/events (server-sent events). Plain browser JavaScript, no build step and
// nothing loaded from elsewhere. Every value from the registry goes into the
// page as text, never as HTML.

const $ = (id) => document.getElementById(id);
const list = $('deployments');
const filterInput = $('filter');

/** name -> DeploymentView, as documented in docs/dashboard.md */
const deployments = new Map();
/** name -> { json, el }: a card is rebuilt only when its data changed. */
const cards = new Map();
let firstSnapshot = true;
let registryConnected = true;

const BRANCH_ICON = 'M9.5 3.25a2.25 2.25 0 1 1 3 2.12V6A2.5 2.5 0 0 1 10 8.5H6a1 1 0 0 0-1 1v1.13a2.25 2.25 0 1 1-1.5 0V5.37a2.25 2.25 0 1 1 1.5 0v1.84c.31-.14.65-.21 1-.21h4a1 1 0 0 0 1-1v-.63A2.25 2.25 0 0 1 9.5 3.25';

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else node.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function svgIcon(path) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 16 16');
  svg.setAttribute('aria-hidden', 'true');
  const p = document.createElementNS(ns, 'path');
  p.setAttribute('d', path);
  svg.append(p);
  return svg;
}

// ---- time -------------------------------------------------------------

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const STEPS = [
  ['year', 365 * 86400], ['month', 30 * 86400], ['week', 7 * 86400],
  ['day', 86400], ['hour', 3600], ['minute', 60],
];

function ago(iso) {
  const seconds = (Date.parse(iso) - Date.now()) / 1000;
  if (Math.abs(seconds) < 45) return 'just now';
  for (const [unit, size] of STEPS) {
    if (Math.abs(seconds) >= size * 0.9) return relative.format(Math.round(seconds / size), unit);
  }
  return relative.format(Math.round(seconds / 60), 'minute');
}

/** How long since then, short: "40 s", "12 min", "3 h", "2 d". */
function lasted(iso) {
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 1000));
  if (s >= 86400) return `${Math.floor(s / 86400)} d`;
  if (s >= 3600) return `${Math.floor(s / 3600)} h`;
  if (s >= 60) return `${Math.floor(s / 60)} min`;
  return `${s} s`;
}

/** A <time> that keeps its relative wording ("3 hours ago", or with `short` "3 h") up to date (see the timer below). */
function timeEl(iso, prefix = '', short = false) {
  const t = el('time', { datetime: iso, title: absolute.format(new Date(iso)), 'data-prefix': prefix, 'data-short': short ? '' : undefined });
  t.textContent = prefix + (short ? lasted(iso) : ago(iso));
  return t;
}

function refreshTimes() {
  // Only the relative ones: an absolute <time> (the created date) has no prefix and keeps its text.
  for (const t of document.querySelectorAll('time[data-prefix]')) {
    const iso = t.getAttribute('datetime');
    t.textContent = t.dataset.prefix + (t.dataset.short === undefined ? ago(iso) : lasted(iso));
  }
}

// ---- rendering -----------------------------------------------------------

function hostOf(url) {
  try {
    const u = new URL(url);
    return u.host;
  } catch {
    return url;
  }
}

const SLEEP_DETAIL = { sleeping: 'falling asleep', asleep: 'asleep · opening it wakes the deployment', waking: 'waking up…' };

function serviceItem(d, s) {
  // While the deployment is not awake its services have no backend, and their links wake it.
  const sleeping = d.state !== 'awake' && !s.routable;
  const state = sleeping
    ? SLEEP_DETAIL[d.state]
    : !s.routable ? 'incomplete registration' : s.reachable === true ? 'accepting connections' : s.reachable === false ? 'not accepting connections' : 'checking…';
  const url = s.default ? d.url : s.url;
  // The probe's reason (refused, no such host, denied by the backend policy) says more than the state.
  const detail = s.routable ? `${s.target} · ${state}${s.unreachableReason ? ` (${s.unreachableReason})` : ''}` : state;
  return el(
    'li',
    { class: 'service', 'data-service': s.name, 'data-reachable': sleeping ? 'sleeping' : s.routable ? String(s.reachable) : 'false' },
    el('span', { class: 'state', role: 'img', 'aria-label': state, title: state }),
    el('span', { class: 'svc' }, el('span', { class: 'svc-name', text: s.name }), s.default ? el('span', { class: 'tag', text: 'default' }) : null),
    s.routable || sleeping ? el('a', { class: 'url', href: url, text: hostOf(url) }) : el('span', { class: 'url detail', text: hostOf(url) }),
    el('span', { class: 'detail', text: detail }),
  );
}

/** "Asleep since 3 h" / "Waking up…" / "Falling asleep…": on the card, next to its name. */
function sleepBadge(d) {
  if (d.state === 'awake') return null;
  const since = d.stateSince ?? undefined;
  const badge = d.state === 'asleep'
    ? el('span', { class: 'sleep-badge', 'data-state': d.state }, since ? timeEl(since, 'asleep since ', true) : 'asleep')
    : el('span', { class: 'sleep-badge', 'data-state': d.state, text: d.state === 'waking' ? 'waking up…' : 'falling asleep…' });
  if (since && d.state !== 'asleep') badge.title = `since ${absolute.format(new Date(since))}`;
  return badge;
}

/** The last wake: how long it took, or why it failed (the proxy shows no hook output). */
function lastWakeLine(d) {
  const w = d.lastWake;
  if (!w) return null;
  if (w.error) return el('p', { class: 'wake-error' }, 'Last wake failed: ', el('span', { text: w.error }));
  return w.ms === null ? null : el('span', {}, `Last wake took ${Math.round(w.ms / 100) / 10} s`);
}

/** A service a base serves at this deployment's host name (issue #14): "api — from main". */
function inheritedItem(s) {
  return el(
    'li',
    { class: 'service inherited', 'data-service': s.name, 'data-from': s.from },
    el('span', { class: 'state', role: 'img', 'aria-label': `served by ${s.from}`, title: `served by ${s.from}` }),
    el('span', { class: 'svc' }, el('span', { class: 'svc-name', text: s.name }), el('span', { class: 'tag', text: `from ${s.from}` })),
    el('a', { class: 'url', href: s.url, text: hostOf(s.url) }),
    el('span', { class: 'detail', text: `${s.target} · ${s.from}'s service` }),
  );
}

function card(d) {
  const head = el(
    'div',
    { class: 'card-head' },
    el('span', { class: 'name' }, el('a', { href: d.url, text: d.name })),
    sleepBadge(d),
    d.created ? el('span', { class: 'age' }, timeEl(d.created)) : null,
  );
  const branch = d.branch && d.branch !== d.name ? el('div', { class: 'branch', title: 'git branch' }, svgIcon(BRANCH_ICON), el('span', { text: d.branch })) : null;
  const inherited = d.inherited ?? [];
  const services = d.services.length || inherited.length
    ? el('ul', { class: 'services' }, ...d.services.map((s) => serviceItem(d, s)), ...inherited.map(inheritedItem))
    : d.stopped
      ? null
      : el('p', { class: 'meta', text: 'No services registered yet.' });
  // Its `created`/`branch` keys outlive the services: say it stopped, and what to do about it.
  const stopped = d.stopped
    ? el(
        'div',
        { class: 'stopped' },
        el('p', { class: 'stopped-state' }, d.stoppedAt ? timeEl(d.stoppedAt, 'Stopped ') : 'Stopped', ' · none of its services is running'),
        el('p', { class: 'stopped-hint', text: `Deploy the branch again, or remove it: branch-proxy deregister --deployment ${d.name}` }),
      )
    : null;
  const meta = el(
    'div',
    { class: 'meta' },
    d.created ? el('span', {}, 'Created ', el('time', { datetime: d.created, title: d.created, text: absolute.format(new Date(d.created)) })) : null,
    el('span', {}, d.lastVisited ? timeEl(d.lastVisited, 'Last visited ') : 'Never visited'),
    d.lastWake && !d.lastWake.error ? lastWakeLine(d) : null,
  );
  const wakeError = d.lastWake?.error && d.state !== 'awake' ? lastWakeLine(d) : null;
  const cls = d.stopped ? 'card is-stopped' : d.state !== 'awake' ? 'card is-asleep' : 'card';
  return el('li', { class: cls, 'data-deployment': d.name, 'data-state': d.state }, head, branch, stopped, wakeError, services, meta);
}

function createdMs(d) {
  const t = d.created ? Date.parse(d.created) : NaN;
  return Number.isNaN(t) ? -Infinity : t;
}

function newestFirst(a, b) {
  return createdMs(b) - createdMs(a) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

function matches(d, words) {
  if (words.length === 0) return true;
  const haystack = [d.name, d.branch ?? '', d.stopped ? 'stopped' : '', d.state === 'awake' ? '' : d.state, ...d.services.map((s) => `${s.name} ${d.name}-${s.name}`)].join(' ').toLowerCase();
  return words.every((w) => haystack.includes(w));
}

function render(freshNames = new Set()) {
  const words = filterInput.value.toLowerCase().split(/\s+/).filter(Boolean);
  const sorted = [...deployments.values()].sort(newestFirst);
  let shown = 0;
  for (const [name, c] of cards) {
    if (!deployments.has(name)) {
      c.el.remove();
      cards.delete(name);
    }
  }
  let previous = null;
  for (const d of sorted) {
    const json = JSON.stringify(d);
    let c = cards.get(d.name);
    if (!c || c.json !== json) {
      const fresh = card(d);
      if (c) c.el.replaceWith(fresh);
      c = { json, el: fresh };
      cards.set(d.name, c);
    }
    if (freshNames.has(d.name)) {
      const el = c.el;
      el.classList.add('fresh');
      el.addEventListener('animationend', () => el.classList.remove('fresh'), { once: true });
    }
    const visible = matches(d, words);
    c.el.hidden = !visible;
    if (visible) shown++;
    // Keep DOM order = sort order, moving only what is out of place.
    const expected = previous ? previous.nextSibling : list.firstChild;
    if (expected !== c.el) list.insertBefore(c.el, expected);
    previous = c.el;
  }
  const total = deployments.size;
  $('count').textContent = total === 0 ? '' : words.length ? `${shown} of ${total}` : String(total);
  const empty = $('empty');
  empty.replaceChildren();
  if (total === 0) {
    empty.append(el('strong', { text: 'No deployments yet' }), el('span', { text: 'Deployments appear here as soon as they are registered in etcd.' }));
  } else if (shown === 0) {
    empty.append(el('strong', { text: `Nothing matches “${filterInput.value.trim()}”` }), el('span', { text: 'Try part of a branch, deployment or service name.' }));
  }
  empty.hidden = empty.childElementCount === 0;
}

// ---- live state ------------------------------------------------------------

function setLive(state, text) {
  $('live').dataset.state = state;
  $('live-text').textContent = text;
}

function showRegistryState() {
  const notice = $('notice');
  notice.hidden = registryConnected;
  notice.textContent = registryConnected ? '' : 'The proxy has lost its connection to the registry (etcd). It keeps serving the deployments below and catches up as soon as etcd is back.';
}

function connect() {
  const source = new EventSource('/api/events');
  source.addEventListener('snapshot', (e) => {
    const data = JSON.parse(e.data);
    const before = new Set(deployments.keys());
    deployments.clear();
    for (const d of data.deployments) deployments.set(d.name, d);
    const fresh = firstSnapshot ? new Set() : new Set(data.deployments.map((d) => d.name).filter((n) => !before.has(n)));
    firstSnapshot = false;
    registryConnected = data.connected;
    showRegistryState();
    setLive('live', 'Live');
    render(fresh);
  });
  source.addEventListener('update', (e) => {
    const data = JSON.parse(e.data);
    const fresh = new Set();
    for (const d of data.changed) {
      if (!deployments.has(d.name)) fresh.add(d.name);
      deployments.set(d.name, d);
    }
    for (const name of data.removed) deployments.delete(name);
    render(fresh);
  });
  source.addEventListener('status', (e) => {
    registryConnected = JSON.parse(e.data).connected;
    showRegistryState();
  });
  source.addEventListener('open', () => setLive('live', 'Live'));
  source.addEventListener('error', () => setLive(source.readyState === EventSource.CLOSED ? 'offline' : 'stale', 'Reconnecting…'));
}

// ---- filter ------------------------------------------------------------------

const params = new URLSearchParams(location.search);
filterInput.value = params.get('q') ?? '';
filterInput.addEventListener('input', () => {
  const url = new URL(location.href);
  if (filterInput.value) url.searchParams.set('q', filterInput.value);
  else url.searchParams.delete('q');
  history.replaceState(null, '', url);
  render();
});
document.addEventListener('keydown', (e) => {
  if (e.key === '/' && document.activeElement !== filterInput) {
    e.preventDefault();
    filterInput.focus();
  } else if (e.key === 'Escape' && document.activeElement === filterInput) {
    filterInput.value = '';
    filterInput.dispatchEvent(new Event('input'));
  }
});

$('domain').textContent = location.host;
setInterval(refreshTimes, 30_000);
connect();

/**
 * The `Date` header value, formatted at most once a second, as Node's own server
 * caches it: a response never pays for a Date object and its formatting.
 */
let cached = '';
let until = 0;

export function httpDate(): string {
  const now = Date.now();
  if (now >= until) {
    cached = new Date(now).toUTCString();
    until = now - (now % 1000) + 1000;
  }
  return cached;
}

/**
 * The options of a `Connection` header (RFC 9110 §7.6.1) that change framing or connection reuse.
 * Read conservatively: `close` or `upgrade` anywhere in the value counts, even glued to other
 * text, so the fast path never keeps open or forwards a connection llhttp would close or upgrade;
 * `keep-alive` only counts as a whole list member.
 */
export const CONNECTION_CLOSE = 1;
export const CONNECTION_KEEP_ALIVE = 2;
export const CONNECTION_UPGRADE = 4;

/** A bit set of CONNECTION_* for one `Connection` header value (OWS already trimmed). */
export function connectionOptions(value: string): number {
  const lower = value.toLowerCase();
  let options = 0;
  if (lower.includes('close')) options |= CONNECTION_CLOSE;
  if (lower.includes('upgrade')) options |= CONNECTION_UPGRADE;
  if (lower.includes('keep-alive')) {
    for (const member of lower.split(',')) {
      if (trimOws(member) === 'keep-alive') options |= CONNECTION_KEEP_ALIVE;
    }
  }
  return options;
}

function trimOws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 0x20 || s.charCodeAt(a) === 0x09)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 0x20 || s.charCodeAt(b - 1) === 0x09)) b--;
  return s.slice(a, b);
}

/** What a Host header asks for, relative to the base domains. */
export type HostMatch =
  | { readonly kind: 'dashboard'; readonly domain: string }
  | { readonly kind: 'label'; readonly label: string; readonly domain: string }
  | { readonly kind: 'foreign'; readonly host: string };

/** Lowercases, drops the port and a trailing dot: `Feature-X.Dev.Localhost.:8080` -> `feature-x.dev.localhost`. */
export function normaliseHost(raw: string): string {
  let host = raw.toLowerCase();
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    host = end === -1 ? host : host.slice(0, end + 1);
  } else {
    const colon = host.indexOf(':');
    if (colon !== -1) host = host.slice(0, colon);
  }
  return host.endsWith('.') ? host.slice(0, -1) : host;
}

/**
 * Builds the matcher once from the configured domains, so a
 * request costs a lowercase, a suffix test per domain and one slice.
 */
export function createHostMatcher(domains: readonly string[]): (rawHost: string | undefined) => HostMatch {
  // Longest first, so dev.example.com wins over example.com.
  const suffixes = [...domains].sort((a, b) => b.length - a.length).map((domain) => ({ domain, suffix: `.${domain}` }));
  return (rawHost) => {
    const host = normaliseHost(rawHost ?? '');
    for (const { domain, suffix } of suffixes) {
      if (host === domain) return { kind: 'dashboard', domain };
      if (host.endsWith(suffix)) {
        const label = host.slice(0, -suffix.length);
        // Deeper names (a.b.dev.example.com) are no deployment of ours: the label has no dot.
        return label.includes('.') ? { kind: 'foreign', host } : { kind: 'label', label, domain };
      }
    }
    return { kind: 'foreign', host };
  };
}

/**
 * `host:port` as an HTTP authority, logs and views show a backend: an IPv6
 * literal goes in brackets (`[fd00::1]:8080`, RFC 3986 §3.2.2). Hosts here have
 * passed the registry codec, so only an IPv6 literal contains a colon: that test
 * is cheaper than isIP() on paths that format every route.
 */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

import type { ServerResponse } from 'node:http';

/** Previews must not be indexed (issue #13): the header on every proxied response, unless the deployment is allowed. */
export const ROBOTS_HEADER = 'x-robots-tag';
export const ROBOTS_VALUE = 'noindex, nofollow';
const ROBOTS_TXT = 'User-agent: *\nDisallow: /\n';
const ROBOTS_TXT_HEADERS = Object.freeze({ 'content-type': 'text/plain; charset=utf-8', 'content-length': String(Buffer.byteLength(ROBOTS_TXT)), 'cache-control': 'max-age=3600' });

/**
 * ROBOTS_ALLOW, prepared once: `noindex(name)` says whether a deployment's
 * responses carry the header and its `/robots.txt` is answered by the proxy.
 */
export function robotsPolicy(allow: readonly string[] | '*'): { noindex(deployment: string): boolean } | undefined {
  if (allow === '*') return undefined;
  const allowed: ReadonlySet<string> = new Set(allow);
  return { noindex: (deployment) => !allowed.has(deployment) };
}

/** `/robots.txt` on a deployment's host: disallow everything, without asking the backend. */
export function sendRobotsTxt(method: string | undefined, res: ServerResponse): void {
  res.writeHead(200, ROBOTS_TXT_HEADERS);
  res.end(method === 'HEAD' ? undefined : ROBOTS_TXT);
}

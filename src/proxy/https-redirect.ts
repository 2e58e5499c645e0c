import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HostMatch } from '../routing/host.ts';
import { normaliseHost } from '../routing/host.ts';
import { foreignHostInfo } from '../web/error-info.ts';
import { sendError } from '../web/error-page.ts';

/**
 * The plain-HTTP listener of a TLS set-up: sends every request for our domains
 * to the same URL over HTTPS. SECURITY: hosts outside the base domains get the
 * usual 421 instead, so this is no open redirect.
 */
export function createHttpsRedirect(matchHost: (host: string | undefined) => HostMatch, domains: readonly string[], httpsPort: number) {
  const port = httpsPort === 443 ? '' : `:${httpsPort}`;
  return (req: IncomingMessage, res: ServerResponse): void => {
    const match = matchHost(req.headers.host);
    if (match.kind === 'foreign') return sendError(req, res, foreignHostInfo(match.host, domains));
    res.writeHead(308, { location: `https://${normaliseHost(req.headers.host!)}${port}${req.url ?? '/'}` }).end();
  };
}

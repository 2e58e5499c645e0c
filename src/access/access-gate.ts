import type { IncomingMessage } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import parseBasicAuth from 'basic-auth';
import { parse as parseCookies } from 'cookie';
import proxyaddr from 'proxy-addr';
import type { AccessConfig } from '../config/serve-config.ts';
import { createBasicAuthVerifier } from './htpasswd.ts';
import { shareKey, verifyShareToken } from './share-token.ts';

export const TOKEN_HEADER = 'x-branch-proxy-token';
export const SHARE_PARAM = 'bp_share';
const SHARE_COOKIE_PREFIX = 'bp_share_';

export type Verdict =
  | { readonly allow: true; readonly via: 'ip' | 'basic' | 'token' | 'share' }
  /** A share link was opened: set its cookie and send the visitor to the same URL without the token. */
  | { readonly allow: true; readonly via: 'share-link'; readonly setCookie: string; readonly location: string }
  | { readonly allow: false; readonly status: 401 | 403; readonly message: string };

export interface AccessGate {
  /** `deployment` is the one the host names (undefined for the dashboard, which share links never open). */
  check(req: IncomingMessage, deployment: string | undefined, domain: string): Promise<Verdict>;
  /** The client's address, believing X-Forwarded-For only from TRUSTED_PROXIES. */
  clientAddress(req: IncomingMessage): string;
}

/**
 * Who may use the public port. Any one of these lets a request in: a client
 * address in ALLOW_CIDRS, valid basic-auth credentials, the automation token,
 * or a share cookie for the deployment asked for. Undefined when nothing is
 * configured, so an open proxy pays nothing per request.
 */
export function createAccessGate(config: AccessConfig): AccessGate | undefined {
  const { credentials, token, shareSecret } = config;
  if (!credentials && config.allowCidrs.length === 0 && !token && !shareSecret) return undefined;
  const trusted = proxyaddr.compile([...config.trustedProxies]);
  const allowed = config.allowCidrs.length > 0 ? proxyaddr.compile([...config.allowCidrs]) : undefined;
  const verifyBasic = credentials ? createBasicAuthVerifier(credentials) : undefined;
  const tokenBytes = token ? Buffer.from(token) : undefined;
  const key = shareSecret ? shareKey(shareSecret) : undefined;
  const clientAddress = (req: IncomingMessage): string => proxyaddr(req, trusted);

  const denial = (): Verdict =>
    credentials
      ? { allow: false, status: 401, message: 'Log in to see this page, or open it through a share link.' }
      : { allow: false, status: 403, message: 'Your address may not open this page; ask for a share link.' };

  return {
    clientAddress,
    async check(req, deployment, domain) {
      if (allowed?.(clientAddress(req), 0)) return { allow: true, via: 'ip' };
      const presented = req.headers[TOKEN_HEADER];
      if (tokenBytes && typeof presented === 'string' && safeEqual(Buffer.from(presented), tokenBytes)) return { allow: true, via: 'token' };
      if (key && deployment !== undefined) {
        const link = shareLinkToken(req.url);
        if (link !== undefined) {
          const grant = await verifyShareToken(key, link.token);
          if (grant?.deployment === deployment) {
            const maxAge = Math.max(0, Math.floor((grant.expiresAt.getTime() - Date.now()) / 1000));
            const secure = 'encrypted' in req.socket ? '; Secure' : '';
            return {
              allow: true,
              via: 'share-link',
              setCookie: `${SHARE_COOKIE_PREFIX}${deployment}=${link.token}; Domain=${domain}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure}`,
              location: link.rest,
            };
          }
        }
        const cookie = req.headers.cookie === undefined ? undefined : parseCookies(req.headers.cookie)[`${SHARE_COOKIE_PREFIX}${deployment}`];
        if (cookie !== undefined && (await verifyShareToken(key, cookie))?.deployment === deployment) return { allow: true, via: 'share' };
      }
      if (verifyBasic) {
        const basic = parseBasicAuth(req);
        if (basic && (await verifyBasic(basic.name, basic.pass, req.headers.authorization!))) return { allow: true, via: 'basic' };
      }
      return denial();
    },
  };
}

/**
 * What only the proxy needed is not passed on to backends: the automation token,
 * share cookies, and the basic-auth credentials that let the request in.
 */
export function stripAccessCredentials(req: IncomingMessage, verdict: Verdict): void {
  delete req.headers[TOKEN_HEADER];
  if (verdict.allow && verdict.via === 'basic') delete req.headers.authorization;
  const cookie = req.headers.cookie;
  if (cookie?.includes(SHARE_COOKIE_PREFIX)) {
    const kept = cookie.split(';').filter((c) => !c.trim().startsWith(SHARE_COOKIE_PREFIX)).join(';').trim();
    if (kept === '') delete req.headers.cookie;
    else req.headers.cookie = kept;
  }
}

/** `/page?bp_share=T&x=1` -> token T and `/page?x=1`. */
function shareLinkToken(url: string | undefined): { token: string; rest: string } | undefined {
  if (url === undefined || !url.includes(`${SHARE_PARAM}=`)) return undefined;
  const parsed = new URL(url, 'http://x');
  const token = parsed.searchParams.get(SHARE_PARAM);
  if (token === null) return undefined;
  parsed.searchParams.delete(SHARE_PARAM);
  return { token, rest: parsed.pathname + parsed.search };
}

function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

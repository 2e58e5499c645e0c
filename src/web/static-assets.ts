import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

const TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
};

/**
 * The dashboard's files from `public/`, relative to this module so it works from
 * `src/web` (tsx) and `dist/web` (built) alike. Read once at start: there are
 * a handful and they are small. Only names in the returned map are ever served,
 * so no request path reaches the file system.
 */
export const PUBLIC_DIR = new URL('../../public/', import.meta.url);

export function loadAssets(dir: URL = PUBLIC_DIR): ReadonlyMap<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[name.slice(name.lastIndexOf('.') + 1)];
    if (type === undefined) continue;
    const body = readFileSync(new URL(name, dir));
    assets.set(name, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  }
  return assets;
}

/** Sends an asset, or 304 when the browser has this version; the browser revalidates each time. */
export function sendAsset(req: FastifyRequest, reply: FastifyReply, asset: Asset): FastifyReply {
  void reply.header('etag', asset.etag).header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff');
  if (req.headers['if-none-match'] === asset.etag) return reply.code(304).send();
  return reply.type(asset.type).send(asset.body);
}

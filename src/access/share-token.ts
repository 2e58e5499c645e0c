import { SignJWT, jwtVerify } from 'jose';

/** Signed, expiring permission to see one deployment: an HS256 JWT whose subject is the deployment. */
export interface ShareGrant {
  readonly deployment: string;
  readonly expiresAt: Date;
}

const ISSUER = 'branch-proxy';

export function shareKey(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

export async function mintShareToken(key: Uint8Array, deployment: string, expiresAt: Date): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(ISSUER)
    .setSubject(deployment)
    .setIssuedAt()
    .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
    .sign(key);
}

/** The grant, or undefined when the token is forged, malformed or expired. */
export async function verifyShareToken(key: Uint8Array, token: string): Promise<ShareGrant | undefined> {
  try {
    const { payload } = await jwtVerify(token, key, { issuer: ISSUER, algorithms: ['HS256'] });
    if (typeof payload.sub !== 'string' || typeof payload.exp !== 'number') return undefined;
    return { deployment: payload.sub, expiresAt: new Date(payload.exp * 1000) };
  } catch {
    return undefined;
  }
}

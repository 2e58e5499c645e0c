import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface DemoCertificate {
  readonly dir: string;
  /** The throwaway CA a browser is told to trust. */
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/**
 * A throwaway local CA and a leaf for `<domain>` and `*.<domain>`, valid for 30 days, made
 * with openssl (as test/helpers/certs.ts does). The CA's key stays in the temp dir, which
 * the demo removes when it stops, so trusting the CA trusts nothing after the demo.
 */
export function makeDemoCertificate(domain: string): DemoCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'branch-proxy-demo-tls-'));
  const p = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  try {
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '30', '-subj', '/CN=branch-proxy demo CA', '-keyout', p('ca.key'), '-out', p('ca.crt'));
    writeFileSync(p('leaf.ext'), `subjectAltName=DNS:${domain},DNS:*.${domain},DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n`);
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=*.${domain}`, '-keyout', p('tls.key'), '-out', p('tls.csr'));
    openssl('x509', '-req', '-in', p('tls.csr'), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-CAcreateserial', '-days', '30', '-extfile', p('leaf.ext'), '-out', p('tls.crt'));
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(missing ? 'npm run demo -- --tls needs openssl to make its certificate: install it (apt-get install openssl) or run the demo without --tls' : `openssl could not make the demo certificate: ${(err as Error).message}`);
  }
  return { dir, ca: p('ca.crt'), cert: p('tls.crt'), key: p('tls.key') };
}

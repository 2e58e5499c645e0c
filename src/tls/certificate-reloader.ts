import { X509Certificate } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { Server } from 'node:tls';
import type { Logger } from 'pino';

export interface CertificateFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

export function readCertificate(files: CertificateFiles): { cert: Buffer; key: Buffer } {
  return { cert: readFileSync(files.certFile), key: readFileSync(files.keyFile) };
}

/**
 * Reloads the certificate into the running server whenever either file changes
 * (cert-manager, certbot and Kubernetes secrets replace files in place), without
 * a restart. A pair that does not load (a half-written rotation) is logged and
 * the previous one kept; the next change tries again. Polls, because watching
 * by inode misses symlink swaps. Returns a function that stops watching.
 */
export function reloadCertificateOnChange(server: Server, files: CertificateFiles, log: Logger, intervalMs = 2000): () => void {
  const reload = (): void => {
    try {
      const pair = readCertificate(files);
      createSecureContext(pair); // throws on a mismatched or malformed pair
      server.setSecureContext(pair);
      const x509 = new X509Certificate(pair.cert);
      log.info({ subject: x509.subject, validTo: x509.validTo }, 'TLS certificate reloaded');
    } catch (err) {
      log.warn({ event: 'tls-reload-failed', err, certFile: files.certFile, keyFile: files.keyFile }, 'TLS certificate change not loaded; keeping the previous one');
    }
  };
  for (const file of [files.certFile, files.keyFile]) watchFile(file, { interval: intervalMs }, reload);
  return () => {
    for (const file of [files.certFile, files.keyFile]) unwatchFile(file, reload);
  };
}

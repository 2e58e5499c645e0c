import type { Server } from 'node:net';
import { StartupError } from './startup-error.ts';

/** Listens on `host`, or on every IPv6 and IPv4 address when none is given. */
export function listen(server: Server, port: number, host: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => reject(listenError(err, port, host));
    server.once('error', onError);
    server.listen({ port, host }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** A listen() failure the user can act on, as a StartupError; anything else as it is. */
function listenError(err: NodeJS.ErrnoException, port: number, host: string | undefined): Error {
  const where = `${host ?? 'all addresses'} port ${port}`;
  if (err.code === 'EADDRINUSE') return new StartupError(`cannot listen on ${where}: another process uses it; stop it or choose another port`);
  if (err.code === 'EACCES') return new StartupError(`cannot listen on ${where}: permission denied; ports below 1024 need root or CAP_NET_BIND_SERVICE`);
  if (err.code === 'EADDRNOTAVAIL') return new StartupError(`cannot listen on ${where}: no network interface has that address; check HOST/ADMIN_HOST`);
  return err;
}

/** `serve` cannot start for a reason outside its configuration (a port in use, say): one line, exit code 1. */
export class StartupError extends Error {
  override name = 'StartupError';
}

/** A listen() failure the user can act on, as a StartupError; anything else as it is. */
export function listenError(err: NodeJS.ErrnoException, port: number, host: string | undefined): Error {
  const where = `${host ?? 'all addresses'} port ${port}`;
  if (err.code === 'EADDRINUSE') return new StartupError(`cannot listen on ${where}: another process uses it; stop it or choose another port`);
  if (err.code === 'EACCES') return new StartupError(`cannot listen on ${where}: permission denied; ports below 1024 need root or CAP_NET_BIND_SERVICE`);
  if (err.code === 'EADDRNOTAVAIL') return new StartupError(`cannot listen on ${where}: no network interface has that address; check HOST/ADMIN_HOST`);
  return err;
}

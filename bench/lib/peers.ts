/**
 * The reverse proxies a user would pick instead of branch-proxy besides nginx, each configured the way
 * its own documentation recommends for host-based routing to keep-alive upstreams, with an access log
 * written to a file and X-Forwarded-For/-Proto/-Host set, and the package's default threads.
 */
import { spawn } from 'node:child_process';
import { openSync, writeFileSync } from 'node:fs';
import { freePort } from '../../test/helpers/ports.ts';
import { benchPath, listening, track } from './targets.ts';
import type { Running } from './targets.ts';

/**
 * Caddy 2.6 (Debian's `caddy`): one site block per host with `reverse_proxy`. Its defaults already do
 * what the others are configured to do: keep-alive upstream connections (32 idle per host) and
 * X-Forwarded-For/-Proto/-Host; GOMAXPROCS is the number of CPUs. `auto_https off` because the
 * bench speaks plain HTTP, `admin off` so that its admin port cannot clash with another Caddy.
 */
export async function startCaddyProxy(routes: Record<string, number>): Promise<Running> {
  const port = await freePort();
  const conf = benchPath('Caddyfile');
  const log = benchPath('caddy-access.log');
  // Sites named by host alone and the port set globally: with the port in a site's address, Caddy 2.6 files
  // the access log under host:port and never finds it for requests whose Host header has no port.
  const sites = Object.entries(routes).map(
    ([host, backendPort]) => `http://${host} {\n\tbind 127.0.0.1\n\tlog {\n\t\toutput file ${log}\n\t}\n\treverse_proxy 127.0.0.1:${backendPort}\n}\n`,
  );
  writeFileSync(conf, `{\n\tadmin off\n\tauto_https off\n\thttp_port ${port}\n}\n${sites.join('')}`);
  const dir = benchPath('caddy-home');
  const child = spawn('caddy', ['run', '--config', conf, '--adapter', 'caddyfile'], {
    stdio: ['ignore', 'ignore', openSync(benchPath('caddy.error.log'), 'w')],
    // Caddy keeps its state under HOME/XDG dirs; keep it out of the user's.
    env: { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
  });
  await listening(port, 'caddy');
  return track('caddy', port, child);
}

/**
 * HAProxy 2.6 (Debian's `haproxy`): `mode http`, a host ACL and a backend per route, `http-reuse safe`
 * (the default its documentation recommends: server connections are kept alive and shared between
 * requests after each client connection's first), `option forwardfor`, and the HTTP log format
 * (`option httplog`) written to stdout, which goes to a file. `nbthread` is left to its default,
 * one thread per CPU; timeouts are those of Debian's /etc/haproxy/haproxy.cfg.
 */
export async function startHaproxyProxy(routes: Record<string, number>): Promise<Running> {
  const port = await freePort();
  const conf = benchPath('haproxy.cfg');
  const entries = Object.entries(routes);
  writeFileSync(
    conf,
    [
      'global',
      '  log stdout format raw local0',
      'defaults',
      '  mode http',
      '  log global',
      '  option httplog',
      '  option dontlognull',
      '  option forwardfor',
      '  http-reuse safe',
      '  timeout connect 5s',
      '  timeout client 50s',
      '  timeout server 50s',
      'frontend proxy',
      `  bind 127.0.0.1:${port}`,
      '  http-request set-header X-Forwarded-Proto http',
      '  http-request set-header X-Forwarded-Host %[req.hdr(host)]',
      ...entries.map(([host], i) => `  acl host_${i} hdr(host) -i ${host}`),
      ...entries.map((_, i) => `  use_backend route_${i} if host_${i}`),
      ...entries.flatMap(([, backendPort], i) => [`backend route_${i}`, `  server s${i} 127.0.0.1:${backendPort}`]),
      '',
    ].join('\n'),
  );
  const child = spawn('haproxy', ['-db', '-f', conf], {
    stdio: ['ignore', openSync(benchPath('haproxy-access.log'), 'w'), openSync(benchPath('haproxy.error.log'), 'w')],
  });
  await listening(port, 'haproxy');
  return track('haproxy', port, child);
}

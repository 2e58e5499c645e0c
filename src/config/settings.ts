/**
 * Every setting is an environment variable with a mirroring command-line flag
 * (`ETCD_ENDPOINTS` <-> `--etcd-endpoints`). This table drives both `--help`
 * and validation, so the two never drift apart.
 */
export interface Setting {
  readonly env: string;
  readonly description: string;
  readonly default: string;
  /** A flag named otherwise than after the variable (`BASE_DOMAIN` <-> `--domain` for `url`). */
  readonly flag?: string;
}

export const ETCD_SETTINGS = [
  { env: 'ETCD_ENDPOINTS', default: 'http://127.0.0.1:2379', description: 'comma-separated etcd URLs' },
  { env: 'REGISTRY_PREFIX', default: '/deployment/', description: 'etcd key prefix of the registry' },
  { env: 'ETCD_CA_FILE', default: '', description: "CA certificate (PEM) that signed etcd's server certificate; endpoints must be https://" },
  { env: 'ETCD_CERT_FILE', default: '', description: 'client certificate (PEM) for etcd --client-cert-auth, with ETCD_KEY_FILE' },
  { env: 'ETCD_KEY_FILE', default: '', description: 'private key (PEM) of ETCD_CERT_FILE' },
  { env: 'ETCD_USERNAME', default: '', description: 'etcd user, when etcd has auth enabled (with ETCD_PASSWORD)' },
  { env: 'ETCD_PASSWORD', default: '', description: 'password of ETCD_USERNAME' },
] as const satisfies readonly Setting[];

export const BASE_DOMAIN_SETTING = { env: 'BASE_DOMAIN', default: 'dev.localhost', description: 'comma-separated base domains; <deployment>[-<service>].<domain> is routed' } as const satisfies Setting;

/** Crawlers, link unfurlers and uptime checkers: they neither wake a deployment nor count as activity. Not curl: CI uses it. */
export const DEFAULT_WAKE_IGNORE_USER_AGENTS =
  'bot|crawl|spider|slurp|facebookexternalhit|Slackbot|Twitterbot|Discordbot|WhatsApp|TelegramBot|LinkedInBot|SkypeUriPreview|embedly|' +
  'Pingdom|UptimeRobot|StatusCake|Site24x7|BetterUptime|HetrixTools';

/** Sleep and wake (issue #13, docs/sleep.md): shared by `serve` and the `sleep`/`wake` commands. */
export const SLEEP_SETTINGS = [
  { env: 'SLEEP_AFTER', default: '', description: 'put a deployment to sleep after this long without requests (e.g. 2h, 30m); empty: never automatically' },
  { env: 'SLEEP_DRIVER', default: 'command', description: 'how deployments are stopped and started: command (SLEEP_COMMAND/WAKE_COMMAND) or ecs' },
  { env: 'SLEEP_COMMAND', default: '', description: 'run by /bin/sh to stop a deployment; it gets DEPLOYMENT, BRANCH, SERVICES, BASE_DOMAIN in its environment' },
  { env: 'WAKE_COMMAND', default: '', description: 'run by /bin/sh to start a sleeping deployment again (same environment as SLEEP_COMMAND)' },
  { env: 'ECS_CLUSTER', default: '', description: 'with SLEEP_DRIVER=ecs: the ECS cluster (name or ARN) of the deployments\' services' },
  { env: 'ECS_SERVICE_TEMPLATE', default: '{deployment}-{service}', description: 'with SLEEP_DRIVER=ecs: the ECS service name of a deployment\'s service' },
  { env: 'WAKE_TIMEOUT', default: '5m', description: 'a wake (or sleep) not done within this is failed; its command\'s process group is killed' },
  { env: 'WAKE_HOLD', default: '30s', description: 'how long a non-browser request to a waking deployment is held before it gets 503' },
  { env: 'WAKE_HOLD_MAX_BODY', default: '1MiB', description: 'larger request bodies are not held while waking: 503 at once (bytes, or with k/KiB, m/MiB)' },
  { env: 'WAKE_IGNORE_USER_AGENTS', default: DEFAULT_WAKE_IGNORE_USER_AGENTS, description: 'regular expression (case-insensitive) of user agents that never wake a deployment; empty: none' },
  { env: 'ROBOTS_ALLOW', default: '', description: 'comma-separated deployments that may be indexed by crawlers (no X-Robots-Tag, no proxy robots.txt); * for all' },
] as const satisfies readonly Setting[];

export const SERVE_SETTINGS = [
  ...ETCD_SETTINGS,
  BASE_DOMAIN_SETTING,
  { env: 'PORT', default: '8080', description: 'proxy port (0 picks a free port)' },
  { env: 'HOST', default: '', description: 'listen address; empty listens on all IPv6 and IPv4 addresses' },
  { env: 'TLS_CERT_FILE', default: '', description: 'certificate chain (PEM, e.g. a wildcard for *.dev.example.com): PORT then serves HTTPS; reloaded when the file changes' },
  { env: 'TLS_KEY_FILE', default: '', description: 'private key (PEM) of TLS_CERT_FILE' },
  { env: 'HTTP2', default: 'true', description: 'with TLS: offer HTTP/2 to browsers beside HTTP/1.1 (ALPN); false offers HTTP/1.1 only. Backends are always spoken to over HTTP/1.1' },
  { env: 'HTTP_REDIRECT_PORT', default: '', description: 'with TLS: a plain-HTTP port that redirects every request to HTTPS (e.g. 80)' },
  { env: 'ADMIN_PORT', default: '8081', description: 'admin port: /healthz, /readyz, /api (0 picks a free port)' },
  { env: 'ADMIN_HOST', default: '', description: 'admin listen address; empty uses HOST' },
  { env: 'DEFAULT_SERVICE', default: 'web', description: 'service opened by <deployment>.<domain> when the deployment names no default' },
  { env: 'FALLBACK_DEPLOYMENT', default: '', description: "deployment (e.g. main) whose services a deployment without them inherits, unless it names its own base; empty: no fallback" },
  { env: 'FAST_PATH', default: 'true', description: 'plain HTTP: forward plain requests to routed deployments on raw sockets (docs/fast-path.md); false sends everything through node:http' },
  { env: 'UPSTREAM_TIMEOUT_MS', default: '30000', description: "time to wait for a backend's response headers; streamed bodies and WebSockets are never cut" },
  { env: 'BACKEND_ALLOW', default: '', description: 'comma-separated CIDRs backends must lie in; empty allows any address but link-local/metadata ones and the proxy itself' },
  { env: 'AUTH_HTPASSWD', default: '', description: 'htpasswd file (bcrypt entries, `htpasswd -B`): visitors must log in with HTTP basic auth' },
  { env: 'ALLOW_CIDRS', default: '', description: 'comma-separated client CIDRs let in without logging in (with AUTH_HTPASSWD) or the only ones let in (without)' },
  { env: 'TRUSTED_PROXIES', default: '', description: 'comma-separated CIDRs of load balancers whose X-Forwarded-For/-Proto/-Host are believed' },
  { env: 'AUTH_TOKEN', default: '', description: 'secret that automation sends as the X-Branch-Proxy-Token header instead of logging in (at least 16 characters)' },
  { env: 'SHARE_SECRET', default: '', description: 'key that signs share links (`branch-proxy share`); at least 32 characters; the same on every replica' },
  { env: 'PROBE_INTERVAL_MS', default: '15000', description: 'pause between checks that each backend accepts TCP connections (shown on the dashboard)' },
  { env: 'ACTIVITY_WRITE_MS', default: '60000', description: 'how often last-request times go to etcd: the first visit after a quiet interval at once, then at most one write per deployment per interval' },
  { env: 'SHUTDOWN_GRACE_MS', default: '10000', description: 'on SIGTERM, time in-flight requests get to finish' },
  { env: 'LOG_LEVEL', default: 'info', description: 'fatal, error, warn, info, debug, trace or silent' },
  { env: 'WORKERS', default: 'auto', description: 'proxy processes sharing PORT, each with its own route table; auto: one per CPU; 1: a single process' },
  ...SLEEP_SETTINGS,
] as const satisfies readonly Setting[];

/** What `sleep` and `wake` need: etcd, the domain the hooks are told, and the sleep settings. */
export const SLEEP_CLI_SETTINGS = [...ETCD_SETTINGS, BASE_DOMAIN_SETTING, ...SLEEP_SETTINGS] as const satisfies readonly Setting[];

/** How `url` spells a deployment's address: `<scheme>://<deployment>[-<service>].<domain>[:<port>]/`. */
export const URL_SETTINGS = [
  { env: 'BASE_DOMAIN', flag: '--domain', default: 'dev.localhost', description: 'base domain of the URL (the first one, when a comma-separated list)' },
  { env: 'URL_SCHEME', flag: '--scheme', default: 'http', description: 'http or https' },
  { env: 'URL_PORT', default: '', description: "port the proxy is reached on; empty for the scheme's default" },
] as const satisfies readonly Setting[];

export type SettingName<S extends readonly Setting[]> = S[number]['env'];
export type SettingValues<S extends readonly Setting[]> = Record<SettingName<S>, string>;

/** `ETCD_ENDPOINTS` -> `--etcd-endpoints` */
export function flagOf(setting: Setting): string {
  return setting.flag ?? `--${setting.env.toLowerCase().replaceAll('_', '-')}`;
}

/** What `branch-proxy share` needs: the signing key and how links are spelled. */
export const SHARE_SETTINGS = [
  { env: 'SHARE_SECRET', default: '', description: 'key that signs share links; the same as the proxy\'s' },
  ...URL_SETTINGS,
] as const satisfies readonly Setting[];

/**
 * The registry's key layout, below a prefix such as `/deployment/`:
 *   <deployment>/service/<service>/ip     backend address
 *   <deployment>/service/<service>/port   backend port
 *   <deployment>/created                  ISO-8601 time (informational)
 *   <deployment>/branch                   raw git branch name (informational)
 *   <deployment>/default                  service that <deployment>.<domain> opens
 *   <deployment>/last-request             ISO-8601 time of the last proxied request (written by the proxy)
 *   <deployment>/fallback                 deployment whose services it inherits (its base; see routing/resolve-label.ts)
 *   <deployment>/sleep                    JSON sleep record while not awake (see sleep/sleep-record.ts)
 *   <deployment>/last-wake                JSON {ms, at} of the last completed wake (outlives the record)
 * Both the proxy (reading) and the CLI (writing) use these helpers.
 */
export type ServiceField = 'ip' | 'port';
export type DeploymentField = 'created' | 'branch' | 'default' | 'last-request' | 'fallback' | SleepStateField;

export type KeyRef =
  | { readonly deployment: string; readonly service: string; readonly field: ServiceField }
  | { readonly deployment: string; readonly service?: undefined; readonly field: DeploymentField };

/** Keys of the sleep and wake state (issue #13): JSON values, decoded by the codec like the others. */
export type SleepStateField = 'sleep' | 'last-wake';

const DEPLOYMENT_FIELDS: ReadonlySet<string> = new Set<DeploymentField>(['created', 'branch', 'default', 'last-request', 'fallback', 'sleep', 'last-wake']);

/**
 * Splits a key into its parts, or undefined when it is not one of the registry's keys.
 * With indexOf rather than split: a snapshot parses every key of the registry, in every process.
 */
export function parseKey(prefix: string, key: string): KeyRef | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const afterDeployment = key.indexOf('/', prefix.length);
  if (afterDeployment <= prefix.length) return undefined;
  const deployment = key.slice(prefix.length, afterDeployment);
  const afterSecond = key.indexOf('/', afterDeployment + 1);
  if (afterSecond === -1) {
    const field = key.slice(afterDeployment + 1);
    return DEPLOYMENT_FIELDS.has(field) ? { deployment, field: field as DeploymentField } : undefined;
  }
  if (afterSecond - afterDeployment - 1 !== SERVICE.length || !key.startsWith(SERVICE, afterDeployment + 1)) return undefined;
  const afterService = key.indexOf('/', afterSecond + 1);
  if (afterService <= afterSecond + 1 || key.indexOf('/', afterService + 1) !== -1) return undefined;
  const field = key.slice(afterService + 1);
  if (field !== 'ip' && field !== 'port') return undefined;
  return { deployment, service: key.slice(afterSecond + 1, afterService), field };
}

const SERVICE = 'service';

export function deploymentPrefix(prefix: string, deployment: string): string {
  return `${prefix}${deployment}/`;
}

export function serviceKey(prefix: string, deployment: string, service: string, field: ServiceField): string {
  return `${prefix}${deployment}/service/${service}/${field}`;
}

export function deploymentKey(prefix: string, deployment: string, field: DeploymentField): string {
  return `${prefix}${deployment}/${field}`;
}

export function sleepStateKey(prefix: string, deployment: string, field: SleepStateField): string {
  return `${prefix}${deployment}/${field}`;
}

/** Every service key of a deployment lies below this: the range a sleep deletes. */
export function servicesPrefix(prefix: string, deployment: string): string {
  return `${prefix}${deployment}/service/`;
}

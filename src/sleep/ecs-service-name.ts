/** ECS service names: letters, digits, hyphens and underscores, up to 255 (the ECS API's rule). */
export const ECS_SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$/;

/** The ECS service name of one of a deployment's services, from ECS_SERVICE_TEMPLATE such as `{deployment}-{service}`. */
export function ecsServiceName(template: string, deployment: string, service: string): string {
  return template.replaceAll('{deployment}', deployment).replaceAll('{service}', service);
}

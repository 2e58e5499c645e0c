/**
 * Services as every page lists them: the deployment's default service first (the
 * one its bare URL opens), then the others by name.
 */
export function defaultServiceFirst<S extends { readonly name: string }>(services: Iterable<S>, defaultService: string): S[] {
  return [...services].sort((a, b) => Number(b.name === defaultService) - Number(a.name === defaultService) || a.name.localeCompare(b.name));
}

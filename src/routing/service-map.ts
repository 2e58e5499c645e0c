/**
 * A deployment's services: nearly every deployment has one, which is kept in a
 * field; a Map (about 150 bytes even when nearly empty) only from the second on.
 * Read as a ReadonlyMap keyed by the service's own name.
 */
export class ServiceMap<S extends { readonly name: string }> implements ReadonlyMap<string, S> {
  #one: S | undefined = undefined;
  #many: Map<string, S> | undefined = undefined;

  get size(): number {
    return this.#many ? this.#many.size : this.#one ? 1 : 0;
  }

  get(name: string): S | undefined {
    if (this.#many) return this.#many.get(name);
    return this.#one?.name === name ? this.#one : undefined;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  set(service: S): void {
    if (this.#many) this.#many.set(service.name, service);
    else if (!this.#one || this.#one.name === service.name) this.#one = service;
    else {
      this.#many = new Map([[this.#one.name, this.#one], [service.name, service]]);
      this.#one = undefined;
    }
  }

  delete(name: string): void {
    if (this.#many) this.#many.delete(name);
    else if (this.#one?.name === name) this.#one = undefined;
  }

  *values(): MapIterator<S> {
    if (this.#many) yield* this.#many.values();
    else if (this.#one) yield this.#one;
  }

  *keys(): MapIterator<string> {
    for (const s of this.values()) yield s.name;
  }

  *entries(): MapIterator<[string, S]> {
    for (const s of this.values()) yield [s.name, s];
  }

  [Symbol.iterator](): MapIterator<[string, S]> {
    return this.entries();
  }

  forEach(callback: (value: S, key: string, map: ReadonlyMap<string, S>) => void, thisArg?: unknown): void {
    for (const s of this.values()) callback.call(thisArg, s, s.name, this);
  }
}

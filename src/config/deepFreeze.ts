// The Config handed to the controller and the speakers must not change under them: everything in
// it is frozen, including its Maps (Object.freeze alone does not stop Map.set).

/** A Map whose mutators throw once it is built. */
export class FrozenMap<K, V> extends Map<K, V> {
  readonly #sealed: boolean;

  constructor(entries: Iterable<readonly [K, V]> = []) {
    super();
    for (const [k, v] of entries) super.set(k, v);
    this.#sealed = true;
    Object.freeze(this);
  }

  override set(key: K, value: V): this {
    if (this.#sealed) throw new TypeError('Config maps are immutable');
    return super.set(key, value);
  }

  override delete(_key: K): boolean {
    throw new TypeError('Config maps are immutable');
  }

  override clear(): void {
    throw new TypeError('Config maps are immutable');
  }
}

/** Object.freeze, recursively, through plain objects, arrays and Map values. */
export function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) {
    if (value instanceof Map) for (const v of value.values()) deepFreeze(v);
    return value;
  }
  if (value instanceof Map) {
    for (const v of value.values()) deepFreeze(v);
  } else {
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return Object.freeze(value);
}

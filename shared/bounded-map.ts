// A Map and a Set that keep only their newest `max` entries, so per-reply and per-turn memory stays
// bounded in a long session. Age is insertion order, as in Map and Set: writing a key that is
// already there keeps its place (delete it first to make it the newest).

/** A Map that drops its oldest entries once it holds more than `max`. */
export class BoundedMap<K, V> extends Map<K, V> {
  readonly max: number;

  constructor(max: number) {
    super();
    this.max = max;
  }

  override set(key: K, value: V): this {
    super.set(key, value);
    while (this.size > this.max) this.delete(this.keys().next().value as K);
    return this;
  }
}

/** A Set that drops its oldest members once it holds more than `max`. */
export class BoundedSet<T> extends Set<T> {
  readonly max: number;

  constructor(max: number) {
    super();
    this.max = max;
  }

  override add(value: T): this {
    super.add(value);
    while (this.size > this.max) this.delete(this.values().next().value as T);
    return this;
  }
}

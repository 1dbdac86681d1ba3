// One way to declare a group of options: an interface whose fields carry their unit and default in a
// doc comment, one frozen DEFAULT_X next to it, and this merge in the constructor that takes a Partial.
// Pure; used by the server, the client and the benchmarks.

/**
 * `defaults` with the fields `partial` sets: a field left undefined (or absent) keeps its default,
 * so `{ silenceMs: maybe }` never erases one. Shallow: a nested group is merged by its own owner.
 * The result is frozen.
 */
export function withDefaults<T extends object>(defaults: Readonly<T>, partial?: Partial<T>): Readonly<T> {
  const merged = { ...defaults } as T;
  if (partial) {
    for (const key of Object.keys(partial) as (keyof T)[]) {
      const value = partial[key];
      if (value !== undefined) merged[key] = value as T[keyof T];
    }
  }
  return Object.freeze(merged);
}

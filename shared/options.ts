// One way to declare a group of options: an interface whose fields carry their unit and default in a
// doc comment, one frozen DEFAULT_X next to it, and this merge in the constructor that takes a Partial.
// Pure; used by the server, the client and the benchmarks.

/**
 * `defaults` with the fields `given` sets: a field left undefined (or absent) keeps its default,
 * so `{ silenceMs: maybe }` never erases one. Shallow: a nested group is merged by its own owner.
 * The result is frozen.
 */
export function withDefaults<T extends object>(defaults: Readonly<T>, given?: Partial<T>): Readonly<T>;
/**
 * A group where only the fields `K` have defaults (callbacks, ids): `given` must carry the others.
 * Call with both type arguments: `withDefaults<XOptions, keyof typeof DEFAULT_X>(DEFAULT_X, options)`.
 */
export function withDefaults<T extends object, K extends keyof T>(
  defaults: Readonly<Pick<T, K>>,
  given: Omit<T, K> & Partial<Pick<T, K>>,
): Readonly<T>;
export function withDefaults(defaults: object, given: object = {}): object {
  const merged: Record<string, unknown> = { ...defaults };
  for (const [key, value] of Object.entries(given)) if (value !== undefined) merged[key] = value;
  return Object.freeze(merged);
}

/** Freezes `o` and every object and array inside it: a group of defaults nobody changes by accident. Returns `o`. */
export function freezeDeep<T>(o: T): Readonly<T> {
  if (o !== null && typeof o === "object") {
    for (const value of Object.values(o)) freezeDeep(value);
    Object.freeze(o);
  }
  return o;
}

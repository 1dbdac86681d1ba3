// Reading the values of Durable Object SQLite rows (SqlStorageValue: ArrayBuffer | string | number | null)
// as the types our columns hold. Pure: the type is ambient, nothing is imported from Cloudflare.

/**
 * A text column's value (a number as written, null as "null", as String() gives them). A BLOB where text
 * belongs is a bug: it throws instead of becoming "[object ArrayBuffer]".
 */
export function textOf(value: SqlStorageValue | undefined): string {
  if (value instanceof ArrayBuffer) throw new TypeError("a BLOB where a text value was expected");
  return String(value);
}

// A Durable Object SqlStorage stand-in over Node's built-in SQLite (node:sqlite), for unit tests of
// storage-backed logic in plain Node: the same SQL and the same schema (server/storage/migrations.ts).
import { DatabaseSync } from "node:sqlite";
import { MIGRATIONS } from "../../server/storage/migrations.ts";

type Value = string | number | null | Uint8Array;

export function nodeSqlStorage(): SqlStorage {
  const db = new DatabaseSync(":memory:");
  for (const step of MIGRATIONS) db.exec(step);
  const exec = (query: string, ...bindings: unknown[]) => {
    const stmt = db.prepare(query);
    const reads = /^\s*(SELECT|WITH)\b/i.test(query) || /\bRETURNING\b/i.test(query);
    // Durable Object SQLite takes and returns BLOBs as ArrayBuffer; node:sqlite as Uint8Array.
    const args = bindings.map((b) => (b instanceof ArrayBuffer ? new Uint8Array(b) : b)) as Value[];
    const blobs = (row: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v instanceof Uint8Array ? v.slice().buffer : v])) as Record<
        string,
        SqlStorageValue
      >;
    const rows = reads ? (stmt.all(...args) as Record<string, unknown>[]).map(blobs) : (stmt.run(...args), []);
    return {
      toArray: () => rows,
      one: () => {
        if (rows.length !== 1) throw new Error(`expected exactly one row, got ${rows.length}`);
        return rows[0]!;
      },
    };
  };
  return { exec } as unknown as SqlStorage;
}

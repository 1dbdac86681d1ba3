// The part of Node's built-in SQLite (node:sqlite) that test/support/node-sql-storage.ts uses. Declared
// here because the projects that typecheck it use the Workers runtime types, not Node's.
declare module "node:sqlite" {
  interface StatementSync {
    all(...params: unknown[]): unknown[];
    run(...params: unknown[]): unknown;
  }
  export class DatabaseSync {
    constructor(path: string);
    exec(sql: string): void;
    prepare(sql: string): StatementSync;
  }
}

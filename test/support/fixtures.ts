// The recorded WAV fixtures under test/fixtures/, read from Node tests wherever they sit.
import { readFileSync } from "node:fs";
import { join } from "node:path";

const fixturesDir = join(import.meta.dirname, "..", "fixtures");

/** The bytes of `test/fixtures/<name>`. */
export function readFixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(fixturesDir, name)));
}

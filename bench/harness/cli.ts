// Command-line plumbing shared by the benchmark entry points: --help prints the script's header
// comment, and numeric options are checked against their range (exit 2 with the reason otherwise).

/** Print the `//` comment lines of the script at `scriptUrl` and exit. */
export function printHelpAndExit(scriptUrl: string, readText: (url: URL) => string): never {
  const src = readText(new URL(scriptUrl)).split("\n");
  console.log(
    src
      .filter((l) => l.startsWith("//"))
      .map((l) => l.replace(/^\/\/ ?/, ""))
      .join("\n"),
  );
  process.exit(0);
}

/** `--name` as a number in [min, max] (an integer if asked), or undefined when not given. */
export function numberOption(name: string, v: string | undefined, min: number, max: number, integer = false): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(integer ? Number.isInteger(n) : Number.isFinite(n)) || n < min || n > max) {
    console.error(`--${name} must be ${integer ? "an integer" : "a number"} in [${min}, ${max}], got ${v}`);
    process.exit(2);
  }
  return n;
}

/** Run the entry point and exit with its code; on a crash, print it, clean up (`onCrash`) and exit 1. */
export function runMain(main: () => Promise<number>, onCrash: () => void): void {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      onCrash();
      process.exit(1);
    },
  );
}

// Bundles a TypeScript Worker into one ES module for Miniflare, whose extra workers are not transpiled.
import { buildSync } from "esbuild";

export function bundleWorker(entry: string): string {
  return buildSync({ entryPoints: [entry], bundle: true, format: "esm", write: false, external: ["cloudflare:*"], target: "es2024" })
    .outputFiles[0]!.text;
}

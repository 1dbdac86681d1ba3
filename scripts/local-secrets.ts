// The dev server's own secrets: $SESSION_SECRET / $TWILIO_AUTH_TOKEN when set, otherwise one generated
// on first use and kept in .wrangler/ (beside the local sessions it signs keys for, so their links
// survive a restart). vite.config.ts gives them to the Worker; `npm run operator-key` and
// `npm run phone:sim` read the same ones, so nothing needs setting up by hand.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");

export const LOCAL_SECRETS = {
  /** Signs session keys, stream tokens and the operator key. */
  sessionSecret: { env: "SESSION_SECRET", file: ".wrangler/parley-session-secret", make: () => randomBytes(32).toString("base64url") },
  /** Signs the voice webhook as Twilio would (32 hex characters, like an account's auth token). */
  twilioAuthToken: { env: "TWILIO_AUTH_TOKEN", file: ".wrangler/parley-twilio-auth-token", make: () => randomBytes(16).toString("hex") },
} as const;

export type LocalSecret = keyof typeof LOCAL_SECRETS;

/** The secret from the environment, or the local one (made now if there is none yet). */
export function localSecret(which: LocalSecret): string {
  const s = LOCAL_SECRETS[which];
  const fromEnv = process.env[s.env];
  if (fromEnv) return fromEnv;
  const file = resolve(ROOT, s.file);
  mkdirSync(dirname(file), { recursive: true });
  try {
    writeFileSync(file, `${s.make()}\n`, { mode: 0o600, flag: "wx" });
  } catch (err) {
    // Another dev server made it first: use theirs.
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  return readFileSync(file, "utf8").trim();
}

/** The secret from the environment, or the local one if a dev server made it; null when neither exists. */
export function existingLocalSecret(which: LocalSecret): string | null {
  const s = LOCAL_SECRETS[which];
  const fromEnv = process.env[s.env];
  if (fromEnv) return fromEnv;
  const file = resolve(ROOT, s.file);
  return existsSync(file) ? readFileSync(file, "utf8").trim() : null;
}

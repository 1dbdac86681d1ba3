// `npm start`: the whole local stack in one command. Runs `vite dev` (which, with PARLEY_AI=local,
// the default, also starts the local-ai engine server; see vite.config.ts) in its own process
// group, waits until the app and the engines answer, prints the URL and the active AI backend, and
// on Ctrl-C or SIGTERM drains the sessions (replies in flight stored as cut off by shutdown with what
// was heard, clients' sockets closed with 1001 "going away"; server/restart/drain.ts) and then stops
// the whole process group (vite, workerd, engine server, PocketSphinx decoder).
//
//   npm start                                   offline: local stand-in engines
//   LOCAL_LLM_URL=http://127.0.0.1:11434/v1 LOCAL_LLM_MODEL=llama3.2 npm start    replies from Ollama
//   PARLEY_AI=fake npm start | PARLEY_AI=remote npm start     PORT=5173  LOCAL_AI_PORT=8790
//   LOCAL_LLM_PACING=1 npm start                the offline responder streams with model-like delays (off by default)
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { HealthReport } from "../local-ai/engine-server.ts";
import { DRAIN_PATH, DRAIN_SECRET_HEADER, type DrainResponse } from "../server/restart/drain-contract.ts";
import { applyLocalReviewIndexMigrations } from "./review-index-local.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const backend = (process.env.PARLEY_AI ?? "local").trim().toLowerCase() || "local";
const port = Number(process.env.PORT || 5173);
const localAiPort = Number(process.env.LOCAL_AI_PORT || 8790);
const appUrl = `http://127.0.0.1:${port}/`;
const probeUrl = `${appUrl}api/health`; // any HTTP answer means vite and the Worker are up
const engineUrl = `http://127.0.0.1:${localAiPort}`;
const READY_TIMEOUT_MS = 120_000;
/** The sessions get this long to store what was in flight before the processes are stopped anyway. */
const DRAIN_TIMEOUT_MS = 5_000;
/** The sessions' close frames (1001) pass through vite's WebSocket proxy: give them this long before it stops. */
const CLOSE_FRAMES_MS = 500;
// Only this run's Worker knows it (as DRAIN_SECRET): nothing else can drain the sessions.
const drainSecret = randomBytes(32).toString("hex");

const say = (line = "") => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

if (!["local", "fake", "remote"].includes(backend)) {
  console.error(`PARLEY_AI must be local, fake or remote (got "${process.env.PARLEY_AI}")`);
  process.exit(2);
}

async function get(url: string): Promise<Response | undefined> {
  try {
    return await fetch(url, { signal: AbortSignal.timeout(1500) });
  } catch {
    return undefined;
  }
}

async function engineHealth(): Promise<HealthReport | "foreign" | undefined> {
  const res = await get(`${engineUrl}/health`);
  if (!res) return undefined;
  try {
    const body = (await res.json()) as HealthReport;
    return body.service === "parley-local-ai" ? body : "foreign";
  } catch {
    return "foreign";
  }
}

// Fail early on ports taken by something else (vite's strictPort would also stop, less clearly).
if (await get(appUrl)) {
  console.error(`Port ${port} is already in use (${appUrl} answers). Stop that server or set PORT.`);
  process.exit(1);
}
if (backend === "local" && (await engineHealth()) === "foreign") {
  console.error(`Port ${localAiPort} is in use by something that is not Parley's engine server. Set LOCAL_AI_PORT to a free port.`);
  process.exit(1);
}

// The conversations index (local D1) has its tables before the first session writes to it.
try {
  applyLocalReviewIndexMigrations();
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
}

const viteBin = resolve(dirname(createRequire(import.meta.url).resolve("vite/package.json")), "bin/vite.js");
const child = spawn(process.execPath, [viteBin, "dev"], {
  cwd: root,
  detached: true, // own process group: one kill stops vite, workerd, the engine server and its decoder
  stdio: ["ignore", "inherit", "inherit"],
  env: {
    ...process.env,
    PARLEY_AI: backend,
    PORT: String(port),
    LOCAL_AI_PORT: String(localAiPort),
    PARLEY_DRAIN_SECRET: drainSecret,
    ...(backend === "remote" ? {} : { CLOUDFLARE_CF_FETCH_ENABLED: "false" }),
  },
});
const group = child.pid!;
let exited = false;
const exitedPromise = new Promise<void>((resolveExit) =>
  child.once("exit", () => {
    exited = true;
    resolveExit();
  }),
);

function groupAlive(): boolean {
  try {
    process.kill(-group, 0);
    return true;
  } catch {
    return false;
  }
}

/** Before the processes stop: every session stores what is in flight and tells its clients it is going away. */
async function drain(): Promise<void> {
  say("\nDraining sessions...");
  try {
    const res = await fetch(`${appUrl}${DRAIN_PATH.slice(1)}`, {
      method: "POST",
      headers: { [DRAIN_SECRET_HEADER]: drainSecret },
      signal: AbortSignal.timeout(DRAIN_TIMEOUT_MS),
    });
    if (!res.ok) {
      say(`Drain refused (HTTP ${res.status}); stopping anyway.`);
      return;
    }
    const { sessions, failed } = (await res.json()) as DrainResponse;
    const total = (key: "cutReplies" | "transcribing" | "closed") => sessions.reduce((n, s) => n + s[key], 0);
    say(
      `Drained ${sessions.length} session(s): ${total("cutReplies")} reply(s) cut off and stored with what was heard, ` +
        `${total("transcribing")} utterance(s) kept to transcribe on the next start, ${total("closed")} connection(s) closed (1001).`,
    );
    for (const f of failed) say(`  session ${f.session} did not drain: ${f.error}`);
    if (total("closed") > 0) await sleep(CLOSE_FRAMES_MS);
  } catch (err) {
    say(`Drain did not finish (${err instanceof Error ? err.message : String(err)}); stopping anyway.`);
  }
}

let ready = false;
let stopping = false;
async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    if (ready && !exited) await drain();
    say("Stopping Parley...");
    try {
      process.kill(-group, "SIGTERM");
    } catch {
      /* already gone */
    }
    const deadline = Date.now() + 5000;
    while (groupAlive() && Date.now() < deadline) await sleep(100);
    if (groupAlive()) {
      say("Some processes did not stop in 5 s; killing them.");
      try {
        process.kill(-group, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    await Promise.race([exitedPromise, sleep(1000)]);
  }
  process.exit(code);
}
/** stop() reports a failed drain itself; anything else escaping it still ends this process, saying why. */
function stopInBackground(code: number): void {
  stop(code).catch((err: unknown) => {
    console.error(`Stopping failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, () => stopInBackground(0));
exitedPromise
  .then(() => {
    if (!stopping) {
      console.error(`vite exited (code ${child.exitCode ?? child.signalCode}); stopping.`);
      stopInBackground(child.exitCode || 1);
    }
  })
  .catch((err: unknown) => console.error(err));

// Wait for the app, then (local backend) for the engines.
const started = Date.now();
let health: HealthReport | undefined;
for (;;) {
  if (exited) await new Promise(() => {}); // the exit handler above finishes up
  if (Date.now() - started > READY_TIMEOUT_MS) {
    console.error(`Parley did not become ready within ${READY_TIMEOUT_MS / 1000} s.`);
    await stop(1);
  }
  const app = await get(probeUrl);
  if (app) {
    if (backend !== "local") break;
    const h = await engineHealth();
    if (h && h !== "foreign" && h.ready) {
      health = h;
      break;
    }
  }
  await sleep(250);
}

ready = true;
const seconds = ((Date.now() - started) / 1000).toFixed(1);
say("");
say(`Parley is ready (${seconds} s): ${appUrl}`);
if (backend === "local" && health) {
  const { stt, tts, reply } = health.engines;
  say(`AI backend: local stand-in for Workers AI (PARLEY_AI=local), engine server ${engineUrl}`);
  say(
    `  speech-to-text  ${
      stt.state === "unavailable"
        ? `UNAVAILABLE (${stt.error}); typed text still works. Install: ${stt.install}`
        : `${stt.label} (whisper models: whole utterances; @cf/deepgram/nova-3 live socket: decoded while you speak, up to ${stt.live?.max ?? "?"} at once)`
    }`,
  );
  const paced = reply.pacing
    ? `, paced like a model: ${reply.pacing.firstTokenMs} ms to the first token, ${reply.pacing.tokenMs} ms per token`
    : reply.pacing === null
      ? ", no artificial pacing (LOCAL_LLM_PACING=1 adds it)"
      : "";
  say(
    `  reply           ${reply.label}${reply.label.startsWith("openai-compatible:") ? ` (model ${process.env.LOCAL_LLM_MODEL || "llama3.2"})` : ` (no language model; set LOCAL_LLM_URL, e.g. http://127.0.0.1:11434/v1 for Ollama${paced})`}`,
  );
  say(`  speech          ${tts.label}`);
} else if (backend === "fake") {
  say("AI backend: deterministic fake Workers AI (test/fake-ai, PARLEY_AI=fake)");
} else {
  say("AI backend: real Workers AI (PARLEY_AI=remote; needs `wrangler login` or CLOUDFLARE_API_TOKEN, usage is billed)");
}
say("Press Ctrl-C to stop everything.");

// `npm start` stopped by SIGTERM while a reply is being spoken: scripts/start.ts drains the sessions
// before it stops the processes, so the client's socket closes with 1001 ("going away") and the
// reply is stored as cut off by shutdown with what was heard; started again, the stack still has it
// (and retries it for the next client: test/worker/restart.test.ts). Fake Workers AI, slowed down.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CreatedSession, KEY_SUBPROTOCOL_PREFIX, SESSION_SUBPROTOCOL, ServerMessage } from "../../../shared/protocol.ts";
import { freePort, ROOT } from "../../browser/dev-server.ts";

const READY_TIMEOUT_MS = 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Stack {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started: Stack[] = [];

async function startStack(port: number, cacheDir: string): Promise<Stack> {
  let output = "";
  const child = spawn(process.execPath, ["scripts/start.ts"], {
    cwd: ROOT,
    env: {
      ...process.env,
      PARLEY_AI: "fake",
      PORT: String(port),
      FAKE_LLM_TOKEN_MS: "150", // the reply is still being written when the signal comes
      PARLEY_VITE_CACHE_DIR: cacheDir,
      CLOUDFLARE_CF_FETCH_ENABLED: "false",
      WRANGLER_SEND_METRICS: "false",
      NO_COLOR: "1",
      FORCE_COLOR: "0",
    },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const stack = { child, output: () => output, exited };
  started.push(stack);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!output.includes("Parley is ready")) {
    if (child.exitCode !== null) throw new Error(`npm start exited before it was ready:\n${output}`);
    if (Date.now() > deadline) throw new Error(`npm start not ready after ${READY_TIMEOUT_MS} ms:\n${output}`);
    await sleep(200);
  }
  return stack;
}

afterEach(async () => {
  // A failed test must not leave a stack running: SIGKILL start.ts's group and vite's.
  for (const s of started.splice(0)) {
    if (s.child.exitCode !== null || s.child.signalCode !== null) continue;
    s.child.kill("SIGTERM");
    await Promise.race([s.exited, sleep(10_000)]);
    try {
      process.kill(-s.child.pid!, "SIGKILL");
    } catch {
      // gone
    }
  }
}, 20_000);

describe("npm start and SIGTERM", () => {
  it("SIGTERM drains: a reply being spoken is stored as cut off by shutdown, the client's socket closes with 1001, then npm start exits", async () => {
    const port = await freePort();
    const cacheDir = mkdtempSync(join(tmpdir(), "parley-vite-"));
    const stack = await startStack(port, cacheDir);
    // Minted by the dev server, as the browser client does.
    const { id: session, ownerKey } = CreatedSession.parse(
      await (await fetch(`http://127.0.0.1:${port}/api/sessions`, { method: "POST" })).json(),
    );
    const ws = new WebSocket(`ws://127.0.0.1:${port}/parties/voice-session/${session}`, [
      SESSION_SUBPROTOCOL,
      `${KEY_SUBPROTOCOL_PREFIX}${ownerKey}`,
    ]);
    ws.binaryType = "arraybuffer";
    const events: ServerMessage[] = [];
    ws.addEventListener("message", (e) => {
      if (typeof e.data === "string") events.push(ServerMessage.parse(JSON.parse(e.data)));
    });
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      ws.addEventListener("close", (e) => resolve({ code: e.code, reason: e.reason })),
    );
    const waitFor = async (type: ServerMessage["type"]) => {
      for (let i = 0; i < 200 && !events.some((e) => e.type === type); i++) await sleep(50);
      const hit = events.find((e) => e.type === type);
      if (!hit) throw new Error(`no ${type}; got ${events.map((e) => e.type).join(",")}`);
      return hit;
    };
    await waitFor("ready");
    ws.send(JSON.stringify({ type: "text", text: "Tell me something slowly." }));
    const segment = await waitFor("segment");
    expect(events.some((e) => e.type === "reply-done")).toBe(false);

    stack.child.kill("SIGTERM");
    const close = await closed;
    await stack.exited;
    expect(close, stack.output()).toEqual({ code: 1001, reason: "Parley is restarting" });
    expect(await stack.exited).toEqual({ code: 0, signal: null });
    expect(stack.output()).toContain("Drained 1 session(s): 1 reply(s) cut off and stored with what was heard");

    // Started again on the same local state: the reply is there, cut off by shutdown, waiting for its retry.
    await startStack(port, cacheDir);
    const res = await fetch(`http://127.0.0.1:${port}/api/sessions/${session}`, { headers: { Authorization: `Bearer ${ownerKey}` } });
    // The transcript API's shape (server/transcript/transcript.ts), as far as this test reads it.
    const t = (await res.json()) as { turns: Record<string, unknown>[]; messages: { role: string; status: string }[] };
    expect(t.turns).toHaveLength(1);
    expect(t.turns[0]).toMatchObject({
      replyId: segment.type === "segment" ? segment.replyId : "",
      status: "interrupted",
      endReason: "shutdown",
      retry: "pending",
    });
    expect(t.messages.map((m) => [m.role, m.status])).toEqual([
      ["user", "complete"],
      ["assistant", "interrupted"],
    ]);
  }, 150_000);
});

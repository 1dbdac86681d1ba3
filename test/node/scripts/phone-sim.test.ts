// `npm run phone:sim` against a dev server with the fake Workers AI: a two-turn call whose second turn
// talks over the first reply. The script must sign the webhook with the dev server's own local
// TWILIO_AUTH_TOKEN (nothing set up by hand), print the call as it goes — the caller's and the
// assistant's lines, the clear — with the number masked, and save what the caller heard as a WAV.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseWav } from "../../../shared/audio/wav.ts";
import { ROOT, startDevServer, type DevServer } from "../../browser/dev-server.ts";

let server: DevServer;

beforeAll(async () => {
  // The fake hears the first utterance as a request and the second as words that are no echo of the reply, so they interrupt it.
  server = await startDevServer({ ai: "fake", env: { FAKE_STT_TRANSCRIPTS: "Tell me a long story.|Stop, something else please." } });
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", "scripts/phone-sim.ts", ...args], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: "1" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("npm run phone:sim", () => {
  it("calls the dev server like Twilio, prints the call (turns, the barge-in's clear, the cut reply) with the number masked, and saves what was heard as a WAV", async () => {
    const caller = `+1415${String(Math.floor(Math.random() * 1e7)).padStart(7, "0")}`;
    const out = join(mkdtempSync(join(tmpdir(), "parley-phone-sim-")), "heard.wav");
    const r = await run(["--url", server.url, "--caller", caller, "--barge-in-at", "1500", "--out", out]);
    const context = `${r.stdout}\n${r.stderr}\n--- server ---\n${server.output().slice(-3000)}`;
    expect(r.code, context).toBe(0);
    const lines = r.stdout.split("\n");
    const at = (pattern: RegExp) => lines.findIndex((l) => pattern.test(l));

    // Every event line is stamped with seconds since the call started.
    expect(at(/^\[\s*\d+\.\d\d\] call connected$/), context).toBeGreaterThanOrEqual(0);
    expect(at(/assistant ▶ audio \(greeting\)/), context).toBeGreaterThan(at(/call connected/));
    const firstTurn = at(/caller: "Tell me a long story\."/);
    const clear = at(/assistant ■ clear: \d+ ms of buffered audio dropped unplayed/);
    const secondTurn = at(/caller: "Stop, something else please\."/);
    expect(firstTurn, context).toBeGreaterThan(0);
    expect(clear, context).toBeGreaterThan(firstTurn);
    expect(secondTurn, context).toBeGreaterThan(firstTurn);
    // The first reply is printed as planned, then again as cut to what the caller heard before the clear.
    const cut = lines.find((l) =>
      /\(now\) assistant: "I heard you say: Tell me a long story\..*\[cut off: heard up to here of \d+ characters planned\]/.test(l),
    );
    expect(cut, context).toBeDefined();
    expect(
      lines.some((l) => /assistant: "I heard you say: Stop, something else please\./.test(l)),
      context,
    ).toBe(true);
    const masked = `+1${"•".repeat(6)}${caller.slice(-4)}`;
    expect(r.stdout).toContain(`Calling ${server.url} from ${masked}`);
    expect(r.stdout).toMatch(new RegExp(`call: \\+1•+${caller.slice(-4)}, \\d+\\.\\d s, ended by stop, cost \\$\\d`));
    expect(r.stdout).not.toContain(caller.slice(2));

    // The WAV holds what the caller heard: 8 kHz mono, the greeting and both replies (the first one cut), not silence.
    const heardMs = Number(/heard: (\d+) ms of the assistant/.exec(r.stdout)?.[1]);
    const wav = parseWav(readFileSync(out));
    expect(wav.sampleRate).toBe(8000);
    expect(wav.channels).toBe(1);
    expect(Math.abs(wav.durationMs - heardMs)).toBeLessThan(1);
    expect(wav.durationMs).toBeGreaterThan(4_000);
    let peak = 0;
    for (const s of wav.pcm) peak = Math.max(peak, Math.abs(s));
    expect(peak).toBeGreaterThan(3_000);
    expect(r.stdout).toMatch(/[1-9]\d* frame\(s\) dropped by 1 clear\(s\)/);
  }, 120_000);

  it("tells the user what is wrong when no server answers", async () => {
    const r = await run(["--url", "http://127.0.0.1:9", "--out", join(tmpdir(), "never.wav")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("does not answer");
    expect(r.stderr).toContain("npm start");
  });
});

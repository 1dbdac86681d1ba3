// The whole stack, offline, started the way `npm start` does it: scripts/start.ts runs `vite dev`
// with PARLEY_AI=local, so the server Worker and its VoiceSession Durable Object run in workerd and
// their `env.AI.run(...)` goes through the local-ai Worker to the Node engine server (PocketSphinx,
// offline responder, flite). A WebSocket client speaks a fixture in real time and types a turn,
// and checks what comes back against the wire protocol (shared/protocol.md). Afterwards Ctrl-C
// (SIGTERM to start.ts) must leave no process behind: vite, workerd, engine server, decoder.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseWav } from "../../../shared/audio/wav.ts";
import {
  CreatedSession,
  KEY_SUBPROTOCOL_PREFIX,
  PROTOCOL_VERSION,
  SESSION_SUBPROTOCOL,
  ServerMessage,
  UPSTREAM_AUDIO,
  type SegmentEvent,
  type ServerEvent,
} from "../../../shared/protocol.ts";
import type { HealthReport } from "../../../local-ai/engine-server.ts";
import { JOKE, STAND_IN } from "../../../local-ai/engines/offline-responder.ts";
import { freePort, ROOT } from "../../browser/dev-server.ts";

const FIXTURE = resolve(ROOT, "test/fixtures/what-is-the-weather.wav"); // "What is the weather like today?"
const FRAME_SAMPLES = (UPSTREAM_AUDIO.sampleRate * UPSTREAM_AUDIO.frameMs) / 1000; // 320 samples, 640 bytes
const EXTRA_SILENCE_MS = 800; // after the fixture's own 600 ms, so the server's VAD ends the turn
const READY_TIMEOUT_MS = 60_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// The stack under test, and the processes it starts.

let start: ChildProcess | undefined;
let output = "";
let appUrl = "";
let engineUrl = "";
let health: HealthReport | undefined;
/** Every process started under start.ts (pid -> command line), recorded once the stack is up. */
let tree = new Map<number, string>();

interface ProcInfo {
  ppid: number;
  pgid: number;
  zombie: boolean;
}

function processTable(): Map<number, ProcInfo> {
  const table = new Map<number, ProcInfo>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
      const [state, ppid, pgid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      table.set(Number(name), { ppid: Number(ppid), pgid: Number(pgid), zombie: state === "Z" });
    } catch {
      // exited while we looked
    }
  }
  return table;
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
  } catch {
    return "";
  }
}

/** `root` and all its descendants that are still running, with their command lines. */
function descendants(root: number): Map<number, string> {
  const table = processTable();
  const found = new Map<number, string>();
  const queue = [root];
  while (queue.length) {
    const pid = queue.shift()!;
    const info = table.get(pid);
    if (!info || info.zombie) continue;
    found.set(pid, commandLine(pid));
    for (const [child, c] of table) if (c.ppid === pid) queue.push(child);
  }
  return found;
}

function alive(pids: Iterable<number>): number[] {
  const table = processTable();
  return [...pids].filter((pid) => {
    const info = table.get(pid);
    return info !== undefined && !info.zombie;
  });
}

/** Ctrl-C: SIGTERM to start.ts, which stops vite's process group. Returns what is still running after `graceMs`. */
async function stopStack(graceMs: number): Promise<Map<number, string>> {
  if (!start?.pid) return new Map();
  const known = new Map([...tree, ...descendants(start.pid)]);
  try {
    process.kill(start.pid, "SIGTERM");
  } catch {
    // already gone
  }
  const deadline = Date.now() + graceMs;
  while (alive(known.keys()).length && Date.now() < deadline) await sleep(100);
  return new Map(alive(known.keys()).map((pid) => [pid, known.get(pid)!]));
}

/** Last resort (a failed test, a hung shutdown): SIGKILL every process group and process we started. */
function killEverything(): void {
  const known = start?.pid ? new Map([...tree, ...descendants(start.pid)]) : tree;
  const table = processTable();
  const groups = new Set([...known.keys()].map((pid) => table.get(pid)?.pgid).filter((g): g is number => g !== undefined && g > 1));
  if (start?.pid) groups.add(start.pid);
  for (const group of groups) {
    try {
      process.kill(-group, "SIGKILL");
    } catch {
      // gone
    }
  }
  for (const pid of known.keys()) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
}

async function get(url: string): Promise<Response | undefined> {
  try {
    return await fetch(url, { signal: AbortSignal.timeout(2000) });
  } catch {
    return undefined;
  }
}

beforeAll(async () => {
  const [port, localAiPort] = [await freePort(), await freePort()];
  appUrl = `http://127.0.0.1:${port}`;
  engineUrl = `http://127.0.0.1:${localAiPort}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PARLEY_AI: "local",
    PORT: String(port),
    PARLEY_VITE_CACHE_DIR: mkdtempSync(join(tmpdir(), "parley-vite-")),
    LOCAL_AI_PORT: String(localAiPort),
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    WRANGLER_SEND_METRICS: "false",
    NO_COLOR: "1",
    FORCE_COLOR: "0",
  };
  delete env.LOCAL_LLM_URL; // the offline responder, whatever this machine's shell has set
  start = spawn(process.execPath, ["scripts/start.ts"], {
    cwd: ROOT,
    env,
    detached: true, // start.ts in a group of its own; it puts vite in another one
    stdio: ["ignore", "pipe", "pipe"],
  });
  start.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  start.stderr!.on("data", (d: Buffer) => (output += d.toString()));

  const child = start;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  try {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`npm start exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output}`);
      if (Date.now() > deadline) throw new Error(`npm start not ready after ${READY_TIMEOUT_MS} ms:\n${output}`);
      if (output.includes("Parley is ready")) {
        const app = await get(`${appUrl}/api/health`);
        const engines = (await (await get(`${engineUrl}/health`))?.json()) as HealthReport | undefined;
        if (app?.ok && engines?.service === "parley-local-ai" && engines.ready) {
          health = engines;
          break;
        }
      }
      await sleep(200);
    }
    tree = descendants(child.pid!);
  } catch (err) {
    if ((await stopStack(5000)).size) killEverything();
    throw err;
  }
}, READY_TIMEOUT_MS + 10_000);

afterAll(async () => {
  const left = await stopStack(8000);
  if (left.size) killEverything();
}, 15_000);

// ---------------------------------------------------------------------------------------------
// A protocol-checking WebSocket client.

interface Segment {
  header: SegmentEvent;
  audio: Uint8Array;
}

class Client {
  readonly events: ServerMessage[] = [];
  readonly segments: Segment[] = [];
  /** Violations of the wire protocol seen so far (checked at the end of each test). */
  readonly problems: string[] = [];
  private pending: SegmentEvent | null = null;
  private waiters: { test: (e: ServerMessage) => boolean; resolve: (e: ServerMessage) => void }[] = [];

  readonly ws: WebSocket;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.binaryType = "arraybuffer";
    ws.addEventListener("message", (m: MessageEvent) => this.onMessage(m.data as string | ArrayBuffer));
  }

  static async connect(url: string, protocols: string[]): Promise<Client> {
    const client = new Client(new WebSocket(url, protocols));
    await new Promise<void>((ok, fail) => {
      client.ws.addEventListener("open", () => ok(), { once: true });
      client.ws.addEventListener("error", () => fail(new Error(`WebSocket to ${url} failed`)), { once: true });
    });
    return client;
  }

  private onMessage(data: string | ArrayBuffer): void {
    if (typeof data !== "string") {
      if (!this.pending) this.problems.push(`binary frame of ${data.byteLength} bytes without a segment header`);
      else {
        if (data.byteLength !== this.pending.bytes)
          this.problems.push(`segment ${this.pending.index} announced ${this.pending.bytes} bytes, got ${data.byteLength}`);
        this.segments.push({ header: this.pending, audio: new Uint8Array(data) });
      }
      this.pending = null;
      return;
    }
    const parsed = ServerMessage.safeParse(JSON.parse(data));
    if (!parsed.success) {
      this.problems.push(`not a protocol message: ${data.slice(0, 200)}`);
      return;
    }
    const event = parsed.data;
    if (this.pending) this.problems.push(`${event.type} arrived where segment ${this.pending.index}'s audio was due`);
    if (event.type === "segment") this.pending = event;
    this.events.push(event);
    this.waiters = this.waiters.filter((w) => {
      if (!w.test(event)) return true;
      w.resolve(event);
      return false;
    });
  }

  /** The first event (already received or still to come) of `type` that passes `test`. */
  waitFor<T extends ServerMessage["type"]>(
    type: T,
    test: (e: ServerEvent<T>) => boolean = () => true,
    timeoutMs = 30_000,
  ): Promise<ServerEvent<T>> {
    const match = (e: ServerMessage): e is ServerEvent<T> => e.type === type && test(e as ServerEvent<T>);
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(`no ${type} event within ${timeoutMs} ms; got: ${this.events.map((e) => e.type).join(", ")}\n${output.slice(-3000)}`),
        );
      }, timeoutMs);
      this.waiters.push({
        test: match,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e as ServerEvent<T>);
        },
      });
    });
  }

  send(message: object): void {
    this.ws.send(JSON.stringify(message));
  }

  /** Send PCM16 in 20 ms frames at real-time pace, as the browser's capture worklet does. */
  async stream(pcm: Int16Array): Promise<void> {
    const started = performance.now();
    for (let i = 0, n = 0; i < pcm.length; i += FRAME_SAMPLES, n++) {
      const wait = started + n * UPSTREAM_AUDIO.frameMs - performance.now();
      if (wait > 0) await sleep(wait);
      this.ws.send(pcm.slice(i, i + FRAME_SAMPLES).buffer);
    }
  }

  /** The reply that answers `transcript`: the one the "thinking" state that opened its turn names. */
  replyIdOf(transcript: ServerEvent<"transcript">): string {
    const opened = this.events.slice(0, this.events.indexOf(transcript)).findLast((e) => e.type === "state" && e.state === "thinking");
    if (opened?.type !== "state" || !opened.replyId)
      throw new Error(`no "thinking" state with a replyId before transcript ${transcript.turnId}`);
    return opened.replyId;
  }

  /** Everything one reply produced. */
  reply(replyId: string) {
    const of = <T extends ServerMessage["type"]>(type: T) =>
      this.events.filter((e): e is ServerEvent<T> => e.type === type && "replyId" in e && e.replyId === replyId);
    return {
      deltas: of("reply-delta")
        .map((e) => e.text)
        .join(""),
      segments: this.segments.filter((s) => s.header.replyId === replyId),
      errors: of("error"),
    };
  }

  close(): void {
    this.ws.close();
  }
}

/**
 * Waits for the reply to `transcript` and checks it: complete, from `backend`, its text streamed
 * as reply-delta events, and spoken as WAV segments in index order, each the announced number of
 * bytes and a WAV the server's own parser reads. No protocol violations on the way.
 */
async function completeSpokenReply(c: Client, transcript: ServerEvent<"transcript">, backend: RegExp): Promise<ServerEvent<"reply-done">> {
  const replyId = c.replyIdOf(transcript);
  const done = await c.waitFor("reply-done", (e) => e.replyId === replyId);
  const { deltas, segments, errors } = c.reply(replyId);
  expect(errors).toEqual([]);
  expect(done.status).toBe("complete");
  expect(done.backend).toMatch(backend);
  // Answers from the local stand-in are not billed by Workers AI.
  expect(done.usage).toMatchObject({ neurons: 0, usd: 0 });
  expect(done.usage.ttsCharacters).toBeGreaterThan(0);
  expect(deltas.trim().length).toBeGreaterThan(0);
  expect(done.text.trim()).toBe(deltas.trim());
  expect(segments.length).toBeGreaterThan(0);
  segments.forEach((s, i) => {
    expect(s.header.index).toBe(i);
    expect(s.header.container).toBe("wav");
    expect(s.audio.byteLength).toBe(s.header.bytes);
    const wav = parseWav(s.audio);
    expect(wav.sampleRate).toBe(s.header.sampleRate);
    expect(wav.channels).toBe(s.header.channels);
    expect(wav.durationMs).toBeGreaterThan(200);
    expect(Math.abs(wav.durationMs - s.header.durationMs)).toBeLessThan(50);
  });
  // As a browser does once the reply has played out: the server keeps it `speaking` until then.
  const last = segments[segments.length - 1]!.header;
  c.send({ type: "playback", replyId, segment: last.index, playedMs: last.durationMs, state: "finished" });
  const heard = await c.waitFor("reply-heard", (e) => e.replyId === replyId);
  expect(heard).toMatchObject({ status: "complete", endReason: "completed", text: done.text });
  expect(c.problems).toEqual([]);
  return done;
}

// reply-done's `backend` lists the `engine` marks of every stand-in answer in the turn.
const SPEECH_BACKEND = /^local stand-in \((?=.*\bflite\/slt\b)(?=.*\boffline-responder\b).*\)$/;
const VOICE_BACKEND = /^local stand-in \((?=.*\bflite\/slt\b)(?=.*\boffline-responder\b)(?=.*\bpocketsphinx\/generic\b).*\)$/;

// ---------------------------------------------------------------------------------------------

describe("offline conversation through the whole stack (npm start: Worker + Durable Object + local stand-in)", () => {
  // Minted by the dev server on first use, as the browser client does (POST /api/sessions).
  let sessionId = "";
  let ownerKey = "";
  let client: Client | undefined;
  afterAll(() => client?.close());

  /** One connection for the conversation, opened by whichever test needs it first. */
  async function session(): Promise<Client> {
    if (client) return client;
    const res = await fetch(`${appUrl}/api/sessions`, { method: "POST" });
    expect(res.status).toBe(201);
    ({ id: sessionId, ownerKey } = CreatedSession.parse(await res.json()));
    const c = await Client.connect(`${appUrl.replace("http", "ws")}/parties/voice-session/${sessionId}`, [
      SESSION_SUBPROTOCOL,
      `${KEY_SUBPROTOCOL_PREFIX}${ownerKey}`,
    ]);
    client = c;
    const ready = await c.waitFor("ready");
    expect(ready).toMatchObject({ protocol: PROTOCOL_VERSION, sessionId, history: [] });
    c.send({ type: "start", protocol: PROTOCOL_VERSION, mode: "hands-free", language: "en" });
    await c.waitFor("state");
    return c;
  }

  it("npm start reports the local engines", () => {
    const stt = health!.engines.stt;
    expect(stt.state, `PocketSphinx is not usable (${stt.error}); install it with: ${stt.install}`).toBe("ready");
    expect(output).toContain(`Parley is ready`);
    expect(output).toContain("AI backend: local stand-in for Workers AI (PARLEY_AI=local)");
    expect(output).toMatch(/speech-to-text\s+pocketsphinx\/generic/);
    const commands = [...tree.values()].join("\n");
    for (const part of ["vite.js dev", "workerd", "local-ai/engine-server.ts", "pocketsphinx_worker.py"]) expect(commands).toContain(part);
  });

  it("a spoken turn: transcript, streamed reply, WAV segments, reply-done from the local stand-in", async () => {
    const c = await session();
    const speech = parseWav(readFileSync(FIXTURE)).pcm;
    const silence = new Int16Array((UPSTREAM_AUDIO.sampleRate * EXTRA_SILENCE_MS) / 1000);
    const audio = new Int16Array(speech.length + silence.length);
    audio.set(speech);
    await c.stream(audio);

    const transcript = await c.waitFor("transcript", (e) => e.source === "voice");
    expect(transcript.text.toLowerCase()).toContain("weather");
    const done = await completeSpokenReply(c, transcript, VOICE_BACKEND);
    // No language model offline: the responder says so, and what it heard.
    expect(done.text).toContain(STAND_IN);
    expect(done.text.toLowerCase()).toContain("weather");
    expect(done.metrics.firstAudioMs).not.toBeNull();
  }, 40_000);

  it("a typed turn gets a spoken reply too", async () => {
    const c = await session();
    c.send({ type: "text", text: "tell me a joke" });
    const transcript = await c.waitFor("transcript", (e) => e.source === "text");
    expect(transcript.text).toBe("tell me a joke");
    const done = await completeSpokenReply(c, transcript, SPEECH_BACKEND);
    expect(done.text.trim()).toBe(JOKE);
  }, 30_000);

  it("the Durable Object stored both turns (GET /api/sessions/<id>)", async () => {
    const record = (await (
      await fetch(`${appUrl}/api/sessions/${sessionId}`, { headers: { Authorization: `Bearer ${ownerKey}` } })
    ).json()) as {
      messages: { role: string; source: string; status: string }[];
      turns: { backend: string | null }[];
    };
    expect(record.messages.map((m) => `${m.role}/${m.source}/${m.status}`)).toEqual([
      "user/voice/complete",
      "assistant/voice/complete",
      "user/text/complete",
      "assistant/voice/complete",
    ]);
    expect(record.turns.map((t) => t.backend)).toEqual([expect.stringMatching(VOICE_BACKEND), expect.stringMatching(SPEECH_BACKEND)]);
  }, 30_000);

  it("Ctrl-C stops everything it started: no vite, workerd, engine server or decoder left", async () => {
    client?.close();
    const left = await stopStack(10_000);
    expect([...left.values()]).toEqual([]);
    expect(output).toContain("Stopping Parley");
  }, 15_000);
});

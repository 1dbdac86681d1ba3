// The phone rows of `npm run bench` (`--phone-only` runs only them): what the phone path (server/phone/)
// adds over the browser path, and how fast a barge-in clears Twilio's buffer. One workerd, the bench
// fake Workers AI with its fixed latencies (the browser's melotts and the phone's Aura linear16 answer
// after the same time), the overhead phases' end of turn (fixed silence, BASELINE_TURN_VARS), no greeting.
// Browser calls and phone calls alternate, one at a time, so both see the same machine.
//
// - browser: send of the frame on which the server's detector ends the turn -> arrival of the first
//   segment's audio (binary) at a browser client (the `ws` package, PCM16 frames, as bench/harness/client.ts).
// - phone: send of the `media` message on which the server's detector ends the turn -> arrival of the
//   first `media` message of the reply at a fake Twilio client (test/support/fake-twilio.ts plays it,
//   echoes marks, honours clear). Which message ends the turn is found before the run by passing the
//   fixture through what the phone path does (16 -> 8 kHz, μ-law, the session's InboundAudio) into the
//   server's TurnDetector, as bench/harness/fixtures.ts does for the browser's frames.
// - overhead: phone p50 - browser p50 (and p95 - p95).
// - keypad barge-in: send of `dtmf` 0 while a reply plays -> arrival of `clear` (client clock).
// - spoken barge-in: the session confirming the interruption (its `decidedAt`, epoch ms, from the
//   transcript) -> arrival of `clear` (epoch ms, same machine clock): the fixture spoken over a reply.
import { randomBytes } from "node:crypto";
import { loadavg } from "node:os";
import WebSocket from "ws";
import { Resampler } from "../../shared/audio/resampler.ts";
import { PROTOCOL_VERSION } from "../../shared/protocol.ts";
import { bytesToBase64 } from "../../shared/base64.ts";
import { encodeMulaw } from "../../shared/audio/g711.ts";
import { float32ToInt16, int16ToFloat32 } from "../../shared/audio/pcm.ts";
import { InboundAudio } from "../../server/phone/inbound-audio.ts";
import { MULAW_SILENCE } from "../../server/phone/outbound-audio.ts";
import { PHONE_AUDIO } from "../../server/phone/twilio-media.ts";
import { twilioSignature } from "../../server/phone/twilio-signature.ts";
import { DEFAULT_TURN_DETECTION, TurnDetector } from "../../server/turn-detection/turn-detector.ts";
import { FakeTwilioCall, parseStreamTwiml, voiceWebhookForm } from "../../test/support/fake-twilio.ts";
import { dist, type Dist } from "./analyze.ts";
import { FRAME_BYTES, FRAME_MS, loadFixtures, type Fixture } from "./fixtures.ts";
import { DEFAULT_LATENCIES, type FakeLatencies } from "./latency-model.ts";
import { machineBusyOver } from "./proc.ts";
import { BASELINE_TURN_VARS, sessionTarget, startSystem, type SystemUnderTest } from "./server.ts";
import { benchSession, ownerAuthorization } from "./session-access.ts";

export interface PhoneBenchOptions {
  /** Calls of each kind (a browser session, then a phone call), one at a time. */
  calls: number;
  /** Turns per call; on the phone every turn's reply is then interrupted (spoken and keypad alternately). */
  turnsPerCall: number;
  silenceMs: number;
  latencies: FakeLatencies;
  warmup: boolean;
  signal?: AbortSignal;
  log(line: string): void;
}

export const DEFAULT_PHONE_OPTIONS: PhoneBenchOptions = {
  calls: 5,
  turnsPerCall: 4,
  silenceMs: 500,
  latencies: DEFAULT_LATENCIES,
  warmup: true,
  log: (l) => console.error(l),
};

/** Targets of issue 12. */
export const PHONE_TARGETS = { overheadP50Ms: 10, clearP99Ms: 50 };

export interface PhoneBenchResult {
  version: 1;
  kind: "phone";
  startedAt: string;
  durationMs: number;
  node: string;
  workerdVersion: string;
  machineBusyBeforePct: number;
  /** 1-, 5- and 15-minute load averages when the run started. */
  loadAverage: number[];
  options: Omit<PhoneBenchOptions, "signal" | "log">;
  /** End of turn (turn-ending frame sent) -> first segment's audio at the browser client. */
  browserFirstAudioMs: Dist;
  /** End of turn (turn-ending media message sent) -> first outgoing media message at the phone client. */
  phoneFirstMediaMs: Dist;
  overheadP50Ms: number;
  overheadP95Ms: number;
  /** dtmf 0 sent -> clear received. */
  keypadClearMs: Dist;
  /** Interruption confirmed in the session (decidedAt) -> clear received. */
  spokenClearMs: Dist;
  incomplete: string[];
}

const LEAD_SILENCE_FRAMES = 60;
const TURN_TIMEOUT_MS = 10_000;
/** A reply plays this long before the caller interrupts it. */
const BARGE_IN_AFTER_MS = 300;
const QUIET_MS = 500;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(test: () => boolean, timeoutMs: number, what: string, signal?: AbortSignal): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!test()) {
    if (signal?.aborted) throw new Error("interrupted");
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

/**
 * A microphone paced by the clock: one frame every 20 ms (absolute schedule), queued frames first,
 * silence otherwise, as a browser microphone in hands-free mode and Twilio's inbound track both send.
 */
class PacedMic {
  readonly #send: (frame: Uint8Array) => void;
  readonly #silence: Uint8Array;
  #queue: { frame: Uint8Array; onSent?: (t: number) => void }[] = [];
  #t0 = 0;
  #n = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(send: (frame: Uint8Array) => void, silence: Uint8Array) {
    this.#send = send;
    this.#silence = silence;
  }

  start(): void {
    this.#t0 = performance.now();
    this.#tick();
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Queue `frames`; resolves with the send time of frames[markIndex]. */
  play(frames: Uint8Array[], markIndex: number): Promise<number> {
    return new Promise((resolve) => {
      frames.forEach((frame, i) => this.#queue.push(i === markIndex ? { frame, onSent: resolve } : { frame }));
    });
  }

  /** Queue `frames` to be sent in turn, when nothing waits for their send time. */
  queue(frames: Uint8Array[]): void {
    for (const frame of frames) this.#queue.push({ frame });
  }

  get busy(): boolean {
    return this.#queue.length > 0;
  }

  #tick = (): void => {
    for (let now = performance.now(); this.#t0 + this.#n * FRAME_MS <= now; this.#n++) {
      const item = this.#queue.shift();
      const t = performance.now();
      this.#send(item?.frame ?? this.#silence);
      item?.onSent?.(t);
    }
    this.#timer = setTimeout(this.#tick, Math.max(0, this.#t0 + this.#n * FRAME_MS - performance.now()));
  };
}

interface PhoneFixture {
  /** 160-byte μ-law payloads of the fixture, then silence up to and past the turn end. */
  payloads: Uint8Array[];
  /** Index in `payloads` of the message on which the session's detector ends the turn. */
  turnEndPayload: number;
}

/** The fixture as the caller's Twilio sends it, and which payload ends the turn on the phone path. */
export function phoneFixture(f: Fixture, silenceMs: number): PhoneFixture {
  const pcm16k = new Int16Array(f.bytes.buffer, f.bytes.byteOffset, f.bytes.byteLength / 2);
  const mulaw = encodeMulaw(float32ToInt16(Resampler.convert(int16ToFloat32(pcm16k), 16_000, PHONE_AUDIO.sampleRate)));
  const n = PHONE_AUDIO.frameBytes;
  const trail = Math.ceil(silenceMs / FRAME_MS) + 50;
  const payloads: Uint8Array[] = [];
  for (let i = 0; i < mulaw.length; i += n) {
    const p = new Uint8Array(n).fill(MULAW_SILENCE);
    p.set(mulaw.subarray(i, i + n));
    payloads.push(p);
  }
  for (let i = 0; i < trail; i++) payloads.push(new Uint8Array(n).fill(MULAW_SILENCE));
  // What the session does with them: InboundAudio (8 -> 16 kHz, 20 ms frames) into its TurnDetector.
  const inbound = new InboundAudio();
  const detector = new TurnDetector({ ...DEFAULT_TURN_DETECTION, silenceMs });
  const silence = new Uint8Array(n).fill(MULAW_SILENCE);
  let turnEndPayload = -1;
  let turns = 0;
  for (let i = -LEAD_SILENCE_FRAMES; i < payloads.length; i++) {
    for (const frame of inbound.push(i < 0 ? silence : payloads[i]!)) {
      for (const ev of detector.push(frame, "hands-free")) {
        if (ev.type !== "turn-end") continue;
        turns++;
        if (turnEndPayload < 0) turnEndPayload = i;
      }
    }
  }
  if (turns !== 1 || turnEndPayload < 0) throw new Error(`${f.name}: expected one turn on the phone path, got ${turns}`);
  return { payloads: payloads.slice(0, turnEndPayload + 5), turnEndPayload };
}

function frameChunks(bytes: Buffer): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += FRAME_BYTES) frames.push(bytes.subarray(i, i + FRAME_BYTES));
  return frames;
}

async function open(url: string, protocols?: string[]): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols, { perMessageDeflate: false });
  await new Promise<void>((ok, fail) => {
    ws.once("open", () => ok());
    ws.once("error", fail);
  });
  return ws;
}

/** One browser session of `turns` turns: the end-of-turn -> first segment audio times. */
async function browserCall(sut: SystemUnderTest, fixture: Fixture, turns: number, signal?: AbortSignal): Promise<number[]> {
  const session = await benchSession();
  const target = sessionTarget(sut, session);
  const ws = new WebSocket(target.url, target.protocols, { perMessageDeflate: false });
  let ready = false;
  let replyId: string | null = null;
  let firstAudio: number | null = null;
  let awaitingAudio = false;
  let done = false;
  let lastSegment: { index: number; durationMs: number } | null = null;
  ws.on("message", (data: Buffer, isBinary: boolean) => {
    const t = performance.now();
    if (isBinary) {
      if (awaitingAudio) {
        firstAudio = t;
        awaitingAudio = false;
      }
      return;
    }
    const msg = JSON.parse(data.toString()) as { type: string; replyId?: string; index?: number; durationMs?: number };
    if (msg.type === "ready") ready = true;
    else if (msg.type === "segment" && msg.replyId === replyId) {
      if (msg.index === 0 && firstAudio === null) awaitingAudio = true;
      lastSegment = { index: msg.index!, durationMs: msg.durationMs! };
    } else if (msg.type === "state" && typeof msg.replyId === "string" && replyId === null) replyId = msg.replyId;
    else if (msg.type === "reply-done" && msg.replyId === replyId) {
      done = true;
      // Heard to its end at once: the session closes the turn before the next one.
      if (lastSegment)
        ws.send(
          JSON.stringify({ type: "playback", replyId, segment: lastSegment.index, playedMs: lastSegment.durationMs, state: "finished" }),
        );
    }
  });
  await until(() => ready, 10_000, "ready", signal);
  ws.send(JSON.stringify({ type: "start", protocol: PROTOCOL_VERSION, mode: "hands-free", language: "en" }));
  const silence = new Uint8Array(FRAME_BYTES);
  const mic = new PacedMic((f) => ws.send(f), silence);
  mic.start();
  const samples: number[] = [];
  try {
    const frames = frameChunks(fixture.bytes);
    const trail = Math.max(0, fixture.turnEndFrame + 5 - frames.length);
    for (let turn = 0; turn < turns; turn++) {
      replyId = null;
      firstAudio = null;
      done = false;
      const script = [
        ...Array.from({ length: LEAD_SILENCE_FRAMES }, () => silence),
        ...frames,
        ...Array.from({ length: trail }, () => silence),
      ];
      const tEnd = await mic.play(script, LEAD_SILENCE_FRAMES + fixture.turnEndFrame);
      await until(() => done, TURN_TIMEOUT_MS, "the browser reply", signal);
      if (firstAudio !== null) samples.push(firstAudio - tEnd);
    }
  } finally {
    mic.stop();
    ws.close();
  }
  return samples;
}

/** One phone call: each turn's end-of-turn -> first media time, then its reply interrupted (spoken on even turns, keypad on odd). */
interface PhoneSamples {
  firstMedia: number[];
  keypad: number[];
  /** Epoch ms at which each spoken barge-in's clear arrived. */
  spokenClearsAt: number[];
  sessionId: string;
}

async function phoneCall(
  sut: SystemUnderTest,
  authToken: string,
  fixture: PhoneFixture,
  turns: number,
  out: PhoneSamples,
  signal?: AbortSignal,
): Promise<void> {
  const webhook = new URL("/phone/voice", sut.url).href;
  const callSid = `CA${randomBytes(16).toString("hex")}`;
  const from = `+1555${String(Math.floor(Math.random() * 1e7)).padStart(7, "0")}`;
  const form = voiceWebhookForm({ callSid, from });
  const res = await fetch(webhook, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": await twilioSignature(authToken, webhook, form) },
    body: new URLSearchParams(form).toString(),
  });
  if (!res.ok) throw new Error(`voice webhook: ${res.status} ${await res.text()}`);
  const twiml = parseStreamTwiml(await res.text());
  const ws = await open(twiml.url);
  const call = new FakeTwilioCall({ send: (text) => ws.readyState === WebSocket.OPEN && ws.send(text), callSid });
  let firstMediaAt: number | null = null;
  let clearAt: number | null = null;
  let lastMediaAt = 0;
  ws.on("message", (data: Buffer) => {
    const t = performance.now();
    const text = data.toString();
    // Cheaper than parsing every media message before the timestamp is taken.
    if (text.startsWith('{"event":"media"')) {
      lastMediaAt = t;
      firstMediaAt ??= t;
    } else if (text.startsWith('{"event":"clear"')) clearAt ??= t;
    call.onMessage(text);
  });
  call.start(twiml.parameters);
  const silence = new Uint8Array(PHONE_AUDIO.frameBytes).fill(MULAW_SILENCE);
  let chunk = 0;
  const mic = new PacedMic((payload) => {
    chunk++;
    ws.send(
      JSON.stringify({
        event: "media",
        sequenceNumber: String(chunk + 1),
        streamSid: call.streamSid,
        media: { track: "inbound", chunk: String(chunk), timestamp: String(chunk * 20), payload: bytesToBase64(payload) },
      }),
    );
  }, silence);
  mic.start();
  const quiet = () => call.mediaReceived - call.played.length - call.dropped <= 0 && performance.now() - lastMediaAt > QUIET_MS;
  out.sessionId = twiml.url.split("/").pop()!;
  try {
    for (let turn = 0; turn < turns; turn++) {
      await until(quiet, TURN_TIMEOUT_MS, "the line to fall quiet", signal);
      firstMediaAt = null;
      clearAt = null;
      const script = [...Array.from({ length: LEAD_SILENCE_FRAMES }, () => silence), ...fixture.payloads];
      const tEnd = await mic.play(script, LEAD_SILENCE_FRAMES + fixture.turnEndPayload);
      await until(() => firstMediaAt !== null && firstMediaAt > tEnd, TURN_TIMEOUT_MS, "the phone reply", signal);
      out.firstMedia.push(firstMediaAt! - tEnd);
      await sleep(BARGE_IN_AFTER_MS);
      if (turn % 2 === 1) {
        const pressed = performance.now();
        call.dtmf("0");
        await until(() => clearAt !== null, 2_000, "clear after keypad 0", signal);
        out.keypad.push(clearAt! - pressed);
      } else {
        // Speak over the reply (the fixture's speech, no lead silence); the session confirms it from the words.
        mic.queue(fixture.payloads);
        await until(() => clearAt !== null, TURN_TIMEOUT_MS, "clear after speech over the reply", signal);
        out.spokenClearsAt.push(performance.timeOrigin + clearAt!);
        // The interruption is the caller's next turn: its reply is cut too (keypad, not measured).
        const before = call.received.filter((r) => r.message.event === "clear").length;
        firstMediaAt = null;
        await until(() => !mic.busy && firstMediaAt !== null, TURN_TIMEOUT_MS, "the reply to the interruption", signal);
        call.dtmf("0");
        await until(() => call.received.filter((r) => r.message.event === "clear").length > before, 2_000, "clear", signal);
      }
    }
    await until(quiet, TURN_TIMEOUT_MS, "the line to fall quiet", signal);
  } finally {
    mic.stop();
    call.stop();
    ws.close();
  }
}

/** The session's confirmed interruptions' decision times (epoch ms), oldest first. */
async function confirmedAt(sut: SystemUnderTest, sessionId: string): Promise<number[]> {
  const res = await fetch(new URL(`/api/sessions/${sessionId}`, sut.url), {
    headers: { Authorization: await ownerAuthorization(sessionId) },
  });
  if (!res.ok) throw new Error(`transcript of ${sessionId}: ${res.status}`);
  const t = (await res.json()) as {
    interruptions: { decision: string; decidedAt: number; source: string; reason: string; transcript: string }[];
  };
  if (process.env.PARLEY_BENCH_DEBUG) console.error(JSON.stringify(t.interruptions));
  return t.interruptions.filter((i) => i.decision === "confirmed" && i.source === "server").map((i) => i.decidedAt);
}

export async function runPhoneBench(partial: Partial<PhoneBenchOptions> = {}): Promise<PhoneBenchResult> {
  const o: PhoneBenchOptions = { ...DEFAULT_PHONE_OPTIONS, ...partial };
  const started = Date.now();
  const loadAverage = loadavg().map((l) => Math.round(l * 100) / 100);
  const busy = await machineBusyOver(1_000);
  o.log(`phone: machine ${busy.toFixed(1)}% busy before, load average ${loadAverage.join(" / ")}`);
  const authToken = randomBytes(16).toString("hex");
  const sut = await startSystem({
    latencies: o.latencies,
    silenceMs: o.silenceMs,
    naive: false,
    parleyVars: { ...BASELINE_TURN_VARS, TWILIO_AUTH_TOKEN: authToken, PHONE_GREETING: "off" },
    // The fake hears every turn as the words its reply quotes: speech over that reply would be its echo.
    fakeVars: { FAKE_INTERRUPTION_TRANSCRIPT: "Stop, tell me something else." },
  });
  const fixture = loadFixtures(o.silenceMs, ["what-is-the-weather.wav"])[0]!;
  const phone = phoneFixture(fixture, o.silenceMs);
  const browser: number[] = [];
  const firstMedia: number[] = [];
  const keypad: number[] = [];
  const spoken: number[] = [];
  const incomplete: string[] = [];
  try {
    if (o.warmup) {
      await browserCall(sut, fixture, 1, o.signal);
      await phoneCall(sut, authToken, phone, 1, { firstMedia: [], keypad: [], spokenClearsAt: [], sessionId: "" }, o.signal);
    }
    for (let c = 0; c < o.calls && !o.signal?.aborted; c++) {
      try {
        browser.push(...(await browserCall(sut, fixture, o.turnsPerCall, o.signal)));
      } catch (err) {
        incomplete.push(`browser call ${c + 1}: ${err instanceof Error ? err.message : String(err)}`);
      }
      const r: PhoneSamples = { firstMedia: [], keypad: [], spokenClearsAt: [], sessionId: "" };
      try {
        await phoneCall(sut, authToken, phone, o.turnsPerCall, r, o.signal);
      } catch (err) {
        incomplete.push(`phone call ${c + 1}: ${err instanceof Error ? err.message : String(err)}`);
      }
      firstMedia.push(...r.firstMedia);
      keypad.push(...r.keypad);
      try {
        const decided = await confirmedAt(sut, r.sessionId);
        // Each spoken barge-in's clear with the session's decision it followed (the keypad's are client-side, source "client").
        r.spokenClearsAt.forEach((clearAt, i) => {
          const d = decided[i];
          if (d === undefined) incomplete.push(`phone call ${c + 1}: no confirmed interruption for clear ${i + 1}`);
          else spoken.push(clearAt - d);
        });
      } catch (err) {
        incomplete.push(`phone call ${c + 1}'s transcript: ${err instanceof Error ? err.message : String(err)}`);
      }
      o.log(`phone: call ${c + 1}/${o.calls} done`);
    }
  } finally {
    await sut.dispose();
  }
  const b = dist(browser);
  const p = dist(firstMedia);
  return {
    version: 1,
    kind: "phone",
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    node: process.version,
    workerdVersion: sut.workerdVersion,
    machineBusyBeforePct: Math.round(busy * 10) / 10,
    loadAverage,
    options: { calls: o.calls, turnsPerCall: o.turnsPerCall, silenceMs: o.silenceMs, latencies: o.latencies, warmup: o.warmup },
    browserFirstAudioMs: b,
    phoneFirstMediaMs: p,
    overheadP50Ms: p.p50 - b.p50,
    overheadP95Ms: p.p95 - b.p95,
    keypadClearMs: dist(keypad),
    spokenClearMs: dist(spoken),
    incomplete,
  };
}

export function phoneChecks(r: PhoneBenchResult): { name: string; met: boolean; detail: string }[] {
  return [
    {
      name: "phone overhead p50",
      met: r.overheadP50Ms <= PHONE_TARGETS.overheadP50Ms,
      detail: `${r.overheadP50Ms.toFixed(1)} ms (target ≤ ${PHONE_TARGETS.overheadP50Ms})`,
    },
    {
      name: "barge-in -> clear p99",
      met: Math.max(r.keypadClearMs.p99, r.spokenClearMs.p99) <= PHONE_TARGETS.clearP99Ms,
      detail: `keypad ${r.keypadClearMs.p99.toFixed(1)} ms, spoken ${r.spokenClearMs.p99.toFixed(1)} ms (target ≤ ${PHONE_TARGETS.clearP99Ms})`,
    },
  ];
}

export function formatPhoneReport(r: PhoneBenchResult): string {
  const row = (name: string, d: Dist, cols: "p50p95" | "p50p99") =>
    `| ${name} | ${d.n} | ${d.p50.toFixed(1)} | ${(cols === "p50p95" ? d.p95 : d.p99).toFixed(1)} | ${d.max.toFixed(1)} |`;
  const lines = [
    `Phone path (${r.options.calls} browser + ${r.options.calls} phone calls of ${r.options.turnsPerCall} turns, one at a time; fixed-latency fake AI; machine ${r.machineBusyBeforePct}% busy before, load average ${r.loadAverage.join(" / ")})`,
    "",
    "| from -> to | n | p50 | p95 | max |",
    "|---|---|---|---|---|",
    row("browser: turn-ending frame sent -> first segment audio received", r.browserFirstAudioMs, "p50p95"),
    row("phone: turn-ending media sent -> first reply media received", r.phoneFirstMediaMs, "p50p95"),
    `| phone overhead (phone - browser) | | ${r.overheadP50Ms.toFixed(1)} | ${r.overheadP95Ms.toFixed(1)} | |`,
    "",
    "| from -> to | n | p50 | p99 | max |",
    "|---|---|---|---|---|",
    row("keypad barge-in: dtmf 0 sent -> clear received", r.keypadClearMs, "p50p99"),
    row("spoken barge-in: interruption confirmed (session decidedAt) -> clear received", r.spokenClearMs, "p50p99"),
    "",
    ...phoneChecks(r).map((c) => `${c.met ? "met   " : "MISSED"} ${c.name}: ${c.detail}`),
    ...r.incomplete.map((i) => `incomplete: ${i}`),
  ];
  return lines.join("\n");
}

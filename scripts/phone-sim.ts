// `npm run phone:sim`: a simulated phone call against a running `npm start`, no Twilio account needed.
// It does what Twilio does (docs/telephony.md): POSTs the voice webhook signed with the server's
// TWILIO_AUTH_TOKEN (the dev server's local one, scripts/local-secrets.ts), reads the TwiML, opens the
// Media Stream with the fake Twilio client (test/support/fake-twilio.ts), speaks WAV files into it as
// 20 ms μ-law frames in real time, "plays" the replies at real time (echoing marks, honouring clear),
// prints the call as it goes, and saves what the caller heard as a WAV. The transcript lines come from
// the session itself, read with the operator key (phone sessions have no owner).
//
//   npm run phone:sim                                   one turn: test/fixtures/what-is-the-weather.wav
//   npm run phone:sim -- --wav a.wav --wav b.wav        two turns, one file each
//   npm run phone:sim -- --turns 3                      the same file three times
//   npm run phone:sim -- --barge-in-at 800              the second turn talks over the first reply, 800 ms into its audio
//   options: --url http://127.0.0.1:5173 (or PORT)  --caller +14155550123  --out heard.wav
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { SessionTranscript, type HistoryMessage } from "../shared/protocol.ts";
import { operatorKey } from "../server/access/session-keys.ts";
import { encodeWav } from "../shared/audio/wav.ts";
import { maskCaller } from "../server/phone/caller.ts";
import { wavMonoAt } from "../server/phone/outbound-audio.ts";
import { PHONE_AUDIO } from "../server/phone/twilio-media.ts";
import { twilioSignature } from "../server/phone/twilio-signature.ts";
import { FakeTwilioCall, parseStreamTwiml, voiceWebhookForm } from "../test/support/fake-twilio.ts";
import { existingLocalSecret } from "./local-secrets.ts";

const ROOT = resolve(import.meta.dirname, "..");
const DEFAULT_WAV = join(ROOT, "test/fixtures/what-is-the-weather.wav");
/** The assistant counts as done speaking after this long with nothing left to play. */
const QUIET_MS = 1_200;
/** Longest wait for a reply to start after the caller stopped talking. */
const REPLY_TIMEOUT_MS = 20_000;
/** The greeting starts within a second of the stream (PHONE_GREETING=off: none). */
const GREETING_TIMEOUT_MS = 3_000;
/** The transcript is read this often: the session API allows 120 requests a minute per address, the browser needs some too. */
const POLL_MS = 1_000;
const SPEECH_RATE = 16_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function fail(message: string): never {
  console.error(`phone:sim: ${message}`);
  process.exit(1);
}

const { values: opts } = parseArgs({
  options: {
    url: { type: "string" },
    caller: { type: "string", default: "+14155550123" },
    wav: { type: "string", multiple: true },
    turns: { type: "string" },
    "barge-in-at": { type: "string" },
    out: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
  strict: true,
});
if (opts.help) {
  console.log("npm run phone:sim -- [--url URL] [--caller +1…] [--wav file.wav]… [--turns N] [--barge-in-at ms] [--out heard.wav]");
  process.exit(0);
}

const base = (opts.url ?? `http://127.0.0.1:${process.env.PORT || 5173}`).replace(/\/+$/, "");
const wavs = opts.wav?.length ? opts.wav.map((w) => resolve(w)) : [DEFAULT_WAV];
const bargeInAtMs = opts["barge-in-at"] === undefined ? null : Number(opts["barge-in-at"]);
if (bargeInAtMs !== null && !(Number.isFinite(bargeInAtMs) && bargeInAtMs >= 0))
  fail(`--barge-in-at takes milliseconds (got "${opts["barge-in-at"]}")`);
// Talking over a reply needs a turn after the first: two by default.
const turns = opts.turns === undefined ? Math.max(wavs.length, bargeInAtMs === null ? 1 : 2) : Number(opts.turns);
if (!Number.isInteger(turns) || turns < 1 || turns > 50) fail(`--turns takes a whole number from 1 to 50 (got "${opts.turns}")`);
const out = resolve(opts.out ?? join(tmpdir(), `parley-phone-sim-${new Date().toISOString().replace(/[:.]/g, "-")}.wav`));

/** A WAV as 16 kHz mono PCM16, what the fake Twilio client speaks. */
function speechOf(path: string): Int16Array {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    fail(`cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return wavMonoAt(bytes, SPEECH_RATE);
}
const speech = wavs.map((w) => ({ name: basename(w), pcm: speechOf(w) }));

const authToken = existingLocalSecret("twilioAuthToken");
const sessionSecret = existingLocalSecret("sessionSecret");
if (!authToken || !sessionSecret)
  fail("no local TWILIO_AUTH_TOKEN / SESSION_SECRET yet: start the server first (`npm start`), which makes them");

// ------------------------------------------------------------------------------------------------
// The call: ring, connect, talk.

const callStarted = Date.now();
const stamp = (at = Date.now()) => `[${((at - callStarted) / 1000).toFixed(2).padStart(6)}]`;
const say = (line: string, at?: number) => console.log(`${stamp(at)} ${line}`);

const callSid = `CA${crypto.randomUUID().replace(/-/g, "")}`;
const webhookUrl = `${base}/phone/voice`;
const form = voiceWebhookForm({ callSid, from: opts.caller });
let answer: Response;
try {
  answer = await fetch(webhookUrl, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      "X-Twilio-Signature": await twilioSignature(authToken, webhookUrl, form),
    },
    body: new URLSearchParams(form).toString(),
    signal: AbortSignal.timeout(10_000),
  });
} catch (err) {
  fail(
    `${base} does not answer (${err instanceof Error ? err.message : String(err)}): is \`npm start\` running? (--url for another address)`,
  );
}
if (answer.status === 404) fail(`${base} has phone calls off (no TWILIO_AUTH_TOKEN): start it with \`npm start\` from this checkout`);
if (answer.status === 403)
  fail(
    `${base} refused the webhook's signature: it was started with another TWILIO_AUTH_TOKEN than this checkout's .wrangler/ (or the environment's)`,
  );
if (!answer.ok) fail(`the voice webhook answered ${answer.status}: ${(await answer.text()).slice(0, 300)}`);
const twiml = parseStreamTwiml(await answer.text());
const sessionId = twiml.url.split("/").pop()!;

console.log(`Calling ${base} from ${maskCaller(opts.caller)} (simulated Twilio, call ${callSid.slice(0, 10)}…)`);
console.log(`session ${sessionId}; review: ${base}/s/${sessionId}/review with the operator key (npm run operator-key)`);

const ws = new WebSocket(twiml.url);
const call = new FakeTwilioCall({ send: (text) => ws.readyState === WebSocket.OPEN && ws.send(text), callSid });
/** Media frames received since the assistant last fell quiet, and when the latest came. */
let burstStartedAt: number | null = null;
let lastMediaAt = 0;
let clears = 0;
let bursts = 0;
let lastSaidAt = callStarted;
const closed = new Promise<{ code: number; reason: string }>((r) =>
  ws.addEventListener("close", (e) => r({ code: e.code, reason: e.reason })),
);
ws.addEventListener("message", (e) => {
  if (typeof e.data !== "string") return;
  const event = (JSON.parse(e.data) as { event?: string }).event;
  if (event === "media") {
    lastMediaAt = Date.now();
    if (burstStartedAt === null) {
      burstStartedAt = lastMediaAt;
      say(`assistant ▶ audio${bursts++ === 0 && lastSaidAt === callStarted ? " (greeting)" : ""}`);
    }
  } else if (event === "clear") {
    clears++;
    burstStartedAt = null;
    say(`assistant ■ clear: ${pendingFrames() * PHONE_AUDIO.frameMs} ms of buffered audio dropped unplayed`);
  }
  call.onMessage(e.data);
});
await new Promise<void>((ok, no) => {
  ws.addEventListener("open", () => ok(), { once: true });
  ws.addEventListener("error", () => no(new Error(`the stream ${twiml.url} did not open`)), { once: true });
}).catch((err: Error) => fail(err.message));
call.start(twiml.parameters);
say("call connected");
closed
  .then(({ code, reason }) => {
    if (!hungUp) say(`the server closed the stream (${code}${reason ? ` ${reason}` : ""})`);
  })
  .catch((err: Error) => fail(err.message));

/** Frames the server sent that are neither played nor dropped yet: audio buffered "at Twilio". */
function pendingFrames(): number {
  return call.mediaReceived - call.played.length - call.dropped;
}

/** Until the assistant has said something since `since` (or `requireAudio` is false) and then nothing is left to play for QUIET_MS. */
async function untilQuiet(since: number, requireAudio: boolean, timeoutMs = REPLY_TIMEOUT_MS): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (requireAudio && lastMediaAt < since) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  for (;;) {
    if (pendingFrames() <= 0 && Date.now() - lastMediaAt >= QUIET_MS) {
      burstStartedAt = null;
      return true;
    }
    await sleep(20);
  }
}

// ------------------------------------------------------------------------------------------------
// The transcript, as the session stores it: printed as messages appear or change.

const key = await operatorKey(sessionSecret);
const printed = new Map<number, string>();
let transcript: SessionTranscript | null = null;
/** The latest transcript read (the poller replaces it). */
const latest = (): SessionTranscript | null => transcript;

async function readTranscript(): Promise<SessionTranscript | null> {
  try {
    const res = await fetch(`${base}/api/sessions/${sessionId}`, {
      headers: { Authorization: `Bearer ${key}` },
      signal: AbortSignal.timeout(5_000),
    });
    if (!res.ok) return null;
    return SessionTranscript.parse(await res.json());
  } catch {
    return null;
  }
}

function line(m: HistoryMessage): string {
  const who = m.role === "user" ? (m.kind === "backchannel" ? "caller (backchannel)" : "caller") : "assistant";
  const note =
    m.status === "interrupted"
      ? ` [cut off: heard up to here${m.plannedText ? ` of ${m.plannedText.length} characters planned` : ""}]`
      : m.status === "failed"
        ? " [failed]"
        : "";
  return `${who}: ${JSON.stringify(m.text)}${note}`;
}

async function printTranscript(): Promise<void> {
  const t = await readTranscript();
  if (!t) return;
  transcript = t;
  // A caller who rang before continues their conversation: only this call's lines.
  for (const m of t.messages.filter((m) => m.createdAt >= callStarted - 1_000)) {
    const text = line(m);
    if (printed.get(m.id) === text) continue;
    const again = printed.has(m.id);
    printed.set(m.id, text);
    say(again ? `  (now) ${text}` : text, Math.max(callStarted, m.createdAt));
  }
}

let hungUp = false;
let polling = true;
const poller = (async () => {
  while (polling) {
    await printTranscript();
    await sleep(POLL_MS);
  }
})();

// ------------------------------------------------------------------------------------------------

let ok = true;
// The greeting (if the server has one) plays first.
const greeted = await untilQuiet(callStarted, true, GREETING_TIMEOUT_MS);
if (!greeted) say(`(no greeting within ${GREETING_TIMEOUT_MS / 1000} s)`);

for (let turn = 0; turn < turns; turn++) {
  const clip = speech[turn % speech.length]!;
  if (turn > 0 && bargeInAtMs !== null) {
    // Talk over the reply to the previous turn: wait for its audio, then this far into it.
    const since = lastSaidAt;
    const deadline = Date.now() + REPLY_TIMEOUT_MS;
    while (lastMediaAt < since && Date.now() < deadline) await sleep(10);
    if (lastMediaAt < since) {
      ok = false;
      say("(no reply to talk over)");
    } else {
      const replyAudioAt = burstStartedAt ?? lastMediaAt;
      await sleep(Math.max(0, replyAudioAt + bargeInAtMs - Date.now()));
      say(`caller talks over the reply, ${Date.now() - replyAudioAt} ms into its audio`);
    }
  }
  say(`caller ▶ speaking ${clip.name} (${((clip.pcm.length / SPEECH_RATE) * 1000).toFixed(0)} ms)`);
  await call.say(clip.pcm);
  lastSaidAt = Date.now();
  say("caller ■ done");
  const overNext = turn + 1 < turns && bargeInAtMs !== null;
  if (!overNext && !(await untilQuiet(lastSaidAt, true))) {
    ok = false;
    say("(no reply within 20 s)");
  }
}

// Hang up, then let the session store the call's end.
hungUp = true;
call.stop();
ws.close(1000, "call ended");
say("caller hung up");
const ended = Date.now() + 5_000;
while (Date.now() < ended && !latest()?.phoneCalls?.find((c) => c.startedAt >= callStarted - 5_000)?.endedAt) await sleep(POLL_MS);
polling = false;
await poller;
await printTranscript();

const heard = call.heardPcm();
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, encodeWav(heard, PHONE_AUDIO.sampleRate));
const record = latest()?.phoneCalls?.at(-1);
console.log("");
if (record) {
  console.log(
    `call: ${record.caller}, ${record.durationMs === null ? "still open" : `${(record.durationMs / 1000).toFixed(1)} s`}, ended by ${record.endReason ?? "—"}, cost $${(record.usd ?? 0).toFixed(5)}`,
  );
}
console.log(
  `heard: ${((heard.length / PHONE_AUDIO.sampleRate) * 1000).toFixed(0)} ms of the assistant (8 kHz μ-law as played), ${call.dropped} frame(s) dropped by ${clears} clear(s) -> ${out}`,
);
if (heard.length === 0) ok = false;
process.exit(ok ? 0 : 1);

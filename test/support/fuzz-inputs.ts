// Seeded random and mutated client inputs for fuzzing a live session (the workerd fuzz test and
// `npm run bench -- --fuzz N`): random bytes, truncated and mutated JSON of every client message type,
// wrong types, huge numbers, unknown types, odd-length, empty and oversized binary audio.
// Pure and deterministic: the same seed gives the same inputs.
import { PROTOCOL_VERSION, UPSTREAM_AUDIO, type ClientMessageInput } from "../../shared/protocol.ts";
import { prng } from "./signals.ts";

export interface FuzzInput {
  kind: string;
  data: string | Uint8Array;
}

/** The fuzz inputs are judged, not dropped: the flood limits are tested on their own (limits.test.ts, the flood row). */
export const FUZZ_LIMIT_VARS: Readonly<Record<string, string>> = {
  MESSAGES_PER_SECOND: "10000",
  IP_MESSAGES_PER_SECOND: "10000",
  SESSION_MESSAGES_PER_SECOND: "10000",
  AUDIO_REALTIME_FACTOR: "100",
  IP_AUDIO_REALTIME_FACTOR: "100",
  SESSION_AUDIO_REALTIME_FACTOR: "100",
  TURNS_PER_SECOND: "1000",
};

/** A well-formed message of each client type (replies are unknown to the server, so playback and barge-in still get errors). */
function templates(rnd: () => number): ClientMessageInput[] {
  const id = `r-${Math.floor(rnd() * 1e6).toString(36)}`;
  return [
    { type: "start", protocol: PROTOCOL_VERSION, mode: rnd() < 0.5 ? "hands-free" : "push-to-talk", language: "en" },
    { type: "commit" },
    { type: "cancel" },
    { type: "text", text: "fuzz" },
    { type: "playback", replyId: id, segment: 0, playedMs: 120, state: "playing" },
    { type: "ping", t: rnd() * 1e6 },
    { type: "barge-in", replyId: id, event: "onset", segment: 0, playedMs: 100, speechMs: 50, playingMs: 900 },
  ];
}

const ODD_VALUES: unknown[] = [
  null,
  true,
  false,
  -1,
  0,
  1.5,
  -0.0001,
  1e308,
  -1e308,
  Number.MAX_SAFE_INTEGER + 2,
  "",
  "x".repeat(300),
  [],
  {},
  [1, 2],
  { nested: { deep: [null] } },
  "NaN",
  "😀",
];
/** Number literals JSON.stringify cannot write (they parse to Infinity or lose precision). */
const RAW_NUMBERS = ["1e999", "-1e999", "123456789012345678901234567890", "0.0000000000000000000000001", "-0"];

function pick<T>(rnd: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)]!;
}

function randomText(rnd: () => number, maxLength: number): string {
  const n = Math.floor(rnd() * maxLength);
  let s = "";
  for (let i = 0; i < n; i++) {
    const r = rnd();
    // Mostly JSON-ish punctuation and ASCII, some control characters, lone surrogates and astral characters.
    s +=
      r < 0.3
        ? pick(rnd, ["{", "}", '"', ":", ",", "[", "]", "\\", " "])
        : r < 0.9
          ? String.fromCharCode(32 + Math.floor(rnd() * 95))
          : r < 0.95
            ? String.fromCharCode(Math.floor(rnd() * 32))
            : r < 0.98
              ? String.fromCharCode(0xd800 + Math.floor(rnd() * 0x800))
              : "😀";
  }
  return s;
}

function randomBytes(rnd: () => number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rnd() * 256);
  return b;
}

function mutate(rnd: () => number, msg: Record<string, unknown>): string {
  const m: Record<string, unknown> = { ...msg };
  const keys = Object.keys(m);
  const r = rnd();
  if (r < 0.25) {
    m[pick(rnd, keys)] = pick(rnd, ODD_VALUES); // a field of the wrong type or range (the type itself, sometimes)
  } else if (r < 0.4) {
    delete m[
      pick(
        rnd,
        keys.filter((k) => k !== "type"),
      )
    ]; // a required field missing
  } else if (r < 0.55) {
    m[randomText(rnd, 12) || "extra"] = pick(rnd, ODD_VALUES); // an extra field
  } else if (r < 0.7) {
    const key = pick(rnd, keys.filter((k) => k !== "type").concat("t"));
    return JSON.stringify(m).replace(/\}$/, `,"${key}":${pick(rnd, RAW_NUMBERS)}}`); // a huge or odd number literal
  } else if (r < 0.8) {
    m.text = "w".repeat(2_000 + Math.floor(rnd() * 3_000)); // over the text cap
  } else {
    return JSON.stringify(Array.isArray(msg) ? msg : [m]); // an array, not an object
  }
  return JSON.stringify(m);
}

/** `n` inputs from `seed`. */
export function* fuzzInputs(seed: number, n: number): Generator<FuzzInput> {
  const rnd = prng(seed);
  for (let i = 0; i < n; i++) {
    const r = rnd();
    const valid = pick(rnd, templates(rnd)) as Record<string, unknown>;
    if (r < 0.1) {
      yield { kind: "random-text", data: randomText(rnd, 200) };
    } else if (r < 0.25) {
      const json = JSON.stringify(valid);
      yield { kind: "truncated-json", data: json.slice(0, Math.floor(rnd() * json.length)) };
    } else if (r < 0.6) {
      yield { kind: `mutated-${String(valid.type)}`, data: mutate(rnd, valid) };
    } else if (r < 0.68) {
      const type = rnd() < 0.5 ? randomText(rnd, 30) : pick(rnd, ODD_VALUES);
      yield { kind: "unknown-type", data: JSON.stringify({ ...valid, type }) };
    } else if (r < 0.72) {
      yield { kind: "not-an-object", data: JSON.stringify(pick(rnd, ODD_VALUES)) };
    } else if (r < 0.8) {
      yield { kind: "valid", data: JSON.stringify(valid) };
    } else if (r < 0.9) {
      // Odd lengths, empty frames and valid-looking PCM of random noise.
      yield { kind: "random-binary", data: randomBytes(rnd, Math.floor(rnd() * 1_500)) };
    } else if (r < 0.91) {
      yield { kind: "oversized-binary", data: randomBytes(rnd, UPSTREAM_AUDIO.maxFrameBytes + 1 + Math.floor(rnd() * 4_000)) };
    } else {
      // Silence of odd and even lengths: audio the detector takes (or rejects) without starting turns.
      yield { kind: "silent-binary", data: new Uint8Array(Math.floor(rnd() * 2_000)) };
    }
  }
}

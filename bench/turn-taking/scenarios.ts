// The turn-taking scenarios and the trials generated from them, deterministically from one seed.
// Every trial is one session: the user asks a question (flite speech), the assistant answers with
// the scripted reply, and while it speaks (or thinks) the scenario's event happens at the
// microphone: nothing but the reply's own echo, a backchannel, a cough, a click, a noise burst, a
// real interruption, or the user going on with their turn. Room noise and an echo of the playback
// are under everything.
import { prng } from "../../test/support/signals.ts";

export type ScenarioKind =
  | "echo-30"
  | "echo-20"
  | "echo-10"
  | "backchannel"
  | "cough"
  | "click"
  | "noise-burst"
  | "interrupt-early"
  | "interrupt-middle"
  | "interrupt-late"
  | "interrupt-thinking"
  | "continuation";

/** What the sound at the microphone is. */
export type SourceKind = "backchannel" | "cough" | "click" | "noise-burst" | "interruption" | "continuation";

export type ScenarioEvent =
  | { type: "none" }
  /** `source` starts when this share of the reply's expected audio has played (uniform in [from, to]). */
  | { type: "over-reply"; source: SourceKind; from: number; to: number }
  /** `source` starts this long after the server says `thinking` for the first reply (uniform in [fromMs, toMs]). */
  | { type: "after-thinking"; source: SourceKind; fromMs: number; toMs: number };

export interface ScenarioSpec {
  kind: ScenarioKind;
  label: string;
  /** "ignore": the reply should play on (no words meant for the assistant); "interrupt": it should stop. */
  expect: "ignore" | "interrupt";
  /** Echo of the playback at the microphone, relative to the playback level (dB). */
  echoDb: number;
  event: ScenarioEvent;
  trials: number;
  smokeTrials: number;
}

/** Echo in the scenarios that are not about echo: what a device with working echo cancellation leaves. */
export const BACKGROUND_ECHO_DB = -30;
/** The echo reaches the microphone this late (uniform per trial): output latency + the room. */
export const ECHO_DELAY_MS = { from: 20, to: 150 } as const;

export const SCENARIOS: readonly ScenarioSpec[] = [
  { kind: "echo-30", label: "echo -30 dB", expect: "ignore", echoDb: -30, event: { type: "none" }, trials: 10, smokeTrials: 1 },
  { kind: "echo-20", label: "echo -20 dB", expect: "ignore", echoDb: -20, event: { type: "none" }, trials: 30, smokeTrials: 2 },
  { kind: "echo-10", label: "echo -10 dB", expect: "ignore", echoDb: -10, event: { type: "none" }, trials: 20, smokeTrials: 1 },
  {
    kind: "backchannel",
    label: "backchannel",
    expect: "ignore",
    echoDb: BACKGROUND_ECHO_DB,
    event: { type: "over-reply", source: "backchannel", from: 0.3, to: 0.7 },
    trials: 20,
    smokeTrials: 2,
  },
  {
    kind: "cough",
    label: "cough",
    expect: "ignore",
    echoDb: BACKGROUND_ECHO_DB,
    event: { type: "over-reply", source: "cough", from: 0.3, to: 0.7 },
    trials: 20,
    smokeTrials: 1,
  },
  {
    kind: "click",
    label: "click",
    expect: "ignore",
    echoDb: BACKGROUND_ECHO_DB,
    event: { type: "over-reply", source: "click", from: 0.3, to: 0.7 },
    trials: 10,
    smokeTrials: 1,
  },
  {
    kind: "noise-burst",
    label: "noise burst",
    expect: "ignore",
    echoDb: BACKGROUND_ECHO_DB,
    event: { type: "over-reply", source: "noise-burst", from: 0.3, to: 0.7 },
    trials: 20,
    smokeTrials: 1,
  },
  {
    kind: "interrupt-early",
    label: "interrupt early (15 %)",
    expect: "interrupt",
    echoDb: BACKGROUND_ECHO_DB,
    event: { type: "over-reply", source: "interruption", from: 0.15, to: 0.15 },
    trials: 20,
    smokeTrials: 1,
  },
  {
    kind: "interrupt-middle",
    label: "interrupt middle (50 %)",
    expect: "interrupt",
    echoDb: BACKGROUND_ECHO_DB,
    event: { type: "over-reply", source: "interruption", from: 0.5, to: 0.5 },
    trials: 20,
    smokeTrials: 2,
  },
  {
    kind: "interrupt-late",
    label: "interrupt late (85 %)",
    expect: "interrupt",
    echoDb: BACKGROUND_ECHO_DB,
    event: { type: "over-reply", source: "interruption", from: 0.85, to: 0.85 },
    trials: 20,
    smokeTrials: 1,
  },
  {
    kind: "interrupt-thinking",
    label: "interrupt while thinking",
    expect: "interrupt",
    echoDb: BACKGROUND_ECHO_DB,
    event: { type: "after-thinking", source: "interruption", fromMs: 100, toMs: 400 },
    trials: 20,
    smokeTrials: 1,
  },
  {
    kind: "continuation",
    label: "goes on after end of turn",
    expect: "interrupt",
    echoDb: BACKGROUND_ECHO_DB,
    event: { type: "after-thinking", source: "continuation", fromMs: 0, toMs: 200 },
    trials: 20,
    smokeTrials: 1,
  },
];

export function scenario(kind: ScenarioKind): ScenarioSpec {
  const s = SCENARIOS.find((x) => x.kind === kind);
  if (!s) throw new Error(`unknown scenario ${kind}`);
  return s;
}

/** A spoken phrase: `text` is what was said (and what Whisper writes), `say` what flite is given when its spelling would mislead flite. */
export interface Phrase {
  text: string;
  say?: string;
}

export const QUESTIONS: readonly Phrase[] = [
  { text: "Can you tell me about the history of Paris?" },
  { text: "How did Paris become such a big city?" },
  { text: "Tell me something about old Paris." },
  { text: "What do you know about the history of Paris?" },
];

/** flite spells "Mm-hmm" out letter by letter; "Uh-hum" sounds like it and lasts as long. */
export const BACKCHANNELS: readonly Phrase[] = [
  { text: "Uh-huh." },
  { text: "Mm-hmm.", say: "Uh-hum." },
  { text: "Yeah." },
  { text: "Okay." },
  { text: "Right." },
  { text: "Sure." },
  { text: "I see." },
];

export const INTERRUPTIONS: readonly Phrase[] = [
  { text: "Wait, can you say that again?" },
  { text: "Stop, that's not what I asked." },
  { text: "Hold on, I have a question about that." },
  { text: "Sorry, what was the old name of the city?" },
  { text: "Actually, tell me about the food instead." },
  { text: "No, I meant the weather in Paris." },
];

/** A question said in two parts, with a pause long enough to end the turn in between. */
export const CONTINUATIONS: readonly { first: Phrase; rest: Phrase }[] = [
  { first: { text: "Tell me about Paris," }, rest: { text: "especially the old part of the city." } },
  { first: { text: "What should I see in Paris" }, rest: { text: "if I only have one day there?" } },
  { first: { text: "Can you tell me about the history of Paris" }, rest: { text: "before the Romans came?" } },
  { first: { text: "I would like to visit Paris," }, rest: { text: "what is the best time of year?" } },
];

/** User voices (flite): the assistant speaks with slt, as the local stand-in does. */
export const USER_VOICES = ["kal16", "rms", "awb", "slt"] as const;
export type UserVoice = (typeof USER_VOICES)[number];

export interface TrialPlan {
  /** Unique within a run; part of the session id. */
  id: string;
  kind: ScenarioKind;
  index: number;
  seed: number;
  voice: UserVoice;
  /** The first user turn. */
  question: Phrase;
  echo: { levelDb: number; delayMs: number };
  /** Room noise seed (each session hears its own room). */
  roomSeed: number;
  event:
    | { type: "none" }
    | { type: "over-reply"; source: SourceKind; atShare: number; phrase?: Phrase; soundSeed: number }
    | { type: "after-thinking"; source: SourceKind; delayMs: number; phrase?: Phrase; soundSeed: number };
}

const SHORT: Record<ScenarioKind, string> = {
  "echo-30": "e30",
  "echo-20": "e20",
  "echo-10": "e10",
  backchannel: "bc",
  cough: "cough",
  click: "click",
  "noise-burst": "noise",
  "interrupt-early": "ie",
  "interrupt-middle": "im",
  "interrupt-late": "il",
  "interrupt-thinking": "it",
  continuation: "cont",
};

function pick<T>(r: () => number, list: readonly T[]): T {
  return list[Math.floor(r() * list.length)]!;
}

/** A trial's own seed from the run seed, the scenario and the trial number (FNV-1a). */
function trialSeed(runSeed: number, kind: ScenarioKind, index: number): number {
  let h = 0x811c9dc5 ^ runSeed;
  for (const c of `${kind}#${index}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193);
  return h >>> 0;
}

/** The trials of a run: `count(spec)` trials per scenario, interleaved so concurrent trials mix scenarios. */
export function planTrials(
  runSeed: number,
  count: (s: ScenarioSpec) => number,
  kinds: readonly ScenarioKind[] = SCENARIOS.map((s) => s.kind),
): TrialPlan[] {
  const perKind = kinds.map((kind) => {
    const spec = scenario(kind);
    return Array.from({ length: count(spec) }, (_, index) => planTrial(runSeed, spec, index));
  });
  const out: TrialPlan[] = [];
  for (let i = 0; perKind.some((list) => i < list.length); i++) for (const list of perKind) if (i < list.length) out.push(list[i]!);
  return out;
}

export function planTrial(runSeed: number, spec: ScenarioSpec, index: number): TrialPlan {
  const seed = trialSeed(runSeed, spec.kind, index);
  const r = prng(seed);
  const voice = USER_VOICES[index % USER_VOICES.length]!;
  const delayMs = Math.round(ECHO_DELAY_MS.from + r() * (ECHO_DELAY_MS.to - ECHO_DELAY_MS.from));
  const roomSeed = Math.floor(r() * 2 ** 31);
  const soundSeed = Math.floor(r() * 2 ** 31);
  const continuation = pick(r, CONTINUATIONS);
  const question = spec.event.type !== "none" && spec.event.source === "continuation" ? continuation.first : pick(r, QUESTIONS);
  const phraseFor = (source: SourceKind): Phrase | undefined =>
    source === "backchannel"
      ? pick(r, BACKCHANNELS)
      : source === "interruption"
        ? pick(r, INTERRUPTIONS)
        : source === "continuation"
          ? continuation.rest
          : undefined;
  const base = {
    id: `${SHORT[spec.kind]}-${index}`,
    kind: spec.kind,
    index,
    seed,
    voice,
    question,
    echo: { levelDb: spec.echoDb, delayMs },
    roomSeed,
  };
  const e = spec.event;
  if (e.type === "none") return { ...base, event: { type: "none" } };
  const phrase = phraseFor(e.source);
  if (e.type === "over-reply") {
    const atShare = e.from + r() * (e.to - e.from);
    return { ...base, event: { type: "over-reply", source: e.source, atShare, soundSeed, ...(phrase && { phrase }) } };
  }
  const delay = Math.round(e.fromMs + r() * (e.toMs - e.fromMs));
  return { ...base, event: { type: "after-thinking", source: e.source, delayMs: delay, soundSeed, ...(phrase && { phrase }) } };
}

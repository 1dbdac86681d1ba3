// The end-of-turn scenarios of `npm run bench:turns`: does Parley wait when the user stops in the middle
// of a sentence, and how soon does it answer when they have finished? Every trial is one session and one
// user turn, no reply to talk over:
//   pause-400 / pause-700 / pause-1000  the first part of a sentence ("Set a timer for"), a pause of
//                                        0.4 / 0.7 / 1.0 s, then the rest ("ten minutes.");
//   finished                             the whole sentence in one go, then silence.
// Each is played through the end-of-turn paths below. Deterministic: trials follow from the run seed.
import { PATH_VARS } from "../harness/path-vars.ts";
import type { Phrase, UserVoice } from "./scenarios.ts";
import { USER_VOICES } from "./scenarios.ts";

export type EotKind = "pause-400" | "pause-700" | "pause-1000" | "finished";

export interface EotScenario {
  kind: EotKind;
  label: string;
  /** Pause between the two parts (ms); null: the sentence is said in one go. */
  pauseMs: number | null;
  trials: number;
  smokeTrials: number;
}

export const EOT_SCENARIOS: readonly EotScenario[] = [
  { kind: "pause-400", label: "pause 0.4 s mid-sentence", pauseMs: 400, trials: 8, smokeTrials: 1 },
  { kind: "pause-700", label: "pause 0.7 s mid-sentence", pauseMs: 700, trials: 8, smokeTrials: 1 },
  { kind: "pause-1000", label: "pause 1.0 s mid-sentence", pauseMs: 1000, trials: 8, smokeTrials: 1 },
  { kind: "finished", label: "finished sentence", pauseMs: null, trials: 8, smokeTrials: 1 },
];

/** How Parley decides the end of a turn (wrangler vars of the Worker under test). */
export interface EotPath {
  id: "silence" | "smart-turn" | "transcript";
  label: string;
  vars: Record<string, string>;
  /** What answers the judge's question in the fake. */
  fake: string;
}

export const EOT_PATHS: readonly EotPath[] = [
  {
    id: "silence",
    label: "baseline: silence 500 ms",
    vars: PATH_VARS.baseline,
    fake: "batch Whisper (STT oracle); no judge: 500 ms of silence ends the turn",
  },
  {
    id: "smart-turn",
    label: "batch + smart-turn, speculative",
    vars: PATH_VARS.smartTurn,
    fake: "smart-turn-v2 faked as an ideal classifier: incomplete for audio ending on a sentence's first part, complete for a finished sentence",
  },
  {
    id: "transcript",
    label: "Nova-3 live + transcript signal",
    vars: PATH_VARS.novaTranscript,
    fake: 'Nova-3 live faked with interim results of the words said so far ("Set a timer for"), judged by server/end-of-turn/transcript-signal.ts',
  },
];

/**
 * Sentences whose first part stops where people stop to think: after a preposition, an article, a
 * conjunction, the infinitive "to". (The transcript signal only knows such closed-class words: a first
 * part ending on a content word, "My favourite colour is", reads as finished to it; not played here.)
 */
export const SPLIT_SENTENCES: readonly { first: Phrase; rest: Phrase }[] = [
  { first: { text: "Set a timer for" }, rest: { text: "ten minutes." } },
  { first: { text: "What is the weather like in" }, rest: { text: "Paris tomorrow?" } },
  { first: { text: "Can you remind me to" }, rest: { text: "call my sister tonight?" } },
  { first: { text: "I would like to book a table for" }, rest: { text: "two people at eight." } },
  { first: { text: "Tell me a short story about" }, rest: { text: "a brave little dragon." } },
  { first: { text: "Add milk and eggs and" }, rest: { text: "bread to my shopping list." } },
  { first: { text: "How far is it from here to" }, rest: { text: "the airport?" } },
  { first: { text: "Please turn off the" }, rest: { text: "lights in the kitchen." } },
];

export interface EotTrialPlan {
  /** Unique within a path's run; part of the session id. */
  id: string;
  kind: EotKind;
  path: EotPath["id"];
  voice: UserVoice;
  /** The sentence's parts; for "finished" `whole` is said in one go. */
  first: Phrase;
  rest: Phrase;
  whole: Phrase;
  pauseMs: number | null;
  roomSeed: number;
  echoDelayMs: number;
}

/** FNV-1a of a string with the seed: a trial's own number. */
function hash(seed: number, s: string): number {
  let h = 0x811c9dc5 ^ seed;
  for (const c of s) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193);
  return h >>> 0;
}

/** The trials of one path: `count(scenario)` each, sentences and voices in turn, interleaved across scenarios. */
export function planEotTrials(seed: number, path: EotPath["id"], count: (s: EotScenario) => number): EotTrialPlan[] {
  const per = EOT_SCENARIOS.map((s) =>
    Array.from({ length: count(s) }, (_, i): EotTrialPlan => {
      const h = hash(seed, `${s.kind}#${i}`);
      // Every sentence once per scenario (for 8 trials), paired with different voices across scenarios.
      const sentence = SPLIT_SENTENCES[(i + 3 * EOT_SCENARIOS.indexOf(s)) % SPLIT_SENTENCES.length]!;
      const whole = { text: `${sentence.first.text} ${sentence.rest.text}` };
      return {
        id: `${s.kind}-${i}`,
        kind: s.kind,
        path,
        voice: USER_VOICES[(i + EOT_SCENARIOS.indexOf(s)) % USER_VOICES.length]!,
        first: sentence.first,
        rest: sentence.rest,
        whole,
        pauseMs: s.pauseMs,
        roomSeed: h & 0x7fffffff,
        echoDelayMs: 20 + (h % 131),
      };
    }),
  );
  const out: EotTrialPlan[] = [];
  for (let i = 0; per.some((l) => i < l.length); i++) for (const l of per) if (i < l.length) out.push(l[i]!);
  return out;
}

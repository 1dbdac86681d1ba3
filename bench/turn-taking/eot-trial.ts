// One end-of-turn trial: a new session, 1.2 s of room, then the user's sentence (in two parts with a
// pause, or in one go), through the simulated browser (bench/turn-taking/sim-browser.ts) into the real
// Worker. What is observed, at the client:
// - a false end of turn: the server took the turn (a `state` naming a reply: thinking, or speaking /
//   paused for a confirmed speculative reply) before the second part began, i.e. during the pause;
// - the end-of-turn delay: the send of the frame holding the end of the user's speech (the last part's
//   last voiced sample) -> the first `state` naming a reply the server started after it;
// - the same end of speech -> that reply's first audio.
import type { ClipLibrary, Clip } from "./clips.ts";
import type { EotKind, EotTrialPlan } from "./eot-scenarios.ts";
import { MicMixer } from "./mic-mixer.ts";
import { BACKGROUND_ECHO_DB } from "./scenarios.ts";
import { FRAME_SAMPLES, SessionTape } from "./session-tape.ts";
import { SimBrowser } from "./sim-browser.ts";
import { msToSamples, samplesToMs } from "./speech-timing.ts";
import { LEAD_MS, LINGER_MS, playTrial, type Ticker } from "./trial.ts";
import { benchSession } from "../harness/session-access.ts";

/** After the end of speech the server gets this long to end the turn (maxSilenceMs 1800 + the judge + margin). */
const END_WAIT_MS = 4000;
/** After the turn is taken, its first audio is waited for this long. */
const AUDIO_WAIT_MS = 4000;
/** A reply state this soon after the second part's onset was still decided during the pause (frames and transport). */
const DURING_PAUSE_MARGIN_MS = 60;

export interface EotEnvironment {
  url: string;
  clips: ClipLibrary;
  runTag: string;
  tapes: { register(tape: SessionTape): void; unregister(sessionId: string): void };
}

export interface EotOutcome {
  id: string;
  kind: EotKind;
  path: string;
  sessionId: string;
  voice: string;
  text: string;
  pauseMs: number | null;
  /** The turn was taken during the pause (pause scenarios). */
  falseEndOfTurn: boolean | null;
  /** When, from the end of the first part's speech (ms), for a false end of turn. */
  falseEndOfTurnAfterMs: number | null;
  /** End of the last part's speech -> the server took the turn (null: it did not within END_WAIT_MS). */
  endOfTurnMs: number | null;
  /** End of the last part's speech -> that reply's first audio. */
  firstAudioMs: number | null;
  /** What the server said ended the turn (reply-done metrics), when known. */
  timedOut: boolean;
  states: { atMs: number; state: string; replyId?: string }[];
  transcripts: { atMs: number; kind: string; text: string }[];
  errors: Record<string, number>;
  invalidMessages: string[];
  log: string[];
}

/** The reply states that mean the server took the user's turn. */
const TAKEN = new Set(["thinking", "speaking", "paused"]);

/** Session sample of a clip's last voiced sample + 1, when it starts at `at`. */
function speechEnd(clip: Clip, at: number): number {
  const last = clip.words[clip.words.length - 1];
  return at + (last ? last.to : clip.samples.length);
}

export async function runEotTrial(env: EotEnvironment, plan: EotTrialPlan, ticker: Ticker): Promise<EotOutcome> {
  const session = await benchSession();
  const sessionId = session.id;
  const split = plan.pauseMs !== null;
  const first = split
    ? { ...(await env.clips.speech("question", plan.first, plan.voice)), unfinished: true }
    : await env.clips.speech("question", plan.whole, plan.voice);
  const rest = split ? await env.clips.speech("question", plan.rest, plan.voice) : undefined;
  const tape = new SessionTape(sessionId, { levelDb: BACKGROUND_ECHO_DB, delaySamples: msToSamples(plan.echoDelayMs) });
  const mixer = new MicMixer({ roomSeed: plan.roomSeed, echoDb: BACKGROUND_ECHO_DB, echoDelaySamples: msToSamples(plan.echoDelayMs) });
  const browser = new SimBrowser({ url: env.url, session, tape, mixer });
  env.tapes.register(tape);

  const firstAt = msToSamples(LEAD_MS);
  const firstEnd = speechEnd(first, firstAt);
  // The second part's first voiced sample lands exactly pauseMs after the first part's last one.
  const restAt = rest ? firstEnd + msToSamples(plan.pauseMs!) - rest.onset : undefined;
  const restOnset = rest && restAt !== undefined ? restAt + rest.onset : undefined;
  const lastEnd = rest && restAt !== undefined ? speechEnd(rest, restAt) : firstEnd;

  let timedOut = false;
  let doneAt: number | undefined;
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  let tick = 0;
  browser.onTick = () => {
    tick++;
    if (tick === LEAD_MS / 20) {
      browser.schedule(first, firstAt);
      if (rest && restAt !== undefined) browser.schedule(rest, restAt);
    }
    const clock = browser.clock;
    if (doneAt === undefined && clock > lastEnd) {
      const early = repliesBefore(browser, lastEnd);
      const taken = browser.obs.states.find(
        (s) => TAKEN.has(s.state) && s.replyId !== undefined && s.at >= lastEnd && !early.has(s.replyId),
      );
      // Once the turn is taken, wait for the reply's first audio too (or give up on it after a while).
      if (taken && (browser.obs.firstAudioAt.has(taken.replyId!) || clock - taken.at > msToSamples(AUDIO_WAIT_MS)))
        doneAt = clock + msToSamples(LINGER_MS);
      else if (!taken && clock - lastEnd > msToSamples(END_WAIT_MS)) {
        timedOut = true;
        doneAt = clock;
      }
    }
    if (doneAt !== undefined && clock >= doneAt) finish();
  };

  await playTrial(browser, ticker, done, env.tapes);

  const o = browser.obs;
  const ms = (samples: number) => Math.round(samplesToMs(samples));
  // The frame holding the last voiced sample, and when it was sent.
  const endFrame = Math.floor((lastEnd - 1) / FRAME_SAMPLES);
  const endSentAt = browser.sentAt[endFrame];
  const early = repliesBefore(browser, lastEnd);
  const taken = o.states.find((s) => TAKEN.has(s.state) && s.replyId !== undefined && s.at >= lastEnd && !early.has(s.replyId));
  let falseEndOfTurn: boolean | null = null;
  let falseEndOfTurnAfterMs: number | null = null;
  if (restOnset !== undefined) {
    const before = o.states.find(
      (s) => TAKEN.has(s.state) && s.replyId !== undefined && s.at < restOnset + msToSamples(DURING_PAUSE_MARGIN_MS),
    );
    falseEndOfTurn = before !== undefined;
    if (before) falseEndOfTurnAfterMs = ms(before.at - firstEnd);
  }
  const audioAt = taken?.replyId !== undefined ? o.firstAudioAt.get(taken.replyId) : undefined;
  return {
    id: plan.id,
    kind: plan.kind,
    path: plan.path,
    sessionId,
    voice: plan.voice,
    text: split ? `${plan.first.text} … ${plan.rest.text}` : plan.whole.text,
    pauseMs: plan.pauseMs,
    falseEndOfTurn,
    falseEndOfTurnAfterMs,
    endOfTurnMs: taken && endSentAt !== undefined ? Math.round(taken.t - endSentAt) : null,
    firstAudioMs: audioAt !== undefined && endSentAt !== undefined ? Math.round(audioAt - endSentAt) : null,
    timedOut,
    states: o.states.map((s) => ({ atMs: ms(s.at), state: s.state, ...(s.replyId !== undefined && { replyId: s.replyId }) })),
    transcripts: o.transcripts.map((t) => ({ atMs: ms(t.at), kind: t.kind, text: t.text })),
    errors: o.errors,
    invalidMessages: o.invalidMessages,
    log: browser.log,
  };
}

/** Replies the server had started before session sample `at` (a turn taken during the pause, say). */
function repliesBefore(browser: SimBrowser, at: number): Set<string> {
  const out = new Set<string>();
  for (const s of browser.obs.states) if (s.replyId !== undefined && s.at < at) out.add(s.replyId);
  return out;
}

// One trial: one session played through the system under test. The driver speaks the question,
// waits for the reply, fires the scenario's event at its moment (a share of the reply played, or a
// delay after `thinking`), and ends the trial once the first reply is settled (played out, or
// stopped by an interruption and the interruption's turn transcribed). Then it reads back the
// stored conversation and classifies what happened.
import type { ClipLibrary, Clip } from "./clips.ts";
import { MicMixer } from "./mic-mixer.ts";
import { classifyTrial, replyCut, type StoredMessage, type TrialOutcome } from "./outcome.ts";
import { scenario, type TrialPlan } from "./scenarios.ts";
import { SessionTape } from "./session-tape.ts";
import { SimBrowser } from "./sim-browser.ts";
import { msToSamples } from "./speech-timing.ts";
import { benchSession, type BenchSession } from "../harness/session-access.ts";

/** Room noise before the question: longer than both detectors' 1 s noise-floor windows. */
export const LEAD_MS = 1200;
/** After the event's sound ends, the server gets this long to decide before the trial may end. */
const DECISION_WAIT_MS = 2500;
/** A confirmed interruption's turn should be transcribed within this long after the reply settled. */
const NEXT_TURN_WAIT_MS = 4000;
export const LINGER_MS = 300;
/** The oracle keeps a finished trial's tape this long, for transcriptions still in flight. */
export const TAPE_KEPT_MS = 15_000;

export interface TrialEnvironment {
  /** http://127.0.0.1:<port> of the Worker. */
  url: string;
  clips: ClipLibrary;
  /** Duration of the scripted reply as the assistant speaks it (flite), for the progress triggers. */
  expectedReplyMs: number;
  /** Unique per run: session ids must not collide with earlier runs' stored sessions. */
  runTag: string;
  timeoutMs: number;
  /** Called with the trial's tape before it starts and after it ends (the fake AI's STT oracle). */
  tapes?: { register(tape: SessionTape): void; unregister(sessionId: string): void };
}

/** Drives SimBrowsers' clocks from one timer. */
export class Ticker {
  private readonly browsers = new Set<SimBrowser>();
  private timer: NodeJS.Timeout | undefined;

  add(b: SimBrowser): void {
    b.start(performance.now());
    this.browsers.add(b);
    this.timer ??= setInterval(() => {
      const now = performance.now();
      for (const x of this.browsers) x.pump(now);
    }, 2);
  }

  remove(b: SimBrowser): void {
    this.browsers.delete(b);
    if (this.browsers.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}

/** Connect `browser` and run it on `ticker` until `done`, then close it; the oracle keeps its tape a while longer. */
export async function playTrial(browser: SimBrowser, ticker: Ticker, done: Promise<void>, tapes: TrialEnvironment["tapes"]): Promise<void> {
  try {
    await browser.connect();
    ticker.add(browser);
    await done;
  } finally {
    ticker.remove(browser);
    await browser.close();
    // The server may still transcribe what it heard last; answer that for a while.
    setTimeout(() => tapes?.unregister(browser.sessionId), TAPE_KEPT_MS).unref();
  }
}

async function eventClip(plan: TrialPlan, clips: ClipLibrary): Promise<Clip | undefined> {
  const e = plan.event;
  if (e.type === "none") return undefined;
  if (e.source === "cough" || e.source === "click" || e.source === "noise-burst") return clips.sound(e.source, e.soundSeed);
  if (!e.phrase) throw new Error(`${plan.id}: ${e.source} without a phrase`);
  return clips.speech(e.source, e.phrase, plan.voice);
}

export async function runTrial(env: TrialEnvironment, plan: TrialPlan, ticker: Ticker): Promise<TrialOutcome> {
  const spec = scenario(plan.kind);
  const session = await benchSession();
  const sessionId = session.id;
  const question = await env.clips.speech("question", plan.question, plan.voice);
  const event = await eventClip(plan, env.clips);
  const tape = new SessionTape(sessionId, { levelDb: plan.echo.levelDb, delaySamples: msToSamples(plan.echo.delayMs) });
  const mixer = new MicMixer({ roomSeed: plan.roomSeed, echoDb: plan.echo.levelDb, echoDelaySamples: msToSamples(plan.echo.delayMs) });
  const browser = new SimBrowser({ url: env.url, session, tape, mixer });
  env.tapes?.register(tape);

  const leadTicks = LEAD_MS / 20;
  let tick = 0;
  let questionAt: number | undefined;
  let firstReplyId: string | undefined;
  let eventAt: number | undefined;
  let settledAt: number | undefined;
  let timedOut = false;
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  let doneAt: number | undefined;

  browser.onTick = () => {
    tick++;
    const clock = browser.clock;
    if (browser.clockMs >= env.timeoutMs) {
      timedOut = true;
      finish();
    }
    if (tick === leadTicks) {
      questionAt = clock;
      browser.schedule(question, clock);
    }
    if (questionAt !== undefined && firstReplyId === undefined) {
      const after = questionAt;
      firstReplyId = browser.obs.states.find((s) => s.at >= after && s.state === "thinking" && s.replyId)?.replyId;
    }
    const replyId = firstReplyId;
    if (replyId === undefined) return;
    if (event && eventAt === undefined && settledAt === undefined) {
      const at = eventMoment(plan, browser, replyId, env.expectedReplyMs);
      if (at !== undefined && at <= clock) {
        eventAt = clock;
        browser.schedule(event, clock);
      }
    }
    if (settledAt === undefined && replySettled(browser, replyId)) settledAt = clock;
    if (doneAt === undefined && settledAt !== undefined && !browser.userSoundPending) {
      // No event, or the reply was over before it could happen: nothing left to wait for.
      let over = eventAt === undefined;
      const from = eventAt;
      if (event && from !== undefined) {
        const decided =
          clock - (from + event.samples.length) >= msToSamples(DECISION_WAIT_MS) || browser.obs.decisions.some((d) => d.at >= from);
        const nextTurnHeard = browser.obs.transcripts.some((t) => t.kind === "turn" && t.at >= from);
        over = decided && (!replyCut(browser, replyId) || nextTurnHeard || clock - settledAt >= msToSamples(NEXT_TURN_WAIT_MS));
      }
      if (over) doneAt = clock + msToSamples(LINGER_MS);
    }
    if (doneAt !== undefined && clock >= doneAt) finish();
  };

  await playTrial(browser, ticker, done, env.tapes);
  const stored = await storedMessages(env.url, session);
  return classifyTrial({ plan, spec, sessionId, browser, firstReplyId, eventAt, event, timedOut, stored });
}

/** Session sample at which the scenario's event should start, once it can be known. */
function eventMoment(plan: TrialPlan, browser: SimBrowser, replyId: string, expectedReplyMs: number): number | undefined {
  const e = plan.event;
  if (e.type === "after-thinking") {
    const thinking = browser.obs.states.find((s) => s.state === "thinking" && s.replyId === replyId);
    return thinking ? thinking.at + msToSamples(e.delayMs) : undefined;
  }
  if (e.type !== "over-reply") return undefined;
  const pos = browser.position;
  if (!pos || pos.replyId !== replyId) return undefined;
  return browser.tracker.progressMs(replyId, pos.segment, pos.playedMs) >= e.atShare * expectedReplyMs ? browser.clock : undefined;
}

/** The first reply is over for the listener: played out, or stopped for good. */
function replySettled(browser: SimBrowser, replyId: string): boolean {
  return browser.obs.finished.has(replyId) || browser.obs.stopped.has(replyId) || replyCut(browser, replyId);
}

async function storedMessages(url: string, session: BenchSession): Promise<StoredMessage[] | undefined> {
  try {
    const res = await fetch(`${url}/api/sessions/${session.id}`, { headers: { Authorization: session.authorization } });
    if (!res.ok) return undefined;
    const body = (await res.json()) as { messages?: StoredMessage[] };
    return body.messages?.map((m) => ({
      role: m.role,
      text: m.text,
      status: m.status,
      ...(m.kind !== undefined && { kind: m.kind }),
      ...(m.replyId !== undefined && { replyId: m.replyId }),
    }));
  } catch {
    return undefined;
  }
}

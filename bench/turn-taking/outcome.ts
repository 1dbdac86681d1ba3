// What happened in one trial, from the simulated listener's side: was the first reply cut short
// (and should it have been), did it pause, how fast did it go silent, and what of it was never
// heard. All times are on the session's sample clock, from the onset of the user's sound (the
// first voiced sample of the clip fed to the microphone).
import type { TurnTakingSettings } from "../../shared/protocol.ts";
import type { Clip } from "./clips.ts";
import { replyWords } from "./reply-script.ts";
import type { ScenarioSpec, TrialPlan } from "./scenarios.ts";
import type { SimBrowser } from "./sim-browser.ts";
import { samplesToMs } from "./speech-timing.ts";

export interface StoredMessage {
  role: string;
  text: string;
  status: string;
  kind?: string;
  replyId?: string;
}

export interface TrialOutcome {
  id: string;
  kind: ScenarioSpec["kind"];
  expect: ScenarioSpec["expect"];
  sessionId: string;
  voice: string;
  echo: { levelDb: number; delayMs: number };
  /** The event as it happened, e.g. `backchannel "Uh-huh." at 43 % of the reply`. */
  event: string;
  timedOut: boolean;
  /** The server's settings, from `ready`. */
  turnTaking: TurnTakingSettings | null;
  /** The first reply's audio was heard at all. */
  replyHeard: boolean;
  /** Barge-in onsets the client sent for the first reply (its detector paused playback). */
  clientPauses: number;
  /** `state: paused` from the server for the first reply. */
  serverPauses: number;
  decisions: { decision: string; reason: string; transcript?: string; atMs: number }[];
  fallbackResumes: number;
  /** The server cut the first reply short (confirmed interruption, barge-in or superseded). */
  cut: boolean;
  /** The first reply played to its end. */
  playedOut: boolean;
  /** The scenario's sound reached the microphone (not when the reply was over before its moment). */
  eventFired: boolean;
  /** Cut although the user said nothing meant for the assistant (interrupt-type: cut before the user spoke). */
  falseInterruption: boolean;
  /** interrupt-type, once the user spoke: the reply was not cut. */
  missedInterruption: boolean | null;
  /** ignore-type: played out, not cut. */
  resumed: boolean | null;
  /** Onset -> the reply went silent (pause or stop completed; 0 when nothing was audible after the onset). */
  onsetToSilenceMs: number | null;
  /** Onset -> `interruption confirmed` (or the end of the turn by barge-in / supersede) reached the client. */
  onsetToConfirmedMs: number | null;
  /** Onset -> confirmed and silent for good: the later of the confirmation and the reply's last audible sample. */
  onsetToSilentForGoodMs: number | null;
  /** Played-out replies: words of the reply never played. */
  wordsLost: number | null;
  lostWords: string[];
  /** Backchannel user messages stored for the first reply. */
  storedBackchannels: number | null;
  transcripts: { atMs: number; kind: string; text: string }[];
  storedMessages: StoredMessage[] | null;
  errors: Record<string, number>;
  invalidMessages: string[];
  log: string[];
}

export interface TrialRecord {
  plan: TrialPlan;
  spec: ScenarioSpec;
  sessionId: string;
  browser: SimBrowser;
  firstReplyId: string | undefined;
  eventAt: number | undefined;
  event: Clip | undefined;
  timedOut: boolean;
  stored: StoredMessage[] | undefined;
}

/** When the server cut the reply short: an interruption confirmed, or the turn ended by a barge-in or a new turn. */
export function cutTime(browser: SimBrowser, replyId: string): number | undefined {
  const o = browser.obs;
  const times = [
    ...o.decisions.filter((d) => d.replyId === replyId && d.decision === "confirmed").map((d) => d.at),
    ...[o.replyHeard.get(replyId), o.replyDone.get(replyId)]
      .filter((x) => x && (x.endReason === "barge-in" || x.endReason === "superseded"))
      .map((x) => x!.at),
  ];
  return times.length ? Math.min(...times) : undefined;
}

export function replyCut(browser: SimBrowser, replyId: string): boolean {
  return cutTime(browser, replyId) !== undefined;
}

const ms = (samples: number) => Math.round(samplesToMs(samples));

function describeEvent(r: TrialRecord): string {
  const e = r.plan.event;
  if (e.type === "none") return "reply with its echo only";
  const what = `${e.source}${r.event?.text ? ` "${r.event.text}"` : ""}`;
  if (r.eventAt === undefined) return `${what}: never fired`;
  if (e.type === "after-thinking") return `${what} ${e.delayMs} ms after thinking`;
  return `${what} at ${Math.round(e.atShare * 100)} % of the reply`;
}

export function classifyTrial(r: TrialRecord): TrialOutcome {
  const o = r.browser.obs;
  const reply = r.firstReplyId;
  const onset = r.eventAt !== undefined && r.event ? r.eventAt + r.event.onset : undefined;
  const cutAt = reply === undefined ? undefined : cutTime(r.browser, reply);
  const cut = cutAt !== undefined;
  // Cut after the user's sound began: the server acted on it (for an ignore-type scenario, wrongly).
  const cutByUser = cut && onset !== undefined && cutAt >= onset;
  const playedOut = reply !== undefined && o.finished.has(reply) && !cut;
  const lastAudible = reply === undefined ? undefined : r.browser.tracker.lastAudibleClock(reply);

  let onsetToSilenceMs: number | null = null;
  if (onset !== undefined && reply !== undefined) {
    if (lastAudible === undefined || lastAudible <= onset) onsetToSilenceMs = 0;
    else {
      const silentAt = [...o.pauses.filter((p) => p.replyId === reply).map((p) => p.at), o.stopped.get(reply) ?? Infinity].filter(
        (t) => t >= onset,
      );
      const first = Math.min(...silentAt);
      onsetToSilenceMs = Number.isFinite(first) ? ms(first - onset) : null;
    }
  }

  let onsetToConfirmedMs: number | null = null;
  let onsetToSilentForGoodMs: number | null = null;
  if (cutByUser) {
    onsetToConfirmedMs = ms(cutAt - onset);
    onsetToSilentForGoodMs = ms(Math.max(cutAt, lastAudible ?? 0) - onset);
  }

  const lost = playedOut && reply !== undefined ? r.browser.tracker.wordsLost(reply, replyWords().length) : undefined;
  const expectIgnore = r.spec.expect === "ignore";
  const stored = r.stored;
  return {
    id: r.plan.id,
    kind: r.plan.kind,
    expect: r.spec.expect,
    sessionId: r.sessionId,
    voice: r.plan.voice,
    echo: r.plan.echo,
    event: describeEvent(r),
    timedOut: r.timedOut,
    turnTaking: r.browser.turnTaking ?? null,
    replyHeard: lastAudible !== undefined,
    clientPauses: o.onsets.filter((x) => x.replyId === reply).length,
    serverPauses: o.states.filter((s) => s.state === "paused" && s.replyId === reply).length,
    decisions: o.decisions
      .filter((d) => d.replyId === reply)
      .map((d) => ({
        decision: d.decision,
        reason: d.reason,
        ...(d.transcript !== undefined && { transcript: d.transcript }),
        atMs: ms(d.at),
      })),
    fallbackResumes: o.fallbackResumes,
    cut,
    playedOut,
    eventFired: onset !== undefined,
    falseInterruption: expectIgnore ? cut : cut && !cutByUser,
    missedInterruption: expectIgnore || onset === undefined ? null : !cutByUser,
    resumed: expectIgnore ? playedOut : null,
    onsetToSilenceMs,
    onsetToConfirmedMs,
    onsetToSilentForGoodMs,
    wordsLost: lost ? lost.lost : null,
    lostWords: lost ? lost.words : [],
    storedBackchannels: stored
      ? stored.filter((m) => m.role === "user" && m.kind === "backchannel" && (reply === undefined || m.replyId === reply)).length
      : null,
    transcripts: o.transcripts.map((t) => ({ atMs: ms(t.at), kind: t.kind, text: t.text })),
    storedMessages: stored ?? null,
    errors: o.errors,
    invalidMessages: o.invalidMessages,
    log: r.browser.log,
  };
}

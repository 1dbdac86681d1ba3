// The turn-taking paths of `npm run bench`: end of the user's speech -> first reply audio at the client,
// endpointing included, for each way Parley can decide that a turn is over, side by side in one run.
// Each path is the real Worker in its own workerd (server/worker.ts, unchanged, configured by wrangler
// vars) with the bench fake Workers AI in its `workers-ai` mode: latencies from
// bench/profiles/workers-ai.ts, smart-turn answering "complete" (every fixture is a finished sentence),
// Flux deciding the end of turn on the audio it receives at the profile's delays, Nova-3 live sending
// interim and final results. Clients stream the flite fixtures in real time, as the overhead phases do.
import { dist, type Dist } from "./analyze.ts";
import { SimClient, driveClients, type TurnRecord } from "./client.ts";
import { FRAME_MS, loadFixtures, type Fixture } from "./fixtures.ts";
import { computeExpectations } from "./expectations.ts";
import { DEFAULT_LATENCIES } from "./latency-model.ts";
import { machineBusyOver } from "./proc.ts";
import { PATH_VARS } from "./path-vars.ts";
import { startSystem } from "./server.ts";
import { WORKERS_AI_PROFILE as W } from "../profiles/workers-ai.ts";
import { fluxEagerMs, fluxEndOfTurnMs, llmTokenDueMs, melottsMs, smartTurnCallMs, whisperMs } from "../profiles/workers-ai.ts";
import { benchSession, type BenchSession } from "./session-access.ts";
import { SMART_TURN_PAUSE_MS, WORDS_PAUSE_MS } from "../../server/config.ts";

export interface TurnPath {
  id: string;
  label: string;
  /** Parley's wrangler vars for this path. */
  vars: Record<string, string>;
  /** From which event to which, and what lies between. */
  measures: string;
}

export const TURN_PATHS: readonly TurnPath[] = [
  {
    id: "baseline",
    label: "baseline: silence 500 ms",
    vars: PATH_VARS.baseline,
    measures: "500 ms of silence ends the turn, then Whisper on the utterance -> LLM -> TTS of the first chunk",
  },
  {
    id: "smart-turn",
    label: "batch + smart-turn, speculative",
    vars: PATH_VARS.smartTurn,
    measures: `at the ${SMART_TURN_PAUSE_MS} ms pause: smart-turn (answers complete) and a held reply (Whisper on the audio so far -> LLM -> TTS); complete ends the turn and releases it`,
  },
  {
    id: "flux-eager",
    label: "streaming Flux, eager",
    vars: { STT_MODE: "streaming", STT_STREAMING_MODEL: "@cf/deepgram/flux" },
    measures:
      "Flux's EagerEndOfTurn, or Flux's words judged finished at a pause, start a held reply (LLM -> TTS); Flux's EndOfTurn releases it, or Parley forces one (ForceEndTurn) after 600 ms of silence on finished words",
  },
  {
    id: "flux-eager-alone",
    label: "streaming Flux, eager, no forced end",
    vars: { STT_MODE: "streaming", STT_STREAMING_MODEL: "@cf/deepgram/flux", FLUX_FORCE_END: "false" },
    measures: "the model alone: Flux's EagerEndOfTurn starts a held reply (LLM -> TTS, transcript from Flux); its EndOfTurn releases it",
  },
  {
    id: "flux",
    label: "streaming Flux, no eager",
    vars: { STT_MODE: "streaming", STT_STREAMING_MODEL: "@cf/deepgram/flux", FLUX_EAGER_EOT_THRESHOLD: "off" },
    measures:
      "Flux's EndOfTurn (transcript included) or, on finished words, Parley's forced one starts the reply: LLM -> TTS (a held reply may start at a pause)",
  },
  {
    id: "nova-transcript",
    label: "streaming Nova-3 + transcript",
    vars: PATH_VARS.novaTranscript,
    measures: `at the ${WORDS_PAUSE_MS} ms pause the interim words are judged (complete: the turn ends at 400 ms of silence) and a held reply starts (Nova Finalize -> LLM -> TTS)`,
  },
];

export interface PathsOptions {
  /** Paths to run (ids of TURN_PATHS), in order. */
  paths: string[];
  /** Concurrent sessions per path. */
  sessions: number;
  /** Turns per session. */
  turnsPerSession: number;
  /** One unmeasured session of one turn per path first (JIT, module loading, sockets). */
  warmup: boolean;
  /** Silence after a reply (and its `playback finished` report) before the next question. */
  gapMs: number;
  turnTimeoutMs: number;
  log: (line: string) => void;
  signal?: AbortSignal;
}

export const DEFAULT_PATHS_OPTIONS: PathsOptions = {
  paths: TURN_PATHS.map((p) => p.id),
  sessions: 4,
  turnsPerSession: 5,
  warmup: true,
  gapMs: 1_000,
  turnTimeoutMs: 15_000,
  log: (line) => console.error(line),
};

export interface PathTurn {
  fixture: string;
  /** End of user speech (send of the last voiced frame) -> first audio byte received, on the loopback. */
  ttfaMs: number | null;
  /** End of user speech -> the first `state` naming the reply (the turn's end as the client learns it). */
  endOfTurnMs: number | null;
  status: string | null;
  /** From reply-done: what ended the turn, whether the reply was speculative, and the server's endpointing. */
  endOfTurn: string | null;
  speculative: boolean;
  serverEndpointingMs: number | null;
  sttMs: number | null;
  wastedReplies: number;
  usd: number | null;
}

export interface PathResult {
  id: string;
  label: string;
  measures: string;
  vars: Record<string, string>;
  turnsPlanned: number;
  turnsCompleted: number;
  /** Loopback: end of speech -> first audio. */
  ttfaMs: Dist;
  /** ttfaMs + the profile's client <-> edge round trip: what a user on a real network would wait. */
  ttfaWithNetworkMs: Dist;
  endOfTurnMs: Dist;
  /** The model-latency floor of this path's critical path (profile figures only, no Parley code, no network). */
  idealMs: number;
  idealBreakdown: string;
  endOfTurnSources: Record<string, number>;
  turns: PathTurn[];
  errors: Record<string, number>;
  wallMs: number;
  clientLoopDelayP99Ms: number;
  workerdLogs: string[];
}

export interface PathsResult {
  version: 1;
  startedAt: string;
  durationMs: number;
  machineBusyBeforePct: number;
  options: Omit<PathsOptions, "log" | "signal">;
  clientEdgeRttMs: number;
  /** The fake's profile, as used (figures with their basis and source). */
  profile: typeof W;
  fixtures: { name: string; lastVoicedFrame: number; utteranceSamples: number }[];
  paths: PathResult[];
  incomplete: string[];
}

const LEAD_SILENCE_MS = 1_000;
const r0 = (x: number) => Math.round(x);

/** What the profile's model latencies alone give on each path (median Flux delays; uniform over the fixtures). */
export function idealPathMs(id: string, fixtures: Fixture[]): { ms: number; breakdown: string } {
  // The first chunk Parley speaks for the fake's reply and the token that releases it (the server's own chunker).
  const ex = computeExpectations(DEFAULT_LATENCIES, 500);
  const llm = llmTokenDueMs(ex.firstChunkTokens - 1);
  const tts = melottsMs(ex.firstChunk);
  const reply = llm + tts;
  // Whisper on what the detector hands over: the pause's audio (ends 200 ms after the speech) or the turn's.
  const stt = fixtures.reduce((s, f) => s + whisperMs(f.utteranceSamples / 16_000), 0) / fixtures.length;
  const rtt = W.network.doAiRttMs.value;
  const eot = fluxEndOfTurnMs(0.5);
  const eager = fluxEagerMs(eot);
  switch (id) {
    case "baseline":
      return { ms: r0(500 + stt + reply), breakdown: `500 silence + STT ${r0(stt)} + LLM ${r0(llm)} + TTS ${r0(tts)}` };
    case "smart-turn": {
      const pause = SMART_TURN_PAUSE_MS;
      const ready = pause + stt + reply;
      const confirmed = pause + smartTurnCallMs();
      return {
        ms: r0(Math.max(ready, confirmed)),
        breakdown: `max(${pause} pause + STT ${r0(stt)} + LLM ${r0(llm)} + TTS ${r0(tts)}, ${pause} + smart-turn ${smartTurnCallMs()})`,
      };
    }
    case "flux-eager":
    case "flux-eager-alone": {
      const ready = eager + rtt + reply;
      return {
        ms: r0(Math.max(ready, eot + rtt)),
        breakdown: `max(eager ${r0(eager)} + RTT ${rtt} + LLM ${r0(llm)} + TTS ${r0(tts)}, EndOfTurn ${r0(eot)} + RTT ${rtt})`,
      };
    }
    case "flux":
      return { ms: r0(eot + rtt + reply), breakdown: `EndOfTurn ${r0(eot)} + RTT ${rtt} + LLM ${r0(llm)} + TTS ${r0(tts)}` };
    case "nova-transcript": {
      const final = W.nova.finalizeMs.value + rtt;
      const ready = WORDS_PAUSE_MS + final + reply;
      return {
        ms: r0(Math.max(ready, 400)),
        breakdown: `max(${WORDS_PAUSE_MS} pause + Finalize ${final} + LLM ${r0(llm)} + TTS ${r0(tts)}, 400 silence)`,
      };
    }
    default:
      return { ms: NaN, breakdown: "" };
  }
}

function pathTurn(t: TurnRecord): PathTurn {
  const audio = t.segments.find((s) => s.index === 0)?.tAudio;
  const end = t.tEndSpeech;
  return {
    fixture: t.fixture,
    ttfaMs: audio !== undefined && end !== undefined ? audio - end : null,
    endOfTurnMs: t.tReplyState !== undefined && end !== undefined ? t.tReplyState - end : null,
    status: t.status ?? null,
    endOfTurn: t.metrics?.endOfTurn ?? null,
    speculative: t.metrics?.speculative === true,
    serverEndpointingMs: t.metrics?.endpointingMs ?? null,
    sttMs: t.metrics?.sttMs ?? null,
    wastedReplies: t.usage?.wasted?.replies ?? 0,
    usd: t.usage?.usd ?? null,
  };
}

async function runSessions(
  url: URL,
  sessions: BenchSession[],
  turns: number,
  o: PathsOptions,
  fixtures: Fixture[],
): Promise<{ clients: SimClient[]; loopP99: number }> {
  const base = url.href.replace(/^http/, "ws").replace(/\/$/, "");
  const n = sessions.length;
  const clients = sessions.map(
    (session, i) =>
      new SimClient(i, {
        url: `${base}/parties/voice-session/${session.id}`,
        protocols: session.protocols,
        fixtures,
        turns,
        // Spread the sessions' questions over a second so their turns do not end on the same frame.
        startDelayMs: LEAD_SILENCE_MS + (n > 1 ? Math.round((1_000 * i) / n) : 0),
        gapMs: o.gapMs,
        turnTimeoutMs: o.turnTimeoutMs,
        chunkDeltaIndex: 0,
        pingEveryMs: 0,
        waitFrom: "last-voiced",
        reportPlayback: true,
      }),
  );
  const longest = Math.max(...fixtures.map((f) => f.frames * FRAME_MS));
  const loopP99 = await driveClients(clients, {
    deadlineMs: () => LEAD_SILENCE_MS + 1_000 + turns * (longest + o.gapMs + 6_000) + o.turnTimeoutMs,
    signal: o.signal,
  });
  return { clients, loopP99 };
}

export async function runPaths(partial: Partial<PathsOptions> = {}): Promise<PathsResult> {
  const o: PathsOptions = { ...DEFAULT_PATHS_OPTIONS, ...partial };
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const fixtures = loadFixtures(500);
  const busy = await machineBusyOver(1_000);
  const turnsPlanned = o.sessions * o.turnsPerSession;
  const results: PathResult[] = [];
  const incomplete: string[] = [];
  const clientEdgeRttMs = W.network.clientEdgeRttMs.value;
  for (const id of o.paths) {
    if (o.signal?.aborted) break;
    const path = TURN_PATHS.find((p) => p.id === id);
    if (!path) throw new Error(`unknown turn-taking path ${id} (known: ${TURN_PATHS.map((p) => p.id).join(", ")})`);
    const started = performance.now();
    const sut = await startSystem({
      latencies: DEFAULT_LATENCIES,
      silenceMs: 500,
      parleyVars: path.vars,
      fakeVars: { FAKE_PROFILE: "workers-ai", FAKE_FLUX_STRATA: String(turnsPlanned) },
      naive: false,
    });
    try {
      if (o.warmup) await runSessions(sut.url, [await benchSession({ warmUp: true })], 1, o, fixtures);
      const sessions = await Promise.all(Array.from({ length: o.sessions }, () => benchSession()));
      const { clients, loopP99 } = await runSessions(sut.url, sessions, o.turnsPerSession, o, fixtures);
      const turns = clients.flatMap((c) => c.turns).map(pathTurn);
      const ok = turns.filter((t) => t.status === "complete" && t.ttfaMs !== null);
      const ttfa = ok.map((t) => t.ttfaMs!);
      const sources: Record<string, number> = {};
      for (const t of ok) sources[t.endOfTurn ?? "?"] = (sources[t.endOfTurn ?? "?"] ?? 0) + 1;
      const errors: Record<string, number> = {};
      for (const c of clients) for (const [k, v] of Object.entries(c.errors)) errors[k] = (errors[k] ?? 0) + v;
      const ideal = idealPathMs(id, fixtures);
      const r: PathResult = {
        id,
        label: path.label,
        measures: path.measures,
        vars: path.vars,
        turnsPlanned,
        turnsCompleted: ok.length,
        ttfaMs: dist(ttfa),
        ttfaWithNetworkMs: dist(ttfa.map((x) => x + clientEdgeRttMs)),
        endOfTurnMs: dist(ok.map((t) => t.endOfTurnMs ?? NaN)),
        idealMs: ideal.ms,
        idealBreakdown: ideal.breakdown,
        endOfTurnSources: sources,
        turns,
        errors,
        wallMs: Math.round(performance.now() - started),
        clientLoopDelayP99Ms: Math.round(loopP99 * 10) / 10,
        workerdLogs: sut.logs.slice(-30),
      };
      results.push(r);
      if (r.turnsCompleted < turnsPlanned) incomplete.push(`path ${id}: ${r.turnsCompleted}/${turnsPlanned} turns`);
      o.log(
        `path ${id.padEnd(15)} ${r.turnsCompleted}/${turnsPlanned} turns, end of speech -> first audio p50 ${r.ttfaMs.p50} / p95 ${r.ttfaMs.p95} ms (loopback; ideal ${r.idealMs}), ` +
          `ended by ${
            Object.entries(sources)
              .map(([k, v]) => `${k} x${v}`)
              .join(", ") || "-"
          }, ${(r.wallMs / 1000).toFixed(1)} s`,
      );
    } finally {
      await sut.dispose();
    }
  }
  const { log: _log, signal: _signal, ...options } = o;
  return {
    version: 1,
    startedAt,
    durationMs: Math.round(performance.now() - t0),
    machineBusyBeforePct: Math.round(busy * 10) / 10,
    options,
    clientEdgeRttMs,
    profile: W,
    fixtures: fixtures.map((f) => ({ name: f.name, lastVoicedFrame: f.lastVoicedFrame, utteranceSamples: f.utteranceSamples })),
    paths: results,
    incomplete,
  };
}

// Every tunable of a voice session, grouped by concern, with the defaults in one place.
// Deployments override them with wrangler [vars] (strings); a bad value fails loudly at startup.
import { z } from "zod";
import { DEFAULT_CHUNKER, type ChunkerOptions } from "./reply/sentence-chunker.ts";
import { DEFAULT_BACKCHANNELS } from "./interruption/backchannels.ts";
import { DEFAULT_SYSTEM_PROMPT } from "./reply/prompt.ts";
import { DEFAULT_TURN_DETECTION, type TurnDetectionOptions } from "./turn-detection/turn-detector.ts";
import type { EndOfTurnOptions } from "./end-of-turn/end-of-turn-policy.ts";
import { speakerProblem } from "../shared/workers-ai/aura-voices.ts";
import { FREE_NEURONS_PER_DAY, USD_PER_NEURON } from "./cost/cost.ts";
import type { AccessSettings } from "./access/access-jwt.ts";
import { normalizeOrigin } from "./access/origin.ts";
import type { RateLimits } from "./limits/input-limiter.ts";
import { freezeDeep } from "../shared/options.ts";

export interface ModelOptions {
  /** Speech-to-text model of the batch path, default @cf/openai/whisper-large-v3-turbo. */
  stt: string;
  /** Reply model, default @cf/meta/llama-3.1-8b-instruct-fp8 (see DEFAULT_CONFIG). */
  llm: string;
  /** Text-to-speech model, default @cf/myshell-ai/melotts. */
  tts: string;
  /** Voice for Aura models; ignored by melotts. Default unset: the model's own. */
  ttsSpeaker: string | undefined;
  /** Aura's output format when not its default MP3 (phone calls: 8 kHz linear PCM in WAV, server/phone/). Default unset. */
  ttsOutput?: AuraOutput;
  /** Default spoken language (a client may choose another per session), default "en". */
  language: string;
  /** What is bound as AI: real Workers AI, or (in development) the offline stand-in or the test fake. Default "workers-ai". */
  backend: "workers-ai" | "local" | "fake";
}

/** An Aura output format a Worker can decode: linear PCM in a WAV container (docs/telephony.md, "Audio"). */
export interface AuraOutput {
  encoding: "linear16";
  container: "wav";
  sampleRate: number;
}

export interface ReplyOptions {
  /** Default DEFAULT_SYSTEM_PROMPT (server/reply/prompt.ts). */
  systemPrompt: string;
  /** Most tokens of one reply, default 256. */
  maxTokens: number;
  /** Sampling temperature, default 0.6. */
  temperature: number;
  /** Characters of past conversation sent to the LLM (oldest messages are dropped first), default 12000. */
  historyBudgetChars: number;
}

/** Talking over the assistant: pause, confirm or resume (see shared/protocol.md, "Interruptions"). */
export interface InterruptionOptions {
  /** Speech over the reply must last this long (echo-gated) before it can confirm an interruption (ms), default 500. */
  minInterruptionMs: number;
  /** Words that are neither a backchannel nor the reply's own echo a transcript needs to confirm one, default 1. */
  minInterruptionWords: number;
  /** A candidate nothing confirmed this long after its speech ended (or after it opened) resumes the reply (ms), default 1500. */
  falseInterruptionTimeoutMs: number;
  /** A held candidate is transcribed once its speech has lasted this long (ms), default 150... */
  partialTranscriptMs: number;
  /** ...then each time it has grown this much (ms; two at most at once), default 150. */
  partialEveryMs: number;
  /** Share of a transcript's words matching, in order, the words being played for it to count as echo (0..1), default 0.5. */
  echoWordOverlap: number;
  /** Backchannel phrases per language (lower case; "uh-huh" also matches "uh huh"), default DEFAULT_BACKCHANNELS. */
  backchannels: Readonly<Record<string, readonly string[]>>;
}

/** How speech is recognized: after the turn (batch Whisper) or while it is spoken (a model socket). */
export interface SpeechRecognitionOptions {
  /** Default "batch" ("streaming" with the offline stand-in). */
  mode: "batch" | "streaming";
  /** `@cf/deepgram/flux` (English, ends turns itself) or `@cf/deepgram/nova-3` (interim results; Parley endpoints). Default flux (nova-3 offline). */
  streamingModel: string;
  /**
   * Flux's end of turn (docs/workers-ai.md, "Streaming recognition"). `forceEnd`: Parley also judges
   * Flux's words at each pause; words that read as finished start a held reply, and once the user's
   * learned silence (at least 600 ms) has passed Parley ends the turn with ForceEndTurn instead of
   * waiting for the model's slower endings. Defaults: eotThreshold 0.7, eagerEotThreshold 0.5, eotTimeoutMs 3000, forceEnd true.
   */
  flux: { eotThreshold: number; eagerEotThreshold: number | null; eotTimeoutMs: number; forceEnd: boolean };
  /** Words to boost in streaming recognition (names, product terms), default none. */
  keyterms: readonly string[];
  /** Nova: longest wait for the final transcript after Parley's end of turn, before going on with what is known (ms), default 800. */
  finalizeTimeoutMs: number;
}

/**
 * The pause at which smart-turn is asked, when it is the judge (the default): it hears the audio itself
 * (intonation, not only words), so it can be asked sooner than words can be judged. 200 ms is the VAD
 * stop time Pipecat pairs with its turn models. A turn smart-turn calls complete ends at this mark.
 */
export const SMART_TURN_PAUSE_MS = 200;
/**
 * The pause at which the words heard so far are judged (transcript signal; Flux's words): a streaming
 * recognizer hands a word over ~200 ms after it is spoken, so the last one must have had time to arrive.
 */
export const WORDS_PAUSE_MS = 250;

/** Deciding that the user's turn is over (batch path, and Nova streaming; with Flux, only the words Flux is slow to end: recognition.flux.forceEnd). The timings are the policy's (end-of-turn-policy.ts). */
export interface EndOfTurnConfig extends EndOfTurnOptions {
  /** silence: a fixed silence (turnDetection.silenceMs, adapted per user); smart-turn: ask the model at a short pause; transcript: judge the words heard so far (streaming recognition). Default smart-turn. */
  detector: "silence" | "smart-turn" | "transcript";
  /** Default @cf/pipecat-ai/smart-turn-v2. */
  smartTurnModel: string;
  /** Start the reply at the pause (or Flux's EagerEndOfTurn), holding its audio until the turn is confirmed; default true. */
  speculative: boolean;
  /** Learn the silence from the user's own mid-sentence pauses (kept with the session); default true. */
  adaptive: boolean;
}

export interface ReliabilityOptions {
  /** Per attempt: STT and TTS calls, and the LLM's wait for its first token (ms), default 15000. */
  aiTimeoutMs: number;
  /** Longest silence inside a streamed reply before it counts as broken (ms), default 10000. */
  streamIdleMs: number;
  /** Retries of a retryable failure (capacity, 5xx, timeout) before the turn fails, default 2. */
  maxRetries: number;
  /** Wait before the first retry, doubled for each next one, with jitter (ms), default 250. */
  retryBaseMs: number;
  /** TTS requests in flight at once for one reply (later sentences synthesize while earlier ones are sent), default 2. */
  ttsConcurrency: number;
  /** A new turn waits at most this long for the previous one to store its reply: a wedged turn cannot block the session (ms), default 3000. */
  turnSettleMs: number;
  /** Without a report from the client, a reply's playback is taken as over this long after its audio should have ended (ms), default 2000. */
  playbackGraceMs: number;
}

/**
 * Floods and sizes (README, "Rate limits and sizes"): rates per connection, per client IP within a
 * session and per session (bursts of 2 s); a connection still over its limit `closeAfterMs` after it
 * first went over is closed with 1008.
 */
export interface InputLimits extends RateLimits {
  /** `ready` carries the newest history up to this many bytes of JSON; older messages are at /api/sessions/<id>. Default 256 KiB. */
  readyHistoryBytes: number;
  /**
   * Connections are closed (CLOSE_CODES.idle) after this long with nobody speaking or typing and nothing
   * being said (server/limits/idle-close.ts): an open tab does not keep its session billed (ms). Default 600000 (10 min); 0 = never.
   */
  idleCloseMs: number;
}

/** Restarts and deploys (server/turn/turn-recovery.ts; README "Restarts and deploys"). */
export interface RestartOptions {
  /** A reply a restart cut off is retried only if a client connects within this long of its last activity (ms), default 120000. */
  retryWithinMs: number;
  /** A drain waits this long for the turns it cuts off to store what was heard, then closes the sockets anyway (ms), default 2000. */
  drainSettleMs: number;
  /**
   * Secret of the dev server's drain route (POST /api/internal/drain), which `npm start` generates per
   * run. Unset (always, in production) the route does not exist.
   */
  drainSecret: string | undefined;
}

export interface BudgetOptions {
  /** Stop spending in a session once its Workers AI cost reaches this (USD; 0 = no limit), default 0.055. */
  sessionUsd: number;
  /** Workers AI neurons all sessions together may spend per UTC day (null = no limit), default FREE_NEURONS_PER_DAY (10,000; no limit offline). */
  dailyNeurons: number | null;
}

/** Recordings of each turn in R2 (README, "Hearing one"): the user's utterance and the reply as heard. */
export interface RecordingOptions {
  /** RECORD_AUDIO: on by default for the offline stand-in and the test fake (local development), opt-in (default false) on Workers AI. */
  enabled: boolean;
  /** Recordings are deleted this many days after they were made (RECORDING_RETENTION_DAYS); 0 = kept until the session is deleted. Default 30. */
  retentionDays: number;
}

export interface ParleyConfig {
  models: ModelOptions;
  recognition: SpeechRecognitionOptions;
  turnDetection: TurnDetectionOptions;
  endOfTurn: EndOfTurnConfig;
  interruption: InterruptionOptions;
  reply: ReplyOptions;
  chunking: ChunkerOptions;
  reliability: ReliabilityOptions;
  limits: InputLimits;
  budgets: BudgetOptions;
  restarts: RestartOptions;
  recordings: RecordingOptions;
}

export const DEFAULT_CONFIG: Readonly<ParleyConfig> = freezeDeep({
  models: {
    stt: "@cf/openai/whisper-large-v3-turbo",
    // `@cf/meta/llama-3.1-8b-instruct` was retired on 2026-05-30. `-fp8` is the same 8B model, active, typed
    // in @cloudflare/workers-types, with a 32k context; 3.2-3b is cheaper but weaker at conversation, and
    // 3.3-70b costs ~8x more per output token with a longer first-token wait.
    llm: "@cf/meta/llama-3.1-8b-instruct-fp8",
    tts: "@cf/myshell-ai/melotts",
    ttsSpeaker: undefined,
    language: "en",
    backend: "workers-ai",
  },
  recognition: {
    mode: "batch",
    streamingModel: "@cf/deepgram/flux",
    flux: { eotThreshold: 0.7, eagerEotThreshold: 0.5, eotTimeoutMs: 3000, forceEnd: true },
    keyterms: [],
    finalizeTimeoutMs: 800,
  },
  turnDetection: { ...DEFAULT_TURN_DETECTION, pauseMs: SMART_TURN_PAUSE_MS },
  // maxSilenceMs 1800: someone mid-sentence searching for a word rarely pauses longer; waiting more would
  // make a wrong "incomplete" feel like the assistant hung (Pipecat waits 3 s). smartTurnThreshold 0.5:
  // the model's own is_complete cut-off. smartTurnTimeoutMs 400: inference takes tens of ms plus the
  // round trip; an answer 200 + 400 ms into the silence still beats most learned silences, a later one not.
  endOfTurn: {
    detector: "smart-turn",
    pauseMs: SMART_TURN_PAUSE_MS,
    completeSilenceMs: SMART_TURN_PAUSE_MS,
    maxSilenceMs: 1800,
    smartTurnModel: "@cf/pipecat-ai/smart-turn-v2",
    smartTurnThreshold: 0.5,
    smartTurnTimeoutMs: 400,
    speculative: true,
    adaptive: true,
  },
  interruption: {
    minInterruptionMs: 500,
    minInterruptionWords: 1,
    falseInterruptionTimeoutMs: 1500,
    partialTranscriptMs: 150,
    partialEveryMs: 150,
    echoWordOverlap: 0.5,
    backchannels: DEFAULT_BACKCHANNELS,
  },
  reply: { systemPrompt: DEFAULT_SYSTEM_PROMPT, maxTokens: 256, temperature: 0.6, historyBudgetChars: 12_000 },
  chunking: DEFAULT_CHUNKER,
  reliability: {
    aiTimeoutMs: 15_000,
    streamIdleMs: 10_000,
    maxRetries: 2,
    retryBaseMs: 250,
    ttsConcurrency: 2,
    turnSettleMs: 3_000,
    playbackGraceMs: 2_000,
  },
  limits: {
    messagesPerSecond: 50,
    ipMessagesPerSecond: 60,
    sessionMessagesPerSecond: 100,
    audioRealtimeFactor: 1.5,
    ipAudioRealtimeFactor: 2,
    sessionAudioRealtimeFactor: 4,
    turnsPerSecond: 2,
    closeAfterMs: 1_000,
    closeAfterDrops: 1_000,
    readyHistoryBytes: 256 * 1024,
    idleCloseMs: 10 * 60_000,
  },
  // The daily default is Workers AI's free allocation: a fresh deployment never spends money. A session
  // may use half of it ($0.055 of 10,000 neurons at $0.011 per 1,000), so one long conversation does
  // not lock everyone else out.
  budgets: { sessionUsd: 0.055, dailyNeurons: FREE_NEURONS_PER_DAY },
  restarts: { retryWithinMs: 120_000, drainSettleMs: 2_000, drainSecret: undefined },
  // Recording people's voices in production is opt-in: off for Workers AI unless RECORD_AUDIO=true.
  recordings: { enabled: false, retentionDays: 30 },
});

const num = (min: number, max: number) => z.coerce.number().min(min).max(max);
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z.enum(["true", "false"]).transform((v) => v === "true");
const modelId = z.string().regex(/^@cf\/[\w.-]+\/[\w.-]+$/, "expected a Workers AI model id like @cf/meta/llama-3.2-3b-instruct");

/** Where a setting lives in a config group: "models.stt", "recognition.flux.eotThreshold" in ParleyConfig. */
type ConfigPath<T = ParleyConfig> = {
  [K in keyof T & string]: T[K] extends string | number | boolean | null | undefined | readonly unknown[] ? K : `${K}.${ConfigPath<T[K]>}`;
}[keyof T & string];
type ValueAt<P extends string, T = ParleyConfig> = P extends `${infer K}.${infer Rest}`
  ? K extends keyof T
    ? ValueAt<Rest, T[K]>
    : never
  : P extends keyof T
    ? T[P]
    : never;

/** A wrangler var, the setting of config `C` it overrides, and how its string is read (the schema's message names what is wrong). */
type Setting<C> = readonly [name: string, path: ConfigPath<C>, schema: z.ZodType];
/** Each row's schema must yield the type of the setting its path names: a wrong path or schema fails the typecheck. */
type CheckedSettings<C, T extends readonly Setting<C>[]> = {
  readonly [K in keyof T]: T[K] extends readonly [infer N, infer P extends ConfigPath<C>, z.ZodType]
    ? readonly [N, P, z.ZodType<ValueAt<P, C>>]
    : never;
};
/** The settings table of config `C`: every wrangler var it reads, one row each. */
const settingsOf =
  <C>() =>
  <const T extends readonly Setting<C>[]>(rows: T & CheckedSettings<C, T>): T =>
    rows;

/** Writes each set var of `rows` into `config` (each schema reads the string); returns the names that were set. */
function applySettings<N extends string>(
  rows: readonly (readonly [N, string, z.ZodType])[],
  env: Record<string, unknown>,
  config: object,
): Set<N> {
  const given = new Set<N>();
  for (const [name, path, schema] of rows) {
    if (!isSet(env[name])) continue;
    const parsed = schema.safeParse(env[name]);
    if (!parsed.success) throw configError(parsed.error, name);
    const keys = path.split(".");
    let group = config as Record<string, unknown>;
    for (const key of keys.slice(0, -1)) group = group[key] as Record<string, unknown>;
    group[keys.at(-1)!] = parsed.data;
    given.add(name);
  }
  return given;
}

const SETTINGS = settingsOf<ParleyConfig>()([
  ["STT_MODEL", "models.stt", modelId],
  ["LLM_MODEL", "models.llm", modelId],
  ["TTS_MODEL", "models.tts", modelId],
  ["TTS_SPEAKER", "models.ttsSpeaker", z.string().min(1)],
  ["LANGUAGE", "models.language", z.string().regex(/^[a-z]{2,3}$/)],
  ["AI_BACKEND", "models.backend", z.enum(["workers-ai", "local", "fake"])],
  ["SYSTEM_PROMPT", "reply.systemPrompt", z.string().min(1)],
  ["LLM_MAX_TOKENS", "reply.maxTokens", int(16, 4096)],
  ["LLM_TEMPERATURE", "reply.temperature", num(0, 5)],
  ["HISTORY_BUDGET_CHARS", "reply.historyBudgetChars", int(0, 500_000)],
  ["VAD_THRESHOLD_DB", "turnDetection.speechThresholdDb", num(3, 40)],
  ["VAD_MIN_SPEECH_MS", "turnDetection.minSpeechMs", int(20, 2_000)],
  ["VAD_SILENCE_MS", "turnDetection.silenceMs", int(100, 5_000)],
  ["VAD_MAX_UTTERANCE_MS", "turnDetection.maxUtteranceMs", int(1_000, 120_000)],
  ["STT_MODE", "recognition.mode", z.enum(["batch", "streaming"])],
  ["STT_STREAMING_MODEL", "recognition.streamingModel", z.enum(["@cf/deepgram/flux", "@cf/deepgram/nova-3"])],
  ["FLUX_EOT_THRESHOLD", "recognition.flux.eotThreshold", num(0.5, 0.9)],
  [
    "FLUX_EAGER_EOT_THRESHOLD",
    "recognition.flux.eagerEotThreshold",
    z.union([z.literal("off"), z.coerce.number().min(0.3).max(0.9)]).transform((v) => (v === "off" ? null : v)),
  ],
  ["FLUX_EOT_TIMEOUT_MS", "recognition.flux.eotTimeoutMs", int(500, 60_000)],
  ["FLUX_FORCE_END", "recognition.flux.forceEnd", bool],
  [
    "STT_KEYTERMS",
    "recognition.keyterms",
    z
      .string()
      .max(2_000)
      .transform((v) =>
        v
          .split(",")
          .map((k) => k.trim())
          .filter((k) => k !== "")
          .slice(0, 50),
      ),
  ],
  ["END_OF_TURN", "endOfTurn.detector", z.enum(["silence", "smart-turn", "transcript"])],
  ["END_OF_TURN_PAUSE_MS", "endOfTurn.pauseMs", int(100, 1_000)],
  ["MAX_SILENCE_MS", "endOfTurn.maxSilenceMs", int(500, 10_000)],
  ["SMART_TURN_MODEL", "endOfTurn.smartTurnModel", modelId],
  ["SMART_TURN_THRESHOLD", "endOfTurn.smartTurnThreshold", num(0, 1)],
  ["SMART_TURN_TIMEOUT_MS", "endOfTurn.smartTurnTimeoutMs", int(50, 5_000)],
  ["SPECULATIVE_REPLIES", "endOfTurn.speculative", bool],
  ["ADAPTIVE_SILENCE", "endOfTurn.adaptive", bool],
  ["MIN_INTERRUPTION_MS", "interruption.minInterruptionMs", int(0, 5_000)],
  ["MIN_INTERRUPTION_WORDS", "interruption.minInterruptionWords", int(0, 20)],
  ["FALSE_INTERRUPTION_TIMEOUT_MS", "interruption.falseInterruptionTimeoutMs", int(200, 10_000)],
  ["AI_TIMEOUT_MS", "reliability.aiTimeoutMs", int(500, 120_000)],
  ["AI_STREAM_IDLE_MS", "reliability.streamIdleMs", int(500, 120_000)],
  ["AI_MAX_RETRIES", "reliability.maxRetries", int(0, 5)],
  ["SESSION_BUDGET_USD", "budgets.sessionUsd", num(0, 1_000)],
  [
    "DAILY_BUDGET_NEURONS",
    "budgets.dailyNeurons",
    z.union([z.literal("off"), z.coerce.number().int().min(0).max(1_000_000_000)]).transform((v) => (v === "off" ? null : v)),
  ],
  ["DAILY_BUDGET_USD", "budgets.dailyNeurons", num(0, 1_000_000).transform((usd) => Math.round(usd / USD_PER_NEURON))],
  ["MESSAGES_PER_SECOND", "limits.messagesPerSecond", num(1, 10_000)],
  ["IP_MESSAGES_PER_SECOND", "limits.ipMessagesPerSecond", num(1, 10_000)],
  ["SESSION_MESSAGES_PER_SECOND", "limits.sessionMessagesPerSecond", num(1, 10_000)],
  ["AUDIO_REALTIME_FACTOR", "limits.audioRealtimeFactor", num(1, 100)],
  ["IP_AUDIO_REALTIME_FACTOR", "limits.ipAudioRealtimeFactor", num(1, 100)],
  ["SESSION_AUDIO_REALTIME_FACTOR", "limits.sessionAudioRealtimeFactor", num(1, 100)],
  ["TURNS_PER_SECOND", "limits.turnsPerSecond", num(0.1, 1_000)],
  ["RATE_LIMIT_GRACE_MS", "limits.closeAfterMs", int(0, 60_000)],
  ["RATE_LIMIT_CLOSE_AFTER_DROPS", "limits.closeAfterDrops", int(1, 1_000_000)],
  // Well under the 1 MiB a WebSocket message may carry, with room for the rest of `ready`.
  ["READY_HISTORY_BYTES", "limits.readyHistoryBytes", int(1_024, 768 * 1024)],
  ["IDLE_CLOSE_MS", "limits.idleCloseMs", int(0, 24 * 3_600_000)],
  ["RECORD_AUDIO", "recordings.enabled", bool],
  ["RECORDING_RETENTION_DAYS", "recordings.retentionDays", int(0, 3_650)],
  ["DRAIN_SECRET", "restarts.drainSecret", z.string().min(32, "DRAIN_SECRET must be at least 32 characters (npm start generates one)")],
]);
type SettingName = (typeof SETTINGS)[number][0];

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Unset, and set to "" in wrangler vars, both mean "the default". */
const isSet = (value: unknown): boolean => value !== undefined && value !== "";

/** The first issue of a failed parse, as "invalid configuration variable NAME: what is wrong". */
function configError(error: z.ZodError, name?: string): ConfigError {
  const issue = error.issues[0];
  const path = [...(name === undefined ? [] : [name]), ...(issue?.path ?? [])];
  return new ConfigError(`invalid configuration variable ${path.join(".")}: ${issue?.message}`);
}

/** `BACKCHANNELS_<LANG>`: a comma-separated list that replaces that language's backchannels. */
const BACKCHANNEL_VAR = /^BACKCHANNELS_([A-Z]{2,3})$/;
const BackchannelList = z
  .string()
  .transform((v) =>
    v
      .split(",")
      .map((p) => p.trim().toLowerCase())
      .filter((p) => p !== ""),
  )
  .pipe(z.array(z.string().max(40)).min(1).max(200));

function backchannelsFrom(env: Record<string, unknown>): Record<string, readonly string[]> {
  const out: Record<string, readonly string[]> = { ...DEFAULT_BACKCHANNELS };
  for (const [key, value] of Object.entries(env)) {
    const m = BACKCHANNEL_VAR.exec(key);
    if (!m || !isSet(value)) continue;
    const parsed = BackchannelList.safeParse(value);
    if (!parsed.success)
      throw new ConfigError(`invalid configuration variable ${key}: a comma-separated list of 1-200 phrases is expected`);
    out[m[1]!.toLowerCase()] = parsed.data;
  }
  return out;
}

/** Build the session configuration from wrangler vars. Throws ConfigError naming the bad variable. */
export function loadConfig(env: Partial<Record<SettingName, unknown>> & Record<string, unknown>): ParleyConfig {
  const c = structuredClone(DEFAULT_CONFIG) as ParleyConfig;
  const given = applySettings(SETTINGS, env, c);
  const unset = (name: SettingName): boolean => !given.has(name);
  const backend = c.models.backend;
  // Offline, the stand-in recognizes while the user speaks (PocketSphinx behind a Nova-3 live socket).
  if (backend === "local" && unset("STT_MODE")) c.recognition.mode = "streaming";
  if (backend === "local" && unset("STT_STREAMING_MODEL")) c.recognition.streamingModel = "@cf/deepgram/nova-3";
  const { mode, streamingModel } = c.recognition;
  // Workers AI: smart-turn at a short pause; offline (no smart-turn model): the words heard so far;
  // the test fake keeps plain silence unless told otherwise, so tests pin timings.
  if (unset("END_OF_TURN") && backend === "fake") c.endOfTurn.detector = "silence";
  if (unset("END_OF_TURN") && backend === "local" && mode === "streaming" && streamingModel !== "@cf/deepgram/flux")
    c.endOfTurn.detector = "transcript";
  if (c.endOfTurn.detector === "transcript" && mode !== "streaming")
    throw new ConfigError("END_OF_TURN=transcript needs STT_MODE=streaming (the words are heard while spoken)");
  // With Flux, Parley judges Flux's words at its pauses whatever END_OF_TURN says: the words' pause.
  const smartTurnJudges = c.endOfTurn.detector === "smart-turn" && !(mode === "streaming" && streamingModel.includes("flux"));
  if (unset("END_OF_TURN_PAUSE_MS") && !smartTurnJudges) c.endOfTurn.pauseMs = WORDS_PAUSE_MS;
  c.endOfTurn.completeSilenceMs = smartTurnJudges ? c.endOfTurn.pauseMs : WORDS_PAUSE_MS;
  // The detector marks the pause the end-of-turn judge is asked at: one setting for both.
  c.turnDetection.pauseMs = c.endOfTurn.pauseMs;
  const speakerError = c.models.ttsSpeaker === undefined ? null : speakerProblem(c.models.tts, c.models.ttsSpeaker);
  if (speakerError) throw new ConfigError(`TTS_SPEAKER: ${speakerError}`);
  if (!unset("DAILY_BUDGET_NEURONS") && !unset("DAILY_BUDGET_USD"))
    throw new ConfigError("set DAILY_BUDGET_NEURONS or DAILY_BUDGET_USD, not both");
  // Only Workers AI costs money; the stand-in and the test fake keep no daily limit unless told to.
  if (backend !== "workers-ai" && unset("DAILY_BUDGET_NEURONS") && unset("DAILY_BUDGET_USD")) c.budgets.dailyNeurons = null;
  // Local development (the stand-in, the fake) records unless told not to.
  if (backend !== "workers-ai" && unset("RECORD_AUDIO")) c.recordings.enabled = true;
  c.interruption.backchannels = backchannelsFrom(env);
  return c;
}

// ------------------------------------------------------------------------------------------------
// Who may do what (read by the Worker for every session request, and by the session for its cap).

export interface AccessOptions {
  /** HMAC key of session keys (SESSION_SECRET, a wrangler secret); null when unset: sessions are refused. */
  sessionSecret: string | null;
  /** Origins besides the app's own whose pages may use the API and open sessions (ALLOWED_ORIGINS). */
  allowedOrigins: readonly string[];
  /** Cloudflare Access in front (ACCESS_TEAM_DOMAIN + ACCESS_AUD), or null. */
  cloudflareAccess: AccessSettings | null;
}

export interface ClientLimits {
  /** Live WebSocket connections one session accepts at once (MAX_CONNECTIONS_PER_SESSION), default 8. */
  connectionsPerSession: number;
}

export const DEFAULT_CLIENT_LIMITS: Readonly<ClientLimits> = Object.freeze({ connectionsPerSession: 8 });
/** HMAC-SHA-256 wants a key of at least its output size: 32 characters of a random secret. */
export const MIN_SESSION_SECRET_CHARS = 32;

/** An origin list, "https://a.example, https://b.example", each entry normalized; a bad entry is named. */
const originList = z
  .string()
  .max(4_000)
  .transform((list, ctx) => {
    const origins: string[] = [];
    for (const entry of list.split(",").map((e) => e.trim())) {
      if (entry === "") continue;
      const origin = normalizeOrigin(entry);
      if (!origin) {
        ctx.addIssue({ code: "custom", message: `"${entry.slice(0, 80)}" is not an origin like https://app.example.com` });
        return z.NEVER;
      }
      origins.push(origin);
    }
    return origins;
  });

const ACCESS_SETTINGS = settingsOf<AccessOptions>()([
  [
    "SESSION_SECRET",
    "sessionSecret",
    z.string().min(MIN_SESSION_SECRET_CHARS, `must be at least ${MIN_SESSION_SECRET_CHARS} characters (e.g. openssl rand -base64 32)`),
  ],
  ["ALLOWED_ORIGINS", "allowedOrigins", originList],
]);

/** Cloudflare Access is configured by two vars that only make sense together (see loadAccessConfig). */
interface AccessApplication {
  teamDomain: string | undefined;
  audience: string | undefined;
}

const ACCESS_APPLICATION_SETTINGS = settingsOf<AccessApplication>()([
  [
    "ACCESS_TEAM_DOMAIN",
    "teamDomain",
    z
      .string()
      .regex(
        /^(https:\/\/)?[a-z0-9-]+(\.cloudflareaccess\.com)?\/?$/i,
        "expected your Access team name, e.g. myteam or myteam.cloudflareaccess.com",
      ),
  ],
  ["ACCESS_AUD", "audience", z.string().regex(/^[A-Za-z0-9]{16,128}$/, "expected the Access application's Audience (AUD) tag")],
]);

const CLIENT_LIMIT_SETTINGS = settingsOf<ClientLimits>()([["MAX_CONNECTIONS_PER_SESSION", "connectionsPerSession", int(1, 64)]]);

/** Session access settings from wrangler vars and secrets. Throws ConfigError naming the bad variable. */
export function loadAccessConfig(env: Record<string, unknown>): AccessOptions {
  const access: AccessOptions = { sessionSecret: null, allowedOrigins: [], cloudflareAccess: null };
  applySettings(ACCESS_SETTINGS, env, access);
  const app: AccessApplication = { teamDomain: undefined, audience: undefined };
  applySettings(ACCESS_APPLICATION_SETTINGS, env, app);
  if (!app.teamDomain !== !app.audience)
    throw new ConfigError("Cloudflare Access needs both ACCESS_TEAM_DOMAIN and ACCESS_AUD (or neither)");
  if (app.teamDomain && app.audience) {
    const team = app.teamDomain
      .replace(/^https:\/\//i, "")
      .replace(/\/$/, "")
      .replace(/\.cloudflareaccess\.com$/i, "")
      .toLowerCase();
    access.cloudflareAccess = { issuer: `https://${team}.cloudflareaccess.com`, audience: app.audience };
  }
  return access;
}

export function loadClientLimits(env: Record<string, unknown>): ClientLimits {
  const limits = { ...DEFAULT_CLIENT_LIMITS };
  applySettings(CLIENT_LIMIT_SETTINGS, env, limits);
  return limits;
}

// ------------------------------------------------------------------------------------------------
// Phone calls over Twilio Media Streams (README, "Phone calls"; docs/telephony.md). Read by the Worker
// for the voice webhook and by a session that takes a call.

export interface PhoneOptions {
  /** TWILIO_AUTH_TOKEN (a wrangler secret): checks the webhook's X-Twilio-Signature. Default null: phone calls are off (404). */
  authToken: string | null;
  /** PHONE_PUBLIC_URL: the origin Twilio calls (a tunnel in development); default null: the request's own origin. */
  publicUrl: string | null;
  /** Spoken as soon as the stream starts; "" for none. Default "Hi, this is Parley. What can I do for you?". */
  greeting: string;
  /** TTS of phone calls: an Aura model, asked for 8 kHz linear PCM in WAV (melotts answers MP3, which a Worker cannot decode). Default @cf/deepgram/aura-2-en. */
  ttsModel: string;
  /** Aura voice of phone calls, default unset: the model's own. */
  ttsSpeaker: string | undefined;
  /** One session per caller (a returning caller continues the conversation), or a new session per call. Default true. */
  sessionPerCaller: boolean;
  /** How long the stream token the webhook mints stays valid (ms; Twilio opens the stream within about a second), default 60000. */
  streamTokenTtlMs: number;
  /** A stream that has not shown a valid token this long after it opened is closed (ms), default 5000. */
  startTimeoutMs: number;
  /** Outgoing audio is sent this far ahead of real time: what a `clear` drops, at most (ms), default 120. */
  leadMs: number;
}

export const DEFAULT_PHONE: Readonly<PhoneOptions> = Object.freeze({
  authToken: null,
  publicUrl: null,
  greeting: "Hi, this is Parley. What can I do for you?",
  ttsModel: "@cf/deepgram/aura-2-en",
  ttsSpeaker: undefined,
  sessionPerCaller: true,
  streamTokenTtlMs: 60_000,
  startTimeoutMs: 5_000,
  leadMs: 120,
});

/** An https origin (where Twilio reaches this Worker), normalized. */
const httpsOrigin = z
  .string()
  .max(200)
  .transform((url, ctx) => {
    const origin = normalizeOrigin(url);
    if (!origin || !origin.startsWith("https://")) {
      ctx.addIssue({ code: "custom", message: `"${url.slice(0, 80)}" is not an https origin like https://parley.example.com` });
      return z.NEVER;
    }
    return origin;
  });

const PHONE_SETTINGS = settingsOf<PhoneOptions>()([
  ["TWILIO_AUTH_TOKEN", "authToken", z.string().min(16, "expected the Twilio account's auth token (32 characters)").max(128)],
  ["PHONE_PUBLIC_URL", "publicUrl", httpsOrigin],
  // Set to an empty string in wrangler vars, a var is filtered out like any empty value: "off" turns the greeting off.
  [
    "PHONE_GREETING",
    "greeting",
    z
      .string()
      .max(500)
      .transform((v) => (v === "off" ? "" : v)),
  ],
  [
    "PHONE_TTS_MODEL",
    "ttsModel",
    z
      .string()
      .regex(
        /^@cf\/deepgram\/aura-[\w.-]+$/,
        "expected an Aura model (@cf/deepgram/aura-2-en or @cf/deepgram/aura-1): the phone needs PCM, and melotts answers MP3",
      ),
  ],
  ["PHONE_TTS_SPEAKER", "ttsSpeaker", z.string().max(40)],
  ["PHONE_SESSION_PER_CALLER", "sessionPerCaller", bool],
  ["PHONE_LEAD_MS", "leadMs", int(40, 1_000)],
]);

/** Phone settings from wrangler vars and secrets. Throws ConfigError naming the bad variable. */
export function loadPhoneConfig(env: Record<string, unknown>): PhoneOptions {
  const phone: PhoneOptions = { ...DEFAULT_PHONE };
  applySettings(PHONE_SETTINGS, env, phone);
  const speakerError = phone.ttsSpeaker === undefined ? null : speakerProblem(phone.ttsModel, phone.ttsSpeaker);
  if (speakerError) throw new ConfigError(`PHONE_TTS_SPEAKER: ${speakerError}`);
  return phone;
}

// Every tunable of a voice session, grouped by concern, with the defaults in one place.
// Deployments override them with wrangler [vars] (strings); a bad value fails loudly at startup.
import { z } from "zod";
import { DEFAULT_CHUNKER, type ChunkerOptions } from "./reply/sentence-chunker.ts";
import { DEFAULT_BACKCHANNELS } from "./interruption/backchannels.ts";
import { DEFAULT_SYSTEM_PROMPT } from "./reply/prompt.ts";
import { DEFAULT_TURN_DETECTION, type TurnDetectionOptions } from "./turn-detection/turn-detector.ts";
import { speakerProblem } from "../shared/workers-ai/aura-voices.ts";
import { FREE_NEURONS_PER_DAY, USD_PER_NEURON } from "./cost/cost.ts";
import type { AccessSettings } from "./access/access-jwt.ts";
import { normalizeOrigin } from "./access/origin.ts";
import type { RateLimits } from "./limits/input-limiter.ts";

export interface ModelOptions {
  stt: string;
  llm: string;
  tts: string;
  /** Voice for Aura models; ignored by melotts. */
  ttsSpeaker: string | undefined;
  /** Aura's output format when not its default MP3 (phone calls: 8 kHz linear PCM in WAV, server/phone/). */
  ttsOutput?: AuraOutput;
  /** Default spoken language (a client may choose another per session). */
  language: string;
  /** What is bound as AI: real Workers AI, or (in development) the offline stand-in or the test fake. */
  backend: "workers-ai" | "local" | "fake";
}

/** An Aura output format a Worker can decode: linear PCM in a WAV container (docs/telephony.md, "Audio"). */
export interface AuraOutput {
  encoding: "linear16";
  container: "wav";
  sampleRate: number;
}

export interface ReplyOptions {
  systemPrompt: string;
  maxTokens: number;
  temperature: number;
  /** Characters of past conversation sent to the LLM (oldest messages are dropped first). */
  historyBudgetChars: number;
}

/** Talking over the assistant: pause, confirm or resume (see shared/protocol.md, "Interruptions"). */
export interface InterruptionOptions {
  /** Speech over the reply must last this long (echo-gated) before it can confirm an interruption. */
  minInterruptionMs: number;
  /** Words that are neither a backchannel nor the reply's own echo a transcript needs to confirm one. */
  minInterruptionWords: number;
  /** A candidate nothing confirmed this long after its speech ended (or after it opened) resumes the reply. */
  falseInterruptionTimeoutMs: number;
  /** A held candidate is transcribed once its speech has lasted this long, then each time it has grown `partialEveryMs` (two at most at once). */
  partialTranscriptMs: number;
  partialEveryMs: number;
  /** Share of a transcript's words matching, in order, the words being played for it to count as echo. */
  echoWordOverlap: number;
  /** Backchannel phrases per language (lower case; "uh-huh" also matches "uh huh"). */
  backchannels: Readonly<Record<string, readonly string[]>>;
}

/** How speech is recognized: after the turn (batch Whisper) or while it is spoken (a model socket). */
export interface SpeechRecognitionOptions {
  mode: "batch" | "streaming";
  /** `@cf/deepgram/flux` (English, ends turns itself) or `@cf/deepgram/nova-3` (interim results; Parley endpoints). */
  streamingModel: string;
  /**
   * Flux's end of turn (docs/workers-ai.md, "Streaming recognition"). `forceEnd`: Parley also judges
   * Flux's words at each pause; words that read as finished start a held reply, and once the user's
   * learned silence (at least 600 ms) has passed Parley ends the turn with ForceEndTurn instead of
   * waiting for the model's slower endings.
   */
  flux: { eotThreshold: number; eagerEotThreshold: number | null; eotTimeoutMs: number; forceEnd: boolean };
  /** Words to boost in streaming recognition (names, product terms). */
  keyterms: readonly string[];
  /** Nova: longest wait for the final transcript after Parley's end of turn, before going on with what is known. */
  finalizeTimeoutMs: number;
}

/** Deciding that the user's turn is over (batch path, and Nova streaming; with Flux, only the words Flux is slow to end: recognition.flux.forceEnd). */
export interface EndOfTurnConfig {
  /** silence: a fixed silence (turnDetection.silenceMs, adapted per user); smart-turn: ask the model at a short pause; transcript: judge the words heard so far (streaming recognition). */
  detector: "silence" | "smart-turn" | "transcript";
  /** The short pause at which the judge is asked and a speculative reply starts. */
  pauseMs: number;
  /** Silence that ends a turn judged complete. */
  completeSilenceMs: number;
  /** Silence that ends a turn judged unfinished (someone thinking mid-sentence). */
  maxSilenceMs: number;
  smartTurnModel: string;
  smartTurnThreshold: number;
  /** A smart-turn answer slower than this is ignored: plain silence endpointing decides. */
  smartTurnTimeoutMs: number;
  /** Start the reply at the pause (or Flux's EagerEndOfTurn), holding its audio until the turn is confirmed. */
  speculative: boolean;
  /** Learn the silence from the user's own mid-sentence pauses (kept with the session). */
  adaptive: boolean;
}

export interface ReliabilityOptions {
  /** Per attempt: STT and TTS calls, and the LLM's wait for its first token. */
  aiTimeoutMs: number;
  /** Longest silence inside a streamed reply before it counts as broken. */
  streamIdleMs: number;
  /** Retries of a retryable failure (capacity, 5xx, timeout) before the turn fails. */
  maxRetries: number;
  retryBaseMs: number;
  /** TTS requests in flight at once for one reply (later sentences synthesize while earlier ones are sent). */
  ttsConcurrency: number;
  /** A new turn waits at most this long for the previous one to store its reply: a wedged turn cannot block the session. */
  turnSettleMs: number;
  /** Without a report from the client, a reply's playback is taken as over this long after its audio should have ended. */
  playbackGraceMs: number;
}

/**
 * Floods and sizes (README, "Rate limits and sizes"): rates per connection, per client IP within a
 * session and per session (bursts of 2 s); a connection still over its limit `closeAfterMs` after it
 * first went over is closed with 1008.
 */
export interface InputLimits extends RateLimits {
  /** `ready` carries the newest history up to this many bytes of JSON; older messages are at /api/sessions/<id>. */
  readyHistoryBytes: number;
  /**
   * Connections are closed (CLOSE_CODES.idle) after this long with nobody speaking or typing and nothing
   * being said (server/limits/idle-close.ts): an open tab does not keep its session billed. 0 = never.
   */
  idleCloseMs: number;
}

/** Restarts and deploys (server/turn/turn-recovery.ts; README "Restarts and deploys"). */
export interface RestartOptions {
  /** A reply a restart cut off is retried only if a client connects within this long of its last activity. */
  retryWithinMs: number;
  /** A drain waits this long for the turns it cuts off to store what was heard, then closes the sockets anyway. */
  drainSettleMs: number;
  /**
   * Secret of the dev server's drain route (POST /api/internal/drain), which `npm start` generates per
   * run. Unset (always, in production) the route does not exist.
   */
  drainSecret: string | undefined;
}

export interface BudgetOptions {
  /** Stop spending in a session once its Workers AI cost reaches this (0 = no limit). */
  sessionUsd: number;
  /** Workers AI neurons all sessions together may spend per UTC day (null = no limit). */
  dailyNeurons: number | null;
}

/** Recordings of each turn in R2 (README, "Hearing one"): the user's utterance and the reply as heard. */
export interface RecordingOptions {
  /** RECORD_AUDIO: on by default for the offline stand-in and the test fake (local development), opt-in on Workers AI. */
  enabled: boolean;
  /** Recordings are deleted this many days after they were made (RECORDING_RETENTION_DAYS); 0 = kept until the session is deleted. */
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

/**
 * Default LLM: `@cf/meta/llama-3.1-8b-instruct` was retired on 2026-05-30. `-fp8` is the same 8B model,
 * active, typed in @cloudflare/workers-types, with a 32k context; 3.2-3b is cheaper but weaker at
 * conversation, and 3.3-70b costs ~8x more per output token with a longer first-token wait.
 */
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

export const DEFAULT_CONFIG: ParleyConfig = {
  models: {
    stt: "@cf/openai/whisper-large-v3-turbo",
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
  reliability: { aiTimeoutMs: 15_000, streamIdleMs: 10_000, maxRetries: 2, retryBaseMs: 250, ttsConcurrency: 2, turnSettleMs: 3_000, playbackGraceMs: 2_000 },
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
};

const num = (min: number, max: number) => z.coerce.number().min(min).max(max).optional();
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max).optional();
const modelId = z.string().regex(/^@cf\/[\w.-]+\/[\w.-]+$/, "expected a Workers AI model id like @cf/meta/llama-3.2-3b-instruct").optional();

const EnvVars = z.object({
  STT_MODEL: modelId,
  LLM_MODEL: modelId,
  TTS_MODEL: modelId,
  TTS_SPEAKER: z.string().min(1).optional(),
  LANGUAGE: z.string().regex(/^[a-z]{2,3}$/).optional(),
  AI_BACKEND: z.enum(["workers-ai", "local", "fake"]).optional(),
  SYSTEM_PROMPT: z.string().min(1).optional(),
  LLM_MAX_TOKENS: int(16, 4096),
  LLM_TEMPERATURE: num(0, 5),
  HISTORY_BUDGET_CHARS: int(0, 500_000),
  VAD_THRESHOLD_DB: num(3, 40),
  VAD_MIN_SPEECH_MS: int(20, 2_000),
  VAD_SILENCE_MS: int(100, 5_000),
  VAD_MAX_UTTERANCE_MS: int(1_000, 120_000),
  STT_MODE: z.enum(["batch", "streaming"]).optional(),
  STT_STREAMING_MODEL: z.enum(["@cf/deepgram/flux", "@cf/deepgram/nova-3"]).optional(),
  FLUX_EOT_THRESHOLD: num(0.5, 0.9),
  FLUX_EAGER_EOT_THRESHOLD: z.union([z.literal("off"), z.coerce.number().min(0.3).max(0.9)]).optional(),
  FLUX_EOT_TIMEOUT_MS: int(500, 60_000),
  FLUX_FORCE_END: z.enum(["true", "false"]).optional(),
  STT_KEYTERMS: z.string().max(2_000).optional(),
  END_OF_TURN: z.enum(["silence", "smart-turn", "transcript"]).optional(),
  END_OF_TURN_PAUSE_MS: int(100, 1_000),
  MAX_SILENCE_MS: int(500, 10_000),
  SMART_TURN_MODEL: modelId,
  SMART_TURN_THRESHOLD: num(0, 1),
  SMART_TURN_TIMEOUT_MS: int(50, 5_000),
  SPECULATIVE_REPLIES: z.enum(["true", "false"]).optional(),
  ADAPTIVE_SILENCE: z.enum(["true", "false"]).optional(),
  MIN_INTERRUPTION_MS: int(0, 5_000),
  MIN_INTERRUPTION_WORDS: int(0, 20),
  FALSE_INTERRUPTION_TIMEOUT_MS: int(200, 10_000),
  AI_TIMEOUT_MS: int(500, 120_000),
  AI_STREAM_IDLE_MS: int(500, 120_000),
  AI_MAX_RETRIES: int(0, 5),
  SESSION_BUDGET_USD: num(0, 1_000),
  DAILY_BUDGET_NEURONS: z.union([z.literal("off"), z.coerce.number().int().min(0).max(1_000_000_000)]).optional(),
  DAILY_BUDGET_USD: num(0, 1_000_000),
  MESSAGES_PER_SECOND: num(1, 10_000),
  IP_MESSAGES_PER_SECOND: num(1, 10_000),
  SESSION_MESSAGES_PER_SECOND: num(1, 10_000),
  AUDIO_REALTIME_FACTOR: num(1, 100),
  IP_AUDIO_REALTIME_FACTOR: num(1, 100),
  SESSION_AUDIO_REALTIME_FACTOR: num(1, 100),
  TURNS_PER_SECOND: num(0.1, 1_000),
  RATE_LIMIT_GRACE_MS: int(0, 60_000),
  RATE_LIMIT_CLOSE_AFTER_DROPS: int(1, 1_000_000),
  // Well under the 1 MiB a WebSocket message may carry, with room for the rest of `ready`.
  READY_HISTORY_BYTES: int(1_024, 768 * 1024),
  IDLE_CLOSE_MS: int(0, 24 * 3_600_000),
  RECORD_AUDIO: z.enum(["true", "false"]).optional(),
  RECORDING_RETENTION_DAYS: int(0, 3_650),
  DRAIN_SECRET: z.string().min(32, "DRAIN_SECRET must be at least 32 characters (npm start generates one)").optional(),
});

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** `BACKCHANNELS_<LANG>`: a comma-separated list that replaces that language's backchannels. */
const BACKCHANNEL_VAR = /^BACKCHANNELS_([A-Z]{2,3})$/;
const BackchannelList = z
  .string()
  .transform((v) => v.split(",").map((p) => p.trim().toLowerCase()).filter((p) => p !== ""))
  .pipe(z.array(z.string().max(40)).min(1).max(200));

function backchannelsFrom(env: Record<string, unknown>): Record<string, readonly string[]> {
  const out: Record<string, readonly string[]> = { ...DEFAULT_BACKCHANNELS };
  for (const [key, value] of Object.entries(env)) {
    const m = BACKCHANNEL_VAR.exec(key);
    if (!m || value === undefined || value === "") continue;
    const parsed = BackchannelList.safeParse(value);
    if (!parsed.success) throw new ConfigError(`invalid configuration variable ${key}: a comma-separated list of 1-200 phrases is expected`);
    out[m[1]!.toLowerCase()] = parsed.data;
  }
  return out;
}

/** Build the session configuration from wrangler vars. Throws ConfigError naming the bad variable. */
export function loadConfig(env: Partial<Record<keyof z.infer<typeof EnvVars>, unknown>> & Record<string, unknown>): ParleyConfig {
  const parsed = EnvVars.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== "")));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`invalid configuration variable ${issue?.path.join(".")}: ${issue?.message}`);
  }
  const v = parsed.data;
  const d = DEFAULT_CONFIG;
  const backend = v.AI_BACKEND ?? d.models.backend;
  // Offline, the stand-in recognizes while the user speaks (PocketSphinx behind a Nova-3 live socket).
  const sttMode = v.STT_MODE ?? (backend === "local" ? "streaming" : d.recognition.mode);
  const streamingModel = v.STT_STREAMING_MODEL ?? (backend === "local" ? "@cf/deepgram/nova-3" : d.recognition.streamingModel);
  // Workers AI: smart-turn at a short pause; offline (no smart-turn model): the words heard so far;
  // the test fake keeps plain silence unless told otherwise, so tests pin timings.
  const detector =
    v.END_OF_TURN ??
    (backend === "fake" ? "silence" : backend === "local" && sttMode === "streaming" && streamingModel !== "@cf/deepgram/flux" ? "transcript" : d.endOfTurn.detector);
  if (detector === "transcript" && sttMode !== "streaming") throw new ConfigError("END_OF_TURN=transcript needs STT_MODE=streaming (the words are heard while spoken)");
  // With Flux, Parley judges Flux's words at its pauses whatever END_OF_TURN says: the words' pause.
  const smartTurnJudges = detector === "smart-turn" && !(sttMode === "streaming" && streamingModel.includes("flux"));
  const pauseMs = v.END_OF_TURN_PAUSE_MS ?? (smartTurnJudges ? d.endOfTurn.pauseMs : WORDS_PAUSE_MS);
  const ttsModel = v.TTS_MODEL ?? d.models.tts;
  const speakerError = v.TTS_SPEAKER === undefined ? null : speakerProblem(ttsModel, v.TTS_SPEAKER);
  if (speakerError) throw new ConfigError(`TTS_SPEAKER: ${speakerError}`);
  const eager = v.FLUX_EAGER_EOT_THRESHOLD;
  if (v.DAILY_BUDGET_NEURONS !== undefined && v.DAILY_BUDGET_USD !== undefined) throw new ConfigError("set DAILY_BUDGET_NEURONS or DAILY_BUDGET_USD, not both");
  const dailyNeurons =
    v.DAILY_BUDGET_USD !== undefined
      ? Math.round(v.DAILY_BUDGET_USD / USD_PER_NEURON)
      : v.DAILY_BUDGET_NEURONS === "off"
        ? null
        : // Only Workers AI costs money; the stand-in and the test fake keep no daily limit unless told to.
          (v.DAILY_BUDGET_NEURONS ?? (backend === "workers-ai" ? d.budgets.dailyNeurons : null));
  return {
    models: {
      stt: v.STT_MODEL ?? d.models.stt,
      llm: v.LLM_MODEL ?? d.models.llm,
      tts: ttsModel,
      ttsSpeaker: v.TTS_SPEAKER ?? d.models.ttsSpeaker,
      language: v.LANGUAGE ?? d.models.language,
      backend,
    },
    recognition: {
      mode: sttMode,
      streamingModel,
      flux: {
        eotThreshold: v.FLUX_EOT_THRESHOLD ?? d.recognition.flux.eotThreshold,
        eagerEotThreshold: eager === "off" ? null : (eager ?? d.recognition.flux.eagerEotThreshold),
        eotTimeoutMs: v.FLUX_EOT_TIMEOUT_MS ?? d.recognition.flux.eotTimeoutMs,
        forceEnd: v.FLUX_FORCE_END ? v.FLUX_FORCE_END === "true" : d.recognition.flux.forceEnd,
      },
      keyterms: (v.STT_KEYTERMS ?? "").split(",").map((k) => k.trim()).filter((k) => k !== "").slice(0, 50),
      finalizeTimeoutMs: d.recognition.finalizeTimeoutMs,
    },
    endOfTurn: {
      ...d.endOfTurn,
      detector,
      pauseMs,
      completeSilenceMs: smartTurnJudges ? pauseMs : WORDS_PAUSE_MS,
      maxSilenceMs: v.MAX_SILENCE_MS ?? d.endOfTurn.maxSilenceMs,
      smartTurnModel: v.SMART_TURN_MODEL ?? d.endOfTurn.smartTurnModel,
      smartTurnThreshold: v.SMART_TURN_THRESHOLD ?? d.endOfTurn.smartTurnThreshold,
      smartTurnTimeoutMs: v.SMART_TURN_TIMEOUT_MS ?? d.endOfTurn.smartTurnTimeoutMs,
      speculative: v.SPECULATIVE_REPLIES ? v.SPECULATIVE_REPLIES === "true" : d.endOfTurn.speculative,
      adaptive: v.ADAPTIVE_SILENCE ? v.ADAPTIVE_SILENCE === "true" : d.endOfTurn.adaptive,
    },
    turnDetection: {
      ...d.turnDetection,
      speechThresholdDb: v.VAD_THRESHOLD_DB ?? d.turnDetection.speechThresholdDb,
      minSpeechMs: v.VAD_MIN_SPEECH_MS ?? d.turnDetection.minSpeechMs,
      silenceMs: v.VAD_SILENCE_MS ?? d.turnDetection.silenceMs,
      maxUtteranceMs: v.VAD_MAX_UTTERANCE_MS ?? d.turnDetection.maxUtteranceMs,
      // The detector marks the pause the end-of-turn judge is asked at: one setting for both.
      pauseMs,
    },
    interruption: {
      ...d.interruption,
      minInterruptionMs: v.MIN_INTERRUPTION_MS ?? d.interruption.minInterruptionMs,
      minInterruptionWords: v.MIN_INTERRUPTION_WORDS ?? d.interruption.minInterruptionWords,
      falseInterruptionTimeoutMs: v.FALSE_INTERRUPTION_TIMEOUT_MS ?? d.interruption.falseInterruptionTimeoutMs,
      backchannels: backchannelsFrom(env),
    },
    reply: {
      systemPrompt: v.SYSTEM_PROMPT ?? d.reply.systemPrompt,
      maxTokens: v.LLM_MAX_TOKENS ?? d.reply.maxTokens,
      temperature: v.LLM_TEMPERATURE ?? d.reply.temperature,
      historyBudgetChars: v.HISTORY_BUDGET_CHARS ?? d.reply.historyBudgetChars,
    },
    chunking: d.chunking,
    reliability: {
      ...d.reliability,
      aiTimeoutMs: v.AI_TIMEOUT_MS ?? d.reliability.aiTimeoutMs,
      streamIdleMs: v.AI_STREAM_IDLE_MS ?? d.reliability.streamIdleMs,
      maxRetries: v.AI_MAX_RETRIES ?? d.reliability.maxRetries,
    },
    limits: {
      messagesPerSecond: v.MESSAGES_PER_SECOND ?? d.limits.messagesPerSecond,
      ipMessagesPerSecond: v.IP_MESSAGES_PER_SECOND ?? d.limits.ipMessagesPerSecond,
      sessionMessagesPerSecond: v.SESSION_MESSAGES_PER_SECOND ?? d.limits.sessionMessagesPerSecond,
      audioRealtimeFactor: v.AUDIO_REALTIME_FACTOR ?? d.limits.audioRealtimeFactor,
      ipAudioRealtimeFactor: v.IP_AUDIO_REALTIME_FACTOR ?? d.limits.ipAudioRealtimeFactor,
      sessionAudioRealtimeFactor: v.SESSION_AUDIO_REALTIME_FACTOR ?? d.limits.sessionAudioRealtimeFactor,
      turnsPerSecond: v.TURNS_PER_SECOND ?? d.limits.turnsPerSecond,
      closeAfterMs: v.RATE_LIMIT_GRACE_MS ?? d.limits.closeAfterMs,
      closeAfterDrops: v.RATE_LIMIT_CLOSE_AFTER_DROPS ?? d.limits.closeAfterDrops,
      readyHistoryBytes: v.READY_HISTORY_BYTES ?? d.limits.readyHistoryBytes,
      idleCloseMs: v.IDLE_CLOSE_MS ?? d.limits.idleCloseMs,
    },
    budgets: { sessionUsd: v.SESSION_BUDGET_USD ?? d.budgets.sessionUsd, dailyNeurons },
    restarts: { ...d.restarts, drainSecret: v.DRAIN_SECRET },
    recordings: {
      // Local development (the stand-in, the fake) records unless told not to.
      enabled: v.RECORD_AUDIO ? v.RECORD_AUDIO === "true" : backend !== "workers-ai" || d.recordings.enabled,
      retentionDays: v.RECORDING_RETENTION_DAYS ?? d.recordings.retentionDays,
    },
  };
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
  /** Live WebSocket connections one session accepts at once (MAX_CONNECTIONS_PER_SESSION). */
  connectionsPerSession: number;
}

export const DEFAULT_CLIENT_LIMITS: ClientLimits = { connectionsPerSession: 8 };
/** HMAC-SHA-256 wants a key of at least its output size: 32 characters of a random secret. */
export const MIN_SESSION_SECRET_CHARS = 32;

const AccessVars = z.object({
  SESSION_SECRET: z.string().min(MIN_SESSION_SECRET_CHARS, `must be at least ${MIN_SESSION_SECRET_CHARS} characters (e.g. openssl rand -base64 32)`).optional(),
  ALLOWED_ORIGINS: z.string().max(4_000).optional(),
  ACCESS_TEAM_DOMAIN: z
    .string()
    .regex(/^(https:\/\/)?[a-z0-9-]+(\.cloudflareaccess\.com)?\/?$/i, "expected your Access team name, e.g. myteam or myteam.cloudflareaccess.com")
    .optional(),
  ACCESS_AUD: z.string().regex(/^[A-Za-z0-9]{16,128}$/, "expected the Access application's Audience (AUD) tag").optional(),
});

const ClientLimitVars = z.object({ MAX_CONNECTIONS_PER_SESSION: int(1, 64) });

function parseVars<T extends z.ZodType>(schema: T, env: Record<string, unknown>): z.infer<T> {
  const parsed = schema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== "")));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`invalid configuration variable ${issue?.path.join(".")}: ${issue?.message}`);
  }
  return parsed.data;
}

/** Session access settings from wrangler vars and secrets. Throws ConfigError naming the bad variable. */
export function loadAccessConfig(env: Record<string, unknown>): AccessOptions {
  const v = parseVars(AccessVars, env);
  const allowedOrigins: string[] = [];
  for (const entry of (v.ALLOWED_ORIGINS ?? "").split(",").map((e) => e.trim()).filter((e) => e !== "")) {
    const origin = normalizeOrigin(entry);
    if (!origin) throw new ConfigError(`invalid configuration variable ALLOWED_ORIGINS: "${entry.slice(0, 80)}" is not an origin like https://app.example.com`);
    allowedOrigins.push(origin);
  }
  if (!v.ACCESS_TEAM_DOMAIN !== !v.ACCESS_AUD) throw new ConfigError("Cloudflare Access needs both ACCESS_TEAM_DOMAIN and ACCESS_AUD (or neither)");
  const team = v.ACCESS_TEAM_DOMAIN?.replace(/^https:\/\//i, "").replace(/\/$/, "").replace(/\.cloudflareaccess\.com$/i, "").toLowerCase();
  return {
    sessionSecret: v.SESSION_SECRET ?? null,
    allowedOrigins,
    cloudflareAccess: team && v.ACCESS_AUD ? { issuer: `https://${team}.cloudflareaccess.com`, audience: v.ACCESS_AUD } : null,
  };
}

export function loadClientLimits(env: Record<string, unknown>): ClientLimits {
  const v = parseVars(ClientLimitVars, env);
  return { connectionsPerSession: v.MAX_CONNECTIONS_PER_SESSION ?? DEFAULT_CLIENT_LIMITS.connectionsPerSession };
}

// ------------------------------------------------------------------------------------------------
// Phone calls over Twilio Media Streams (README, "Phone calls"; docs/telephony.md). Read by the Worker
// for the voice webhook and by a session that takes a call.

export interface PhoneOptions {
  /** TWILIO_AUTH_TOKEN (a wrangler secret): checks the webhook's X-Twilio-Signature. Null: phone calls are off (404). */
  authToken: string | null;
  /** PHONE_PUBLIC_URL: the origin Twilio calls (a tunnel in development); null: the request's own origin. */
  publicUrl: string | null;
  /** Spoken as soon as the stream starts; "" for none. */
  greeting: string;
  /** TTS of phone calls: an Aura model, asked for 8 kHz linear PCM in WAV (melotts answers MP3, which a Worker cannot decode). */
  ttsModel: string;
  ttsSpeaker: string | undefined;
  /** One session per caller (a returning caller continues the conversation), or a new session per call. */
  sessionPerCaller: boolean;
  /** How long the stream token the webhook mints stays valid (Twilio opens the stream within about a second). */
  streamTokenTtlMs: number;
  /** A stream that has not shown a valid token this long after it opened is closed. */
  startTimeoutMs: number;
  /** Outgoing audio is sent this far ahead of real time: what a `clear` drops, at most. */
  leadMs: number;
}

export const DEFAULT_PHONE: PhoneOptions = {
  authToken: null,
  publicUrl: null,
  greeting: "Hi, this is Parley. What can I do for you?",
  ttsModel: "@cf/deepgram/aura-2-en",
  ttsSpeaker: undefined,
  sessionPerCaller: true,
  streamTokenTtlMs: 60_000,
  startTimeoutMs: 5_000,
  leadMs: 120,
};

const PhoneVars = z.object({
  TWILIO_AUTH_TOKEN: z.string().min(16, "expected the Twilio account's auth token (32 characters)").max(128).optional(),
  PHONE_PUBLIC_URL: z.string().max(200).optional(),
  PHONE_GREETING: z.string().max(500).optional(),
  PHONE_TTS_MODEL: z.string().regex(/^@cf\/deepgram\/aura-[\w.-]+$/, "expected an Aura model (@cf/deepgram/aura-2-en or @cf/deepgram/aura-1): the phone needs PCM, and melotts answers MP3").optional(),
  PHONE_TTS_SPEAKER: z.string().max(40).optional(),
  PHONE_SESSION_PER_CALLER: z.enum(["true", "false"]).optional(),
  PHONE_LEAD_MS: int(40, 1_000),
});

/** Phone settings from wrangler vars and secrets. Throws ConfigError naming the bad variable. */
export function loadPhoneConfig(env: Record<string, unknown>): PhoneOptions {
  const v = parseVars(PhoneVars, env);
  const d = DEFAULT_PHONE;
  let publicUrl: string | null = null;
  if (v.PHONE_PUBLIC_URL !== undefined) {
    publicUrl = normalizeOrigin(v.PHONE_PUBLIC_URL);
    if (!publicUrl || !publicUrl.startsWith("https://")) throw new ConfigError(`invalid configuration variable PHONE_PUBLIC_URL: "${v.PHONE_PUBLIC_URL.slice(0, 80)}" is not an https origin like https://parley.example.com`);
  }
  const ttsModel = v.PHONE_TTS_MODEL ?? d.ttsModel;
  const speakerError = v.PHONE_TTS_SPEAKER === undefined ? null : speakerProblem(ttsModel, v.PHONE_TTS_SPEAKER);
  if (speakerError) throw new ConfigError(`PHONE_TTS_SPEAKER: ${speakerError}`);
  return {
    authToken: v.TWILIO_AUTH_TOKEN ?? null,
    publicUrl,
    // Set to an empty string in wrangler vars, it is filtered out like any empty value: "off" turns the greeting off.
    greeting: v.PHONE_GREETING === "off" ? "" : (v.PHONE_GREETING ?? d.greeting),
    ttsModel,
    ttsSpeaker: v.PHONE_TTS_SPEAKER,
    sessionPerCaller: v.PHONE_SESSION_PER_CALLER ? v.PHONE_SESSION_PER_CALLER === "true" : d.sessionPerCaller,
    streamTokenTtlMs: d.streamTokenTtlMs,
    startTimeoutMs: d.startTimeoutMs,
    leadMs: v.PHONE_LEAD_MS ?? d.leadMs,
  };
}

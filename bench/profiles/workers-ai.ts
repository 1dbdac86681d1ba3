// The Workers AI latency and price profile of the benchmarks: one source of truth for what each model
// call costs in time and money, with where every figure comes from. Both benchmark fakes take their
// latencies from here (bench/workerd/fake-ai.mts in its `workers-ai` mode for `npm run bench`'s
// turn-taking paths, bench/workerd/turn-taking-ai.mts for `npm run bench:turns`), and the reports print
// it. Pure: runs in workerd and Node.
//
// Cloudflare publishes prices but no latencies for these models. Every latency below is either a
// vendor's own claim (Deepgram for Flux), or an estimate with its reasoning; none was measured against
// Workers AI for this file. Latencies of request/response models are as seen from the calling Durable
// Object: the DO <-> inference round trip is inside them. Streaming sockets get the round trip added
// explicitly (audio travels there, events travel back).

/** How a figure is known. */
export type Basis = "price list" | "vendor claim" | "estimate";

export interface Figure {
  value: number;
  unit: string;
  basis: Basis;
  source: string;
}

const fig = (value: number, unit: string, basis: Basis, source: string): Figure => Object.freeze({ value, unit, basis, source });

const CF_PRICING = "developers.cloudflare.com/workers-ai/platform/pricing (docs/workers-ai.md, server/cost/cost.ts)";

export const WORKERS_AI_PROFILE = Object.freeze({
  network: Object.freeze({
    clientEdgeRttMs: fig(
      30,
      "ms",
      "estimate",
      "browser <-> nearest Cloudflare location over a WebSocket: Cloudflare puts most Internet users within ~50 ms; a wired/good Wi-Fi client in a metro area sees 10-40 ms. Not simulated on the loopback: added to the client-observed figures in the paths report (end of speech travels up half of it, the first audio down the other half)",
    ),
    doAiRttMs: fig(
      20,
      "ms",
      "estimate",
      "Durable Object <-> Workers AI inference: both in Cloudflare's network, but the GPU location is not necessarily the DO's; 5-40 ms. Included in the request/response latencies below; added to streaming-socket events (audio there, the event back)",
    ),
  }),
  whisper: Object.freeze({
    model: "@cf/openai/whisper-large-v3-turbo",
    baseMs: fig(
      300,
      "ms per call",
      "estimate",
      "request, queueing and the encoder, which always runs on a 30 s window, so a short clip costs about a fixed amount; third-party hosted large-v3-turbo runs at ~0.25x real time end to end on 4-8 s clips (polargrid.ai benchmark, 2026); 250-400 ms is the range commonly seen for Workers AI on short clips",
    ),
    msPerAudioSecond: fig(25, "ms per second of audio", "estimate", "decoder share of the same real-time factor"),
    usdPerAudioMinute: fig(0.0005, "USD per audio minute sent", "price list", CF_PRICING),
  }),
  llm: Object.freeze({
    model: "@cf/meta/llama-3.1-8b-instruct-fp8",
    firstTokenMs: fig(
      300,
      "ms to the first token",
      "estimate",
      "request + queue + prefill of a ~1k-token prompt on an 8B fp8 model (`npm run bench`'s overhead phases use 200 ms)",
    ),
    tokensPerSecond: fig(
      50,
      "tokens per second",
      "estimate",
      "decode speed of an 8B fp8 model on a shared GPU; the same as the overhead phases",
    ),
    usdPerMTokensIn: fig(0.152, "USD per million input tokens", "price list", CF_PRICING),
    usdPerMTokensOut: fig(0.287, "USD per million output tokens", "price list", CF_PRICING),
  }),
  tts: Object.freeze({
    model: "@cf/myshell-ai/melotts",
    baseMs: fig(
      150,
      "ms per call",
      "estimate",
      "melotts is a small model; fixed cost of a call (the overhead phases use 120 ms per sentence)",
    ),
    msPerChar: fig(1.5, "ms per character", "estimate", "~270 ms for an 80-character sentence"),
    usdPerAudioMinute: fig(0.0002, "USD per audio minute produced", "price list", CF_PRICING),
  }),
  smartTurn: Object.freeze({
    model: "@cf/pipecat-ai/smart-turn-v2",
    inferenceMs: fig(
      90,
      "ms per call, excluding the DO <-> AI round trip",
      "estimate",
      "an audio classifier over up to 8 s of 16 kHz audio: v2 is wav2vec2-based (Hugging Face card pipecat-ai/smart-turn), larger than v3, whose Whisper-Tiny encoder runs in ~10-12 ms on a CPU (pipecat-ai/smart-turn README); on a shared GPU with request handling and queueing, 60-120 ms is assumed, 90 used. Plus the DO <-> AI round trip (the fake waits 90 + 20 ms)",
    ),
    usdPerAudioMinute: fig(
      0.00034,
      "USD per audio minute sent",
      "price list",
      `${CF_PRICING}; the row's neuron figure contradicts its dollar figure, the dollar one is used`,
    ),
  }),
  flux: Object.freeze({
    model: "@cf/deepgram/flux",
    endOfTurnP50Ms: fig(
      260,
      "ms after the end of speech",
      "vendor claim",
      'Deepgram: "~260 ms end-of-turn detection" (Flux model card / quickstart, developers.deepgram.com/docs/flux/quickstart)',
    ),
    endOfTurnP95Ms: fig(
      1500,
      "ms after the end of speech",
      "vendor claim",
      "Deepgram's Flux model card, as quoted in the project brief (not re-checked here): p95 end-of-turn latency ~1.5 s without eager end of turn",
    ),
    endOfTurnFloorMs: fig(
      120,
      "ms after the end of speech",
      "estimate",
      "the shortest silence after which the fake lets Flux end a turn: a turn model cannot tell a word gap from an end of turn with less, and flite's word gaps reach 100 ms. The delay is this floor plus a lognormal fitted to the median and p95 above",
    ),
    eagerEarlierMs: fig(
      150,
      "ms before EndOfTurn",
      "vendor claim",
      "EagerEndOfTurn at eager_eot_threshold 0.3-0.5 comes ~150-250 ms before EndOfTurn (Deepgram eager end-of-turn guide; Telnyx's Flux parameter docs); the lower end is used, at every quantile",
    ),
    eagerFloorMs: fig(
      110,
      "ms after the end of speech",
      "estimate",
      "EagerEndOfTurn is never earlier than this: more than flite's longest word gap (100 ms)",
    ),
    updateEveryMs: fig(
      250,
      "ms of audio between Update events",
      "vendor claim",
      "Deepgram Flux state machine: Update about every 0.25 s of audio",
    ),
    wordLagMs: fig(
      200,
      "ms after a word ends",
      "estimate",
      "when a word shows up in an Update: EagerEndOfTurn already carries the whole transcript at its ~110 ms floor, so the words are known by then; Nova's 200 ms lag is used, the more cautious figure. Before that, Updates hold the words of the speech so far less the last one",
    ),
    transcriptAtEndOfTurn: fig(
      0,
      "ms after EndOfTurn",
      "vendor claim",
      "the EndOfTurn event carries the turn's final transcript (equal to the EagerEndOfTurn one): no separate STT step",
    ),
    usdPerAudioMinute: fig(0.0077, "USD per audio minute streamed (silence included)", "price list", CF_PRICING),
  }),
  nova: Object.freeze({
    model: "@cf/deepgram/nova-3",
    wordLagMs: fig(
      200,
      "ms after a word ends",
      "estimate",
      "when a word shows up in an interim result: Deepgram advertises sub-300 ms streaming latency for Nova-3. The transcript signal judges the words at the 250 ms pause mark, so a lag above ~250 ms would hide the last word from it",
    ),
    finalizeMs: fig(
      100,
      "ms from Finalize to the final result, excluding the round trip",
      "estimate",
      "Finalize flushes the audio already buffered; the decoder has little left to do",
    ),
    usdPerAudioMinute: fig(0.0092, "USD per audio minute streamed over a WebSocket (silence included)", "price list", CF_PRICING),
  }),
});

export type WorkersAiProfile = typeof WORKERS_AI_PROFILE;
const P = WORKERS_AI_PROFILE;

// ---------------------------------------------------------------------------------------------------
// Latencies the fakes apply

/** whisper-large-v3-turbo: request -> transcript. */
export function whisperMs(audioSeconds: number): number {
  return P.whisper.baseMs.value + P.whisper.msPerAudioSecond.value * audioSeconds;
}

/** melotts: request -> audio, for one chunk of text. */
export function melottsMs(text: string): number {
  return P.tts.baseMs.value + P.tts.msPerChar.value * text.length;
}

/** Llama: when token `i` (0-based) is due after the request; `i === tokens` is the end of the stream. */
export function llmTokenDueMs(i: number): number {
  return P.llm.firstTokenMs.value + (i * 1000) / P.llm.tokensPerSecond.value;
}

/** smart-turn-v2: request -> answer, as seen from the Durable Object. */
export function smartTurnCallMs(): number {
  return P.smartTurn.inferenceMs.value + P.network.doAiRttMs.value;
}

/** Inverse of the standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`quantile must be within (0, 1), got ${p}`);
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (
      (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
      ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1)
    );
  }
  if (p > 1 - lo) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  );
}

/** z of the 95th percentile. */
const Z95 = 1.6448536269514722;

/**
 * Flux's EndOfTurn delay after the end of speech (in audio, before any network), at quantile `q` of its
 * distribution: the floor plus a lognormal whose median and 95th percentile put the total at the
 * vendor's 260 ms and 1.5 s. Capped at `timeoutMs` (Flux's eot_timeout_ms forces the end of turn).
 */
export function fluxEndOfTurnMs(q: number, timeoutMs = Infinity): number {
  const floor = P.flux.endOfTurnFloorMs.value;
  const median = P.flux.endOfTurnP50Ms.value - floor;
  const sigma = Math.log((P.flux.endOfTurnP95Ms.value - floor) / median) / Z95;
  return Math.min(timeoutMs, floor + median * Math.exp(sigma * normalQuantile(q)));
}

/** EagerEndOfTurn of the same turn: a fixed lead on EndOfTurn, never earlier than its floor (nor later than EndOfTurn). */
export function fluxEagerMs(endOfTurnMs: number): number {
  return Math.min(endOfTurnMs, Math.max(P.flux.eagerFloorMs.value, endOfTurnMs - P.flux.eagerEarlierMs.value));
}

/**
 * The quantile the fake uses for its k-th decision (0-based) out of `strata`: stratified, so n turns
 * see the distribution's n equal-probability slices once each (in a scrambled order, so turn order and
 * time do not line up with the draw), and the measured percentiles follow the profile rather than luck.
 */
export function stratifiedQuantile(k: number, strata: number): number {
  const n = Math.max(1, Math.floor(strata));
  const slot = ((((k % n) + n) % n) * 7919) % n; // 7919 is prime: a permutation of 0..n-1 unless n is a multiple of it
  return (slot + 0.5) / n;
}

// ---------------------------------------------------------------------------------------------------
// Costs

/** Dollars per second of audio on the audio-priced models. */
export function usdPerAudioSecond(): Record<string, number> {
  return {
    [P.whisper.model]: P.whisper.usdPerAudioMinute.value / 60,
    [P.flux.model]: P.flux.usdPerAudioMinute.value / 60,
    [P.nova.model]: P.nova.usdPerAudioMinute.value / 60,
    [P.smartTurn.model]: P.smartTurn.usdPerAudioMinute.value / 60,
    [P.tts.model]: P.tts.usdPerAudioMinute.value / 60,
  };
}

/** Every figure as a flat list, for reports and the README. */
export function profileRows(): { key: string; value: number; unit: string; basis: Basis; source: string }[] {
  const rows: { key: string; value: number; unit: string; basis: Basis; source: string }[] = [];
  for (const [group, entries] of Object.entries(P)) {
    for (const [name, v] of Object.entries(entries as Record<string, unknown>)) {
      if (typeof v === "object" && v !== null && "value" in v) rows.push({ key: `${group}.${name}`, ...(v as Figure) });
    }
  }
  return rows;
}

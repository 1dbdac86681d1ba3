// The echo guard's playback reference: how loud the assistant's voice was, recorded by the playback
// worklet per render quantum and read by the capture worklet for each 20 ms microphone frame (the
// loudest level of the ~200 ms before the frame: echo comes back 20-150 ms late).
//
// Why through a global and not the main thread: both processors run in the same AudioContext, so in
// the same AudioWorkletGlobalScope, on the same audio thread, quantum after quantum. A record on
// globalThis is aligned with the microphone in AudioContext time to within one render quantum, has
// no message latency and no main-thread jank (exactly when a barge-in onset is decided). Each
// worklet bundle has its own copy of this module, so the shared record is plain data (typed arrays
// and a cursor), never a class instance. If the scope were not shared, the capture side would read
// 0: no echo guard, and the detector behaves as it did without one.
// Pure: no DOM, no Web Audio.

export interface PlaybackLevels {
  /** AudioContext time (s) at which each recorded block starts; -Infinity where nothing is recorded yet. */
  times: Float64Array;
  /** Output RMS (linear) of each block. */
  levels: Float32Array;
  next: number;
}

const GLOBAL_KEY = "__parleyPlaybackLevels";
/** Blocks kept: 512 render quanta of 128 samples are 1.4 s at 48 kHz, 0.34 s even at 192 kHz. */
const CAPACITY = 512;

export function createPlaybackLevels(capacity = CAPACITY): PlaybackLevels {
  return { times: new Float64Array(capacity).fill(-Infinity), levels: new Float32Array(capacity), next: 0 };
}

/** The record shared by every worklet of this AudioWorkletGlobalScope (created by whichever asks first). */
export function sharedPlaybackLevels(scope: object = globalThis): PlaybackLevels {
  const holder = scope as Record<string, unknown>;
  const existing = holder[GLOBAL_KEY] as Partial<PlaybackLevels> | undefined;
  if (existing && existing.times instanceof Float64Array && existing.levels instanceof Float32Array && typeof existing.next === "number") {
    return existing as PlaybackLevels;
  }
  const created = createPlaybackLevels();
  holder[GLOBAL_KEY] = created;
  return created;
}

/** Record one block of output starting at `timeS` (AudioContext time). */
export function recordPlaybackLevel(h: PlaybackLevels, timeS: number, rms: number): void {
  h.times[h.next] = timeS;
  h.levels[h.next] = rms;
  h.next = (h.next + 1) % h.times.length;
}

/** The loudest block that started within [fromS, toS]; 0 when the assistant was silent (or nothing was recorded). */
export function loudestPlaybackLevel(h: PlaybackLevels, fromS: number, toS: number): number {
  // Blocks are recorded in time order: walk back from the newest and stop at the first one too old.
  let max = 0;
  const n = h.times.length;
  for (let k = 1; k <= n; k++) {
    const i = (h.next - k + n) % n;
    const t = h.times[i]!;
    if (t < fromS) break;
    if (t <= toS && h.levels[i]! > max) max = h.levels[i]!;
  }
  return max;
}

/** RMS of a block of samples. */
export function blockRms(samples: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i]! * samples[i]!;
  return samples.length > 0 ? Math.sqrt(sum / samples.length) : 0;
}

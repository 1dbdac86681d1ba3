// The simulated microphone: per 20 ms frame, the room (pink noise), the user's sounds scheduled at
// exact samples, and the echo of what the client itself played (a delayed, attenuated copy of the
// playback output), summed and quantized to PCM16 as a capture worklet would hand it over.
import type { Clip } from "./clips.ts";
import { PinkNoise } from "./sounds.ts";
import { FRAME_SAMPLES } from "./session-tape.ts";

/** Room noise level (dBFS RMS): a quiet room through a laptop microphone. */
export const ROOM_NOISE_DBFS = -60;
/** Longest echo delay the delay line holds (samples; 0.5 s). */
const DELAY_LINE_SAMPLES = 8192;

interface Scheduled {
  clip: Clip;
  /** Session sample of the clip's first sample. */
  at: number;
}

export class MicMixer {
  private readonly room: PinkNoise;
  private readonly echoGain: number;
  private readonly echoDelaySamples: number;
  private readonly delayLine = new Float32Array(DELAY_LINE_SAMPLES);
  private readonly sources: Scheduled[] = [];
  private readonly mix = new Float32Array(FRAME_SAMPLES);

  constructor(o: { roomSeed: number; echoDb: number; echoDelaySamples: number }) {
    if (o.echoDelaySamples + FRAME_SAMPLES > DELAY_LINE_SAMPLES) throw new RangeError("echo delay longer than the delay line");
    this.room = new PinkNoise(o.roomSeed, ROOM_NOISE_DBFS);
    this.echoGain = 10 ** (o.echoDb / 20);
    this.echoDelaySamples = o.echoDelaySamples;
  }

  schedule(clip: Clip, at: number): void {
    this.sources.push({ clip, at });
  }

  /** Are scheduled sounds still playing into the microphone at or after session sample `clock`? */
  busyAt(clock: number): boolean {
    return this.sources.some((s) => s.at + s.clip.samples.length > clock);
  }

  /**
   * The microphone frame for session samples [clock, clock + FRAME_SAMPLES), given the playback output
   * of the same 20 ms (which enters the delay line; its echo arrives echoDelaySamples later).
   */
  frame(clock: number, playback: Float32Array): Int16Array {
    // Indexed by session sample, so the echo of output sample t is read back at t + echoDelaySamples.
    for (let i = 0; i < FRAME_SAMPLES; i++) this.delayLine[(clock + i) % DELAY_LINE_SAMPLES] = playback[i]!;
    const mix = this.mix;
    mix.fill(0);
    this.room.addTo(mix);
    for (let i = 0; i < FRAME_SAMPLES; i++) {
      const src = clock + i - this.echoDelaySamples;
      if (src >= 0) mix[i]! += this.echoGain * this.delayLine[src % DELAY_LINE_SAMPLES]!;
    }
    for (let k = this.sources.length - 1; k >= 0; k--) {
      const s = this.sources[k]!;
      const from = Math.max(clock, s.at);
      const to = Math.min(clock + FRAME_SAMPLES, s.at + s.clip.samples.length);
      for (let t = from; t < to; t++) mix[t - clock]! += s.clip.samples[t - s.at]!;
      if (s.at + s.clip.samples.length <= clock + FRAME_SAMPLES) this.sources.splice(k, 1);
    }
    const out = new Int16Array(FRAME_SAMPLES);
    for (let i = 0; i < FRAME_SAMPLES; i++) out[i] = Math.max(-32768, Math.min(32767, Math.round(mix[i]! * 32768)));
    return out;
  }
}

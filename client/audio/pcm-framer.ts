// Cuts a stream of float samples (any block sizes) into exact fixed-size PCM16 little-endian frames.
// Pure: no DOM. The capture worklet feeds it 16 kHz mono samples and sends each frame upstream.
// Deliberately no import of shared/protocol.ts here: this module is bundled into the capture worklet
// and must not drag zod in. test/node/client/audio/pcm-framer.test.ts checks these match UPSTREAM_AUDIO.

/** Upstream rate: 16 kHz mono. */
export const UPSTREAM_RATE = 16_000;
/** 20 ms at 16 kHz = 320 samples = 640 bytes. */
export const FRAME_SAMPLES = 320;
export const FRAME_BYTES = FRAME_SAMPLES * 2;

export interface PcmFrame {
  /** Exactly frameSamples * 2 bytes of signed 16-bit little-endian PCM. */
  pcm: ArrayBuffer;
  /** RMS and peak of the frame, linear full scale (0..1). */
  rms: number;
  peak: number;
  /** Index of the frame's first sample in the whole stream (for timing). */
  startSample: number;
}

/** Float sample (nominally -1..1) to a signed 16-bit integer, clamped and rounded. */
export function floatToInt16(x: number): number {
  if (!(x === x)) return 0; // NaN
  const s = x < -1 ? -1 : x > 1 ? 1 : x;
  return Math.round(s < 0 ? s * 0x8000 : s * 0x7fff);
}

/** Encode floats as PCM16 LE into a new ArrayBuffer (explicit byte order, independent of platform). */
export function encodePcm16le(samples: Float32Array): ArrayBuffer {
  const out = new ArrayBuffer(samples.length * 2);
  const view = new DataView(out);
  for (let i = 0; i < samples.length; i++) view.setInt16(i * 2, floatToInt16(samples[i]!), true);
  return out;
}

/** Decode PCM16 LE bytes into floats in -1..1. */
export function decodePcm16le(bytes: ArrayBuffer | ArrayBufferView): Float32Array {
  const view = ArrayBuffer.isView(bytes) ? new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) : new DataView(bytes);
  const n = view.byteLength >> 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = view.getInt16(i * 2, true) / 0x8000;
  return out;
}

export class PcmFramer {
  readonly frameSamples: number;
  private pending: Float32Array;
  private fill = 0;
  private emitted = 0;

  constructor(frameSamples: number = FRAME_SAMPLES) {
    if (!Number.isInteger(frameSamples) || frameSamples <= 0) throw new RangeError("frameSamples must be a positive integer");
    this.frameSamples = frameSamples;
    this.pending = new Float32Array(frameSamples);
  }

  /** Samples waiting for the next frame. */
  get buffered(): number {
    return this.fill;
  }

  /** Add samples; returns the frames completed by them (possibly none, possibly several). */
  push(samples: Float32Array): PcmFrame[] {
    const frames: PcmFrame[] = [];
    let offset = 0;
    while (offset < samples.length) {
      const take = Math.min(this.frameSamples - this.fill, samples.length - offset);
      this.pending.set(samples.subarray(offset, offset + take), this.fill);
      this.fill += take;
      offset += take;
      if (this.fill === this.frameSamples) frames.push(this.emit());
    }
    return frames;
  }

  /** Pad the partial frame with silence and emit it (e.g. at the end of push-to-talk); null if empty. */
  flush(): PcmFrame | null {
    if (this.fill === 0) return null;
    this.pending.fill(0, this.fill);
    this.fill = this.frameSamples;
    return this.emit();
  }

  /** Drop any partial frame. */
  reset(): void {
    this.fill = 0;
  }

  private emit(): PcmFrame {
    const n = this.frameSamples;
    const pcm = new ArrayBuffer(n * 2);
    const view = new DataView(pcm);
    let sum = 0;
    let peak = 0;
    for (let i = 0; i < n; i++) {
      const x = this.pending[i]!;
      view.setInt16(i * 2, floatToInt16(x), true);
      sum += x * x;
      const a = x < 0 ? -x : x;
      if (a > peak) peak = a;
    }
    const frame: PcmFrame = { pcm, rms: Math.sqrt(sum / n), peak: Math.min(1, peak), startSample: this.emitted };
    this.emitted += n;
    this.fill = 0;
    return frame;
  }
}

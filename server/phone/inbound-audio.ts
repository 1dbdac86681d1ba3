// The caller's audio as the session hears a browser's: Twilio's μ-law 8 kHz payloads -> PCM16 ->
// 16 kHz (streaming resampler, no edges between payloads) -> 20 ms frames of 320 samples, the
// frames the turn detector and speech-to-text take (shared/protocol.ts, UPSTREAM_AUDIO). Pure.
import { Resampler } from "../../shared/audio/resampler.ts";
import { UPSTREAM_AUDIO } from "../../shared/protocol.ts";
import { decodeMulaw } from "../../shared/audio/g711.ts";
import { float32ToInt16, int16ToFloat32 } from "../../shared/audio/pcm.ts";
import { PHONE_AUDIO } from "./twilio-media.ts";

const FRAME_SAMPLES = (UPSTREAM_AUDIO.sampleRate * UPSTREAM_AUDIO.frameMs) / 1000;

export class InboundAudio {
  readonly #resampler = new Resampler(PHONE_AUDIO.sampleRate, UPSTREAM_AUDIO.sampleRate);
  #pending = new Int16Array(FRAME_SAMPLES * 4);
  #pendingLength = 0;

  /** One media payload's μ-law bytes -> the whole 20 ms frames of 16 kHz PCM16 now available. */
  push(mulaw: Uint8Array): Int16Array[] {
    const up = float32ToInt16(this.#resampler.process(int16ToFloat32(decodeMulaw(mulaw))));
    if (this.#pendingLength + up.length > this.#pending.length) {
      const grown = new Int16Array(Math.max(this.#pending.length * 2, this.#pendingLength + up.length));
      grown.set(this.#pending.subarray(0, this.#pendingLength));
      this.#pending = grown;
    }
    this.#pending.set(up, this.#pendingLength);
    this.#pendingLength += up.length;
    const frames: Int16Array[] = [];
    let offset = 0;
    while (this.#pendingLength - offset >= FRAME_SAMPLES) {
      frames.push(this.#pending.slice(offset, offset + FRAME_SAMPLES));
      offset += FRAME_SAMPLES;
    }
    this.#pending.copyWithin(0, offset, this.#pendingLength);
    this.#pendingLength -= offset;
    return frames;
  }
}

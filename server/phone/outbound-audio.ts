// A reply segment's audio as Twilio plays it: PCM16 WAV (Aura asked for linear16, the offline
// stand-in's WAV) -> mono -> 8 kHz -> μ-law, cut into 20 ms media payloads. MP3 cannot be decoded
// in a Worker, so it is refused with a message that names the setting to change. Pure.
import { Resampler } from "../../shared/audio/resampler.ts";
import { encodeMulaw } from "../../shared/audio/g711.ts";
import { AudioFormatError, float32ToInt16, int16ToFloat32 } from "../../shared/audio/pcm.ts";
import { parseWav } from "../../shared/audio/wav.ts";
import { PHONE_AUDIO } from "./twilio-media.ts";

/** μ-law's code for 0 (digital silence): pads a segment's last frame. */
export const MULAW_SILENCE = 0xff;

export interface PhoneAudio {
  /** 160-byte μ-law frames, 20 ms each. */
  frames: Uint8Array[];
  durationMs: number;
}

/** A segment's bytes (as the session sends them to browsers) -> Twilio's frames. Throws AudioFormatError for audio it cannot decode. */
export function phoneFrames(bytes: Uint8Array, container: "mp3" | "wav"): PhoneAudio {
  if (container !== "wav")
    throw new AudioFormatError("MP3 speech cannot be decoded in a Worker: phone calls need PCM (PHONE_TTS_MODEL must be an Aura model)");
  const pcm8k = wavMonoAt(bytes, PHONE_AUDIO.sampleRate);
  return { frames: mulawFrames(pcm8k), durationMs: (pcm8k.length * 1000) / PHONE_AUDIO.sampleRate };
}

/** A WAV file's audio as mono PCM16 at `sampleRate` (channels averaged, resampled when its rate differs). */
export function wavMonoAt(bytes: Uint8Array, sampleRate: number): Int16Array {
  const wav = parseWav(bytes);
  let mono = wav.pcm;
  if (wav.channels > 1) {
    mono = new Int16Array(wav.pcm.length / wav.channels);
    for (let i = 0; i < mono.length; i++) {
      let sum = 0;
      for (let c = 0; c < wav.channels; c++) sum += wav.pcm[i * wav.channels + c]!;
      mono[i] = Math.round(sum / wav.channels);
    }
  }
  return wav.sampleRate === sampleRate ? mono : float32ToInt16(Resampler.convert(int16ToFloat32(mono), wav.sampleRate, sampleRate));
}

/** 8 kHz PCM16 -> 160-byte μ-law frames, the last one padded with silence. */
export function mulawFrames(pcm8k: Int16Array): Uint8Array[] {
  const n = PHONE_AUDIO.frameBytes;
  const all = new Uint8Array(Math.ceil(pcm8k.length / n) * n).fill(MULAW_SILENCE);
  encodeMulaw(pcm8k, all);
  const frames: Uint8Array[] = [];
  for (let i = 0; i < all.length; i += n) frames.push(all.subarray(i, i + n));
  return frames;
}

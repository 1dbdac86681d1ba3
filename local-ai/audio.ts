// Audio input of the offline stand-in: any WAV a caller sends, as the 16 kHz mono PCM16 PocketSphinx
// reads. The codecs are the shared ones (shared/audio/: WAV, G.711, resampler); this adds only the
// error that names what the bytes are when they are not a WAV. Pure functions on typed arrays (no Node
// or Cloudflare imports), unit-tested in test/node/local-ai/audio.test.ts.
import { sniffAudio } from "../shared/audio/audio-container.ts";
import { Mp3FormatError } from "../shared/audio/mp3.ts";
import { AudioFormatError, float32ToInt16 } from "../shared/audio/pcm.ts";
import { Resampler } from "../shared/audio/resampler.ts";
import { isRiffWave } from "../shared/audio/wav-chunks.ts";
import { decodeWav as decodeAnyWav, parseWav, WavFormatError, type DecodedAudio, type ParsedWav } from "../shared/audio/wav.ts";

/** The PCM16 parser, or undefined when it refuses the file (another encoding, or not a WAV). */
function parsePcm16Wav(bytes: Uint8Array): ParsedWav | undefined {
  try {
    return parseWav(bytes);
  } catch (e) {
    if (e instanceof WavFormatError) return undefined;
    throw e;
  }
}

/** The shared decodeWav, whose error for bytes that are not a WAV says what they are instead. */
export function decodeWav(bytes: Uint8Array): DecodedAudio {
  if (!isRiffWave(bytes)) throw new AudioFormatError(notWavMessage(bytes));
  return decodeAnyWav(bytes);
}

/** Any WAV -> mono PCM16 at `targetRate`, the format PocketSphinx's en-us model expects (16 kHz). */
export function wavToPcm16Mono(bytes: Uint8Array, targetRate = 16000): { pcm: Int16Array; durationSec: number; sourceRate: number } {
  const wav = parsePcm16Wav(bytes);
  // What Parley's server sends (and flite writes): already 16 kHz mono PCM16, used as is.
  if (wav && wav.channels === 1 && wav.sampleRate === targetRate)
    return { pcm: wav.pcm, durationSec: wav.durationMs / 1000, sourceRate: wav.sampleRate };
  const decoded = decodeWav(bytes);
  const mono = decoded.sampleRate === targetRate ? decoded.samples : Resampler.convert(decoded.samples, decoded.sampleRate, targetRate);
  return { pcm: float32ToInt16(mono), durationSec: decoded.samples.length / decoded.sampleRate, sourceRate: decoded.sampleRate };
}

function notWavMessage(bytes: Uint8Array): string {
  try {
    return `expected a WAV (RIFF/WAVE) file, got ${sniffAudio(bytes).container.toUpperCase()}`;
  } catch (e) {
    if (e instanceof Mp3FormatError) return `expected a WAV (RIFF/WAVE) file, got MP3 (${e.message})`;
    return `expected a WAV (RIFF/WAVE) file: ${(e as Error).message}`;
  }
}

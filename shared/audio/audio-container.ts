// Identify TTS/STT audio from its bytes, never from a declared content type: model outputs and
// error bodies have been confused before (a JSON error decoded as "audio").
import { parseMp3 } from "./mp3.ts";
import { AudioFormatError } from "./pcm.ts";
import { parseWav } from "./wav.ts";
import { isRiffWave } from "./wav-chunks.ts";

export interface AudioInfo {
  container: "mp3" | "wav";
  codec: "mp3" | "pcm_s16le";
  sampleRate: number;
  channels: number;
  durationMs: number;
}

/** The bytes are not a container we know. `detected` names what they look like instead, if anything. */
export class UnknownAudioError extends AudioFormatError {
  override name = "UnknownAudioError";
  readonly detected: string | null;
  constructor(message: string, detected: string | null = null) {
    super(message);
    this.detected = detected;
  }
}

/**
 * Detect WAV (RIFF/WAVE) or MP3 (ID3v2 tag or MPEG frame sync) and read format and duration.
 * Throws UnknownAudioError for anything else; WavFormatError / Mp3FormatError for a recognised
 * but broken or unsupported file (all subclasses of AudioFormatError).
 */
export function sniffAudio(input: Uint8Array | ArrayBuffer): AudioInfo {
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  if (bytes.length === 0) throw new UnknownAudioError("no audio: 0 bytes", "empty");
  if (isRiffWave(bytes)) {
    const wav = parseWav(bytes);
    return { container: "wav", codec: "pcm_s16le", sampleRate: wav.sampleRate, channels: wav.channels, durationMs: wav.durationMs };
  }
  if (startsWith(bytes, "ID3") || (bytes.length >= 2 && bytes[0] === 0xff && (bytes[1]! & 0xe0) === 0xe0)) {
    const mp3 = parseMp3(bytes);
    return { container: "mp3", codec: "mp3", sampleRate: mp3.sampleRate, channels: mp3.channels, durationMs: mp3.durationMs };
  }
  const detected = identify(bytes);
  const preview = textPreview(bytes);
  throw new UnknownAudioError(
    `not WAV or MP3 audio${detected ? ` (looks like ${detected})` : ""}: ${bytes.length} bytes starting ${preview}`,
    detected,
  );
}

function identify(bytes: Uint8Array): string | null {
  if (startsWith(bytes, "OggS")) return "Ogg";
  if (startsWith(bytes, "fLaC")) return "FLAC";
  if (startsWith(bytes, "ftyp", 4)) return "MP4/M4A";
  if (bytes.length >= 4 && bytes[0] === 0x1a && bytes[1] === 0x45 && bytes[2] === 0xdf && bytes[3] === 0xa3) return "WebM/Matroska";
  if (startsWith(bytes, "RIFF")) return "a non-WAVE RIFF file";
  let i = 0;
  while (i < bytes.length && i < 64 && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)) i++;
  const c = bytes[i];
  if (c === 0x7b || c === 0x5b) return "JSON (an error body?)"; // { or [
  if (c === 0x3c) return "HTML/XML"; // <
  return null;
}

/** First bytes as escaped text, for logs: enough to recognise `{"errors":...}` without dumping binary. */
function textPreview(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < Math.min(bytes.length, 32); i++) {
    const b = bytes[i]!;
    s += b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, "0")}`;
  }
  return `"${s}"${bytes.length > 32 ? "..." : ""}`;
}

function startsWith(bytes: Uint8Array, tag: string, offset = 0): boolean {
  if (bytes.length < offset + tag.length) return false;
  for (let i = 0; i < tag.length; i++) if (bytes[offset + i] !== tag.charCodeAt(i)) return false;
  return true;
}

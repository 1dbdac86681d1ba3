// The two recordings of a turn as files: the user's utterance (16 kHz mono PCM16 WAV), and the reply as
// the user heard it — the TTS segments the turn sent, joined into one file and cut where playback
// stopped. WAV segments become one WAV (their PCM joined); MP3 segments become one MP3 (their audio
// frames joined, ID3 tags and Xing/Info frames dropped, so players read one stream). Pure: no I/O.
import { UPSTREAM_AUDIO } from "../../shared/protocol.ts";
import { mp3Frames } from "../../shared/audio/mp3.ts";
import { encodeWav, parseWav } from "../../shared/audio/wav.ts";
import { concatArrays } from "../../shared/typed-arrays.ts";
import type { PlaybackPosition } from "../turn/heard-text.ts";

export type RecordingKind = "user" | "reply";

export interface RecordedAudio {
  bytes: Uint8Array<ArrayBuffer>;
  contentType: "audio/wav" | "audio/mpeg";
  extension: "wav" | "mp3";
  durationMs: number;
}

/** One TTS segment as it was sent (server/text-to-speech/tts.ts SpeechAudio, the fields needed here). */
export interface SentSegment {
  bytes: Uint8Array;
  container: "mp3" | "wav";
}

/** The user's utterance as a WAV file; null when there is no audio. */
export function utteranceRecording(pcm: Int16Array): RecordedAudio | null {
  if (pcm.length === 0) return null;
  const rate = UPSTREAM_AUDIO.sampleRate;
  return { bytes: encodeWav(pcm, rate, 1), contentType: "audio/wav", extension: "wav", durationMs: (pcm.length * 1000) / rate };
}

/**
 * The reply as heard: segments before `heardTo.segment` whole, then `heardTo.playedMs` of that one
 * (to the nearest sample, or the nearest MP3 frame); all of them when `heardTo` is null (played out).
 * Segments after one in another format (container, sample rate, channels) than the first are left
 * out: one file holds one stream. Null when nothing was heard.
 */
export function replyRecording(segments: readonly SentSegment[], heardTo: PlaybackPosition | null): RecordedAudio | null {
  const first = segments[0];
  if (!first) return null;
  const last = heardTo === null ? segments.length : Math.min(heardTo.segment, segments.length);
  const partialMs = heardTo !== null && heardTo.segment < segments.length ? Math.max(0, heardTo.playedMs) : 0;
  const recording = first.container === "wav" ? joinWav(segments, last, partialMs) : joinMp3(segments, last, partialMs);
  return recording && recording.durationMs > 0 ? recording : null;
}

function joinWav(segments: readonly SentSegment[], whole: number, partialMs: number): RecordedAudio | null {
  const head = parseWav(segments[0]!.bytes);
  const parts: Int16Array[] = [];
  for (let i = 0; i <= whole && i < segments.length; i++) {
    const seg = segments[i]!;
    if (seg.container !== "wav") break;
    const wav = parseWav(seg.bytes);
    if (wav.sampleRate !== head.sampleRate || wav.channels !== head.channels) break;
    if (i < whole) parts.push(wav.pcm);
    else {
      const frames = Math.min(wav.pcm.length / wav.channels, Math.round((partialMs * wav.sampleRate) / 1000));
      parts.push(wav.pcm.subarray(0, frames * wav.channels));
    }
  }
  const pcm = concatArrays(Int16Array, parts);
  const frames = pcm.length / head.channels;
  return {
    bytes: encodeWav(pcm, head.sampleRate, head.channels),
    contentType: "audio/wav",
    extension: "wav",
    durationMs: (frames * 1000) / head.sampleRate,
  };
}

function joinMp3(segments: readonly SentSegment[], whole: number, partialMs: number): RecordedAudio | null {
  const head = mp3Frames(segments[0]!.bytes);
  const frameMs = (head.samplesPerFrame * 1000) / head.sampleRate;
  const kept: Uint8Array[] = [];
  let size = 0;
  for (let i = 0; i <= whole && i < segments.length; i++) {
    const seg = segments[i]!;
    if (seg.container !== "mp3") break;
    const walk = mp3Frames(seg.bytes);
    if (walk.sampleRate !== head.sampleRate || walk.version !== head.version || walk.channels !== head.channels) break;
    const count = i < whole ? walk.frames.length : Math.min(walk.frames.length, Math.round(partialMs / frameMs));
    for (const f of walk.frames.slice(0, count)) {
      kept.push(seg.bytes.subarray(f.offset, f.offset + f.length));
      size += f.length;
    }
  }
  const bytes = concatArrays(Uint8Array, kept);
  return { bytes, contentType: "audio/mpeg", extension: "mp3", durationMs: kept.length * frameMs };
}

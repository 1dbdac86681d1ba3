// MP3 (MPEG-1/2/2.5 Layer III) frame-header walking: duration without decoding. Walking every header
// is exact for CBR and VBR alike and costs well under 1 ms per MB.
import { AudioFormatError } from "./pcm.ts";

export class Mp3FormatError extends AudioFormatError {
  override name = "Mp3FormatError";
}

export type MpegVersion = 1 | 2 | 2.5;

export interface Mp3FrameHeader {
  version: MpegVersion;
  sampleRate: number;
  channels: 1 | 2;
  bitrateKbps: number;
  /** Whole frame length in bytes, header included. */
  frameBytes: number;
  samplesPerFrame: 1152 | 576;
  hasCrc: boolean;
}

export interface Mp3Info {
  sampleRate: number;
  channels: 1 | 2;
  /** Decoded duration of the audio frames (before any encoder-delay trimming a gapless decoder does). */
  durationMs: number;
  /** Audio frames; a leading Xing/Info/VBRI metadata frame is not counted. */
  frames: number;
  version: MpegVersion;
  samplesPerFrame: number;
  /** Average over the audio frames. */
  bitrateKbps: number;
  /** Kind of VBR/metadata frame found before the audio, if any. */
  vbrHeader: "xing" | "info" | "vbri" | null;
  /** Frame count the Xing/Info/VBRI header claims (may disagree with `frames` for a truncated file). */
  declaredFrames: number | null;
  /** Bytes in unsyncable data between frames (0 for a clean file). */
  junkBytes: number;
}

// Layer III bitrates (kbps) by bitrate index; index 0 is "free format", 15 is invalid.
export const BITRATES_V1 = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, -1];
export const BITRATES_V2 = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, -1];
export const SAMPLE_RATES: Record<string, readonly number[]> = {
  "1": [44100, 48000, 32000],
  "2": [22050, 24000, 16000],
  "2.5": [11025, 12000, 8000],
};

/**
 * Decode the 4-byte frame header at `offset`. Returns null when the bytes are not a valid
 * Layer III header (so callers can scan for sync). Free-format bitrate is treated as invalid.
 */
export function readMp3FrameHeader(bytes: Uint8Array, offset: number): Mp3FrameHeader | null {
  if (offset + 4 > bytes.length) return null;
  const b1 = bytes[offset + 1]!;
  const b2 = bytes[offset + 2]!;
  const b3 = bytes[offset + 3]!;
  if (bytes[offset] !== 0xff || (b1 & 0xe0) !== 0xe0) return null;
  const versionBits = (b1 >> 3) & 3;
  const layerBits = (b1 >> 1) & 3;
  if (versionBits === 1 || layerBits !== 1) return null; // reserved version, or not Layer III
  const version: MpegVersion = versionBits === 3 ? 1 : versionBits === 2 ? 2 : 2.5;
  const bitrateIndex = b2 >> 4;
  const rateIndex = (b2 >> 2) & 3;
  if (bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3) return null;
  if ((b3 & 3) === 2) return null; // reserved emphasis: almost always a false sync
  const bitrateKbps = (version === 1 ? BITRATES_V1 : BITRATES_V2)[bitrateIndex]!;
  const sampleRate = SAMPLE_RATES[String(version)]![rateIndex]!;
  const padding = (b2 >> 1) & 1;
  const samplesPerFrame = version === 1 ? 1152 : 576;
  const frameBytes = Math.floor(((samplesPerFrame / 8) * bitrateKbps * 1000) / sampleRate) + padding;
  return {
    version,
    sampleRate,
    channels: b3 >> 6 === 3 ? 1 : 2,
    bitrateKbps,
    frameBytes,
    samplesPerFrame,
    hasCrc: (b1 & 1) === 0,
  };
}

/** Layer I/II headers are not parsed, but recognising them gives a better error than "no frames". */
function isOtherLayerHeader(bytes: Uint8Array, offset: number): boolean {
  if (offset + 4 > bytes.length || bytes[offset] !== 0xff) return false;
  const b1 = bytes[offset + 1]!;
  const b2 = bytes[offset + 2]!;
  return (b1 & 0xe0) === 0xe0 && ((b1 >> 3) & 3) !== 1 && ((b1 >> 1) & 3) >= 2 && b2 >> 4 !== 15 && ((b2 >> 2) & 3) !== 3;
}

/** Byte length of the ID3v2 tag(s) at the start, 0 if none. */
export function id3v2Length(bytes: Uint8Array, offset = 0): number {
  let pos = offset;
  // Some taggers write more than one tag back to back.
  while (
    pos + 10 <= bytes.length &&
    bytes[pos] === 0x49 &&
    bytes[pos + 1] === 0x44 &&
    bytes[pos + 2] === 0x33 && // "ID3"
    bytes[pos + 3]! < 0xff &&
    bytes[pos + 4]! < 0xff
  ) {
    const s0 = bytes[pos + 6]!,
      s1 = bytes[pos + 7]!,
      s2 = bytes[pos + 8]!,
      s3 = bytes[pos + 9]!;
    if ((s0 | s1 | s2 | s3) & 0x80) break; // size is syncsafe: top bits must be clear
    const size = (s0 << 21) | (s1 << 14) | (s2 << 7) | s3;
    const hasFooter = (bytes[pos + 5]! & 0x10) !== 0;
    pos += 10 + size + (hasFooter ? 10 : 0);
  }
  return Math.min(pos, bytes.length) - offset;
}

function sameStream(a: Mp3FrameHeader, b: Mp3FrameHeader): boolean {
  return a.version === b.version && a.sampleRate === b.sampleRate;
}

/** A header counts as a sync only if the next frame also starts where it says (or the data ends there). */
function confirmedHeaderAt(bytes: Uint8Array, offset: number, like: Mp3FrameHeader | null): Mp3FrameHeader | null {
  const h = readMp3FrameHeader(bytes, offset);
  if (!h || (like && !sameStream(h, like))) return null;
  const next = offset + h.frameBytes;
  if (next > bytes.length) return null;
  if (next === bytes.length || isTrailingTag(bytes, next)) return h;
  const n = readMp3FrameHeader(bytes, next);
  return n && sameStream(h, n) ? h : null;
}

function isTrailingTag(bytes: Uint8Array, offset: number): boolean {
  const tag = (s: string) => {
    for (let i = 0; i < s.length; i++) if (bytes[offset + i] !== s.charCodeAt(i)) return false;
    return true;
  };
  return tag("TAG") || tag("APETAGEX") || tag("LYRICS") || tag("ID3");
}

function findSync(bytes: Uint8Array, from: number, like: Mp3FrameHeader | null): { offset: number; header: Mp3FrameHeader } | null {
  for (let i = from; i + 4 <= bytes.length; i++) {
    if (bytes[i] !== 0xff) continue;
    const header = confirmedHeaderAt(bytes, i, like);
    if (header) return { offset: i, header };
  }
  return null;
}

export type VbrTag = { kind: "xing" | "info" | "vbri"; frames: number | null };

/** Xing/Info sits after the side info of the first frame; VBRI (Fraunhofer) at a fixed offset 32. */
function readVbrTag(bytes: Uint8Array, offset: number, h: Mp3FrameHeader): VbrTag | null {
  const sideInfo = h.version === 1 ? (h.channels === 1 ? 17 : 32) : h.channels === 1 ? 9 : 17;
  const x = offset + 4 + (h.hasCrc ? 2 : 0) + sideInfo;
  const at = (p: number, s: string) => {
    if (p + s.length > offset + h.frameBytes) return false;
    for (let i = 0; i < s.length; i++) if (bytes[p + i] !== s.charCodeAt(i)) return false;
    return true;
  };
  const u32 = (p: number) => ((bytes[p]! << 24) | (bytes[p + 1]! << 16) | (bytes[p + 2]! << 8) | bytes[p + 3]!) >>> 0;
  if (at(x, "Xing") || at(x, "Info")) {
    const flags = x + 8 <= offset + h.frameBytes ? u32(x + 4) : 0;
    const frames = flags & 1 && x + 12 <= offset + h.frameBytes ? u32(x + 8) : null;
    return { kind: at(x, "Xing") ? "xing" : "info", frames };
  }
  const v = offset + 4 + 32;
  if (at(v, "VBRI")) {
    return { kind: "vbri", frames: v + 18 <= offset + h.frameBytes ? u32(v + 14) : null };
  }
  return null;
}

/** Where each audio frame of an MP3 lies in its bytes, and the stream's format. */
export interface Mp3Frames {
  sampleRate: number;
  channels: 1 | 2;
  version: MpegVersion;
  samplesPerFrame: number;
  /** Audio frames in order (byte offset and length): no ID3 tag, no Xing/Info/VBRI metadata frame, no junk. */
  frames: { offset: number; length: number }[];
  vbr: VbrTag | null;
  junkBytes: number;
}

/**
 * Walk an MP3's frame headers: skips ID3v2 at the start and a leading Xing/Info/VBRI metadata frame,
 * resyncs over junk between frames, stops at ID3v1/APE tags, ignores a truncated last frame.
 * Throws Mp3FormatError if no Layer III frames are found.
 */
export function mp3Frames(input: Uint8Array | ArrayBuffer): Mp3Frames {
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  const start = id3v2Length(bytes);
  const first = findSync(bytes, start, null);
  if (!first) {
    if (isOtherLayerHeader(bytes, start)) {
      throw new Mp3FormatError("found MPEG Layer I/II audio; only Layer III (MP3) is supported");
    }
    throw new Mp3FormatError(
      bytes.length === start ? "MP3 has no audio frames (empty, or only an ID3 tag)" : "no MPEG Layer III frames found",
    );
  }

  const ref = first.header;
  let pos = first.offset;
  const frames: { offset: number; length: number }[] = [];
  let junkBytes = 0;
  const vbr = readVbrTag(bytes, pos, ref);
  if (vbr) pos += ref.frameBytes; // the metadata frame decodes to silence players skip: not audio

  let channels: 1 | 2 = ref.channels;
  while (pos + 4 <= bytes.length) {
    const h = readMp3FrameHeader(bytes, pos);
    if (h && sameStream(h, ref)) {
      if (pos + h.frameBytes > bytes.length) break; // truncated last frame
      if (frames.length === 0) channels = h.channels;
      frames.push({ offset: pos, length: h.frameBytes });
      pos += h.frameBytes;
      continue;
    }
    if (isTrailingTag(bytes, pos)) break;
    const next = findSync(bytes, pos + 1, ref);
    if (!next) break;
    junkBytes += next.offset - pos;
    pos = next.offset;
  }
  return { sampleRate: ref.sampleRate, channels, version: ref.version, samplesPerFrame: ref.samplesPerFrame, frames, vbr, junkBytes };
}

/** Duration and format of an MP3 by walking its frame headers (mp3Frames). */
export function parseMp3(input: Uint8Array | ArrayBuffer): Mp3Info {
  const walk = mp3Frames(input);
  const totalBytes = walk.frames.reduce((n, f) => n + f.length, 0);
  const durationMs = (walk.frames.length * walk.samplesPerFrame * 1000) / walk.sampleRate;
  return {
    sampleRate: walk.sampleRate,
    channels: walk.channels,
    durationMs,
    frames: walk.frames.length,
    version: walk.version,
    samplesPerFrame: walk.samplesPerFrame,
    bitrateKbps: durationMs > 0 ? (totalBytes * 8) / durationMs : 0,
    vbrHeader: walk.vbr?.kind ?? null,
    declaredFrames: walk.vbr?.frames ?? null,
    junkBytes: walk.junkBytes,
  };
}

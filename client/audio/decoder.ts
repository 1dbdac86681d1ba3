// Decodes one server audio segment (WAV or MP3, per its header) to mono float at the output rate,
// delivered in pieces so playback can start after the first ~100 ms instead of after the whole
// sentence. WAV goes through our own reader and band-limited streaming resampler (exact, tested);
// MP3 and anything our reader does not handle go through the browser's decodeAudioData (which
// resamples to the context rate) as one piece. A 3 ms fade at both ends of every segment makes
// each boundary click-free whatever the TTS produced.
import type { SegmentEvent } from "../../shared/protocol.ts";
import { EDGE_FADE_MS, FadingPieceWriter, resampleInPieces, type PieceSink } from "./segment-pieces.ts";
import { decodeWav, WavFormatError, type DecodedAudio } from "../../shared/audio/wav.ts";

/** Decode a whole segment, calling `sink` with its pieces in order (the last with last=true). */
export async function decodeSegment(ctx: BaseAudioContext, header: SegmentEvent, bytes: ArrayBuffer, sink: PieceSink): Promise<void> {
  const outRate = ctx.sampleRate;
  const writer = new FadingPieceWriter(Math.round((EDGE_FADE_MS * outRate) / 1000), sink);
  if (header.container === "wav") {
    let pcm: DecodedAudio | null = null;
    try {
      pcm = decodeWav(bytes);
    } catch (err) {
      if (!(err instanceof WavFormatError)) throw err;
    }
    if (pcm) {
      resampleInPieces(pcm.samples, pcm.sampleRate, outRate, writer);
      return;
    }
  }
  writer.write(await decodeWithBrowser(ctx, bytes));
  writer.end();
}

async function decodeWithBrowser(ctx: BaseAudioContext, bytes: ArrayBuffer): Promise<Float32Array> {
  // decodeAudioData detaches its argument: give it a copy.
  const buffer = await ctx.decodeAudioData(bytes.slice(0));
  const n = buffer.length;
  if (buffer.numberOfChannels === 1) return buffer.getChannelData(0).slice();
  const mono = new Float32Array(n);
  for (let c = 0; c < buffer.numberOfChannels; c++) {
    const ch = buffer.getChannelData(c);
    for (let i = 0; i < n; i++) mono[i]! += ch[i]!;
  }
  const g = 1 / buffer.numberOfChannels;
  for (let i = 0; i < n; i++) mono[i]! *= g;
  return mono;
}

import { describe, expect, it } from "vitest";
import { FadingPieceWriter, resampleInPieces } from "../../../../client/audio/segment-pieces.ts";
import { Resampler } from "../../../../shared/audio/resampler.ts";
import { concatArrays } from "../../../../shared/typed-arrays.ts";
import { applyEdgeFades } from "../../../support/test-audio.ts";

describe("Segment decoding in pieces", () => {
  it("pieces join into exactly the one-shot resample, faded at the segment's two ends only", () => {
    const input = new Float32Array(16_000 * 2).map((_, i) => 0.5 * Math.sin(i * 0.05));
    const pieces: { n: number; last: boolean }[] = [];
    const chunks: Float32Array[] = [];
    const writer = new FadingPieceWriter(132, (samples, last) => {
      pieces.push({ n: samples.length, last });
      chunks.push(samples);
    });
    resampleInPieces(input, 16_000, 44_100, writer);
    const joined = concatArrays(Float32Array, chunks);
    const expected = applyEdgeFades(Resampler.convert(input, 16_000, 44_100), 132);
    expect(joined.length).toBe(expected.length);
    let maxDiff = 0;
    for (let i = 0; i < joined.length; i++) maxDiff = Math.max(maxDiff, Math.abs(joined[i]! - expected[i]!));
    expect(maxDiff).toBeLessThan(1e-6);
    // The first piece is small (about 100 ms) so playback can start early; only the last is final.
    expect(pieces[0]!.n).toBeLessThan(44_100 * 0.11);
    expect(pieces.filter((p) => p.last)).toHaveLength(1);
    expect(pieces[pieces.length - 1]!.last).toBe(true);
  });
});

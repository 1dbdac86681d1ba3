// Pure part of segment decoding (no DOM): resampling a decoded segment in pieces, with click-free
// edges. decoder.ts feeds it; test/node/client/audio/segment-pieces.test.ts checks it.
import { Resampler } from "../../shared/audio/resampler.ts";
import { concatArrays } from "../../shared/typed-arrays.ts";

export const EDGE_FADE_MS = 3;
/** Input chunk sizes for the streaming resample: a small first piece, then larger ones. */
const FIRST_PIECE_MS = 100;
const PIECE_MS = 500;

export type PieceSink = (samples: Float32Array, last: boolean) => void;

/**
 * Emits pieces with a raised-cosine fade-in at the very start and fade-out at the very end. The
 * last `fade` samples are held back until the next piece (or the end) so the fade-out can be applied.
 */
export class FadingPieceWriter {
  private held: Float32Array = new Float32Array(0);
  private started = false;

  constructor(
    private readonly fade: number,
    private readonly sink: PieceSink,
  ) {}

  write(samples: Float32Array): void {
    const all = concatArrays(Float32Array, [this.held, samples]);
    if (!this.started && all.length > this.fade) {
      fadeIn(all, this.fade);
      this.started = true;
    }
    if (!this.started) {
      this.held = all;
      return;
    }
    const emit = all.length - this.fade;
    if (emit > 0) {
      this.sink(all.slice(0, emit), false);
      this.held = all.slice(emit);
    } else {
      this.held = all;
    }
  }

  end(): void {
    const all = this.held;
    if (!this.started) fadeIn(all, Math.floor(all.length / 2));
    fadeOut(all, Math.min(this.fade, this.started ? all.length : Math.floor(all.length / 2)));
    this.held = new Float32Array(0);
    this.sink(all, true);
  }
}

function fadeIn(x: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) x[i]! *= 0.5 - 0.5 * Math.cos((Math.PI * (i + 0.5)) / n);
}

function fadeOut(x: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) x[x.length - 1 - i]! *= 0.5 - 0.5 * Math.cos((Math.PI * (i + 0.5)) / n);
}

/** Resample `input` in chunks, handing each chunk's output to the writer as soon as it exists. */
export function resampleInPieces(input: Float32Array, inRate: number, outRate: number, writer: FadingPieceWriter): void {
  const resampler = new Resampler(inRate, outRate);
  let offset = 0;
  let chunk = Math.max(1, Math.round((FIRST_PIECE_MS * inRate) / 1000));
  while (offset < input.length) {
    const end = Math.min(input.length, offset + chunk);
    const out = resampler.process(input.subarray(offset, end));
    if (out.length) writer.write(out);
    offset = end;
    chunk = Math.max(1, Math.round((PIECE_MS * inRate) / 1000));
  }
  const tail = resampler.flush();
  if (tail.length) writer.write(tail);
  writer.end();
}

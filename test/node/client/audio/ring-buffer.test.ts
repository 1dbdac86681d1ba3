import { describe, expect, it } from "vitest";
import { PlaybackRingBuffer, type PlaybackEvent } from "../../../../client/audio/ring-buffer.ts";

const RATE = 48_000;
const QUANTUM = 128;
const block = (n: number, value = 0.5) => new Float32Array(n).fill(value);

/** Read `ms` of audio in render quanta; returns the output and all events. */
function play(rb: PlaybackRingBuffer, ms: number) {
  const quanta = Math.ceil((ms * RATE) / 1000 / QUANTUM);
  const out = new Float32Array(quanta * QUANTUM);
  const events: PlaybackEvent[] = [];
  const q = new Float32Array(QUANTUM);
  for (let i = 0; i < quanta; i++) {
    events.push(...rb.read(q));
    out.set(q, i * QUANTUM);
  }
  return { out, events };
}

describe("PlaybackRingBuffer", () => {
  it("plays whole segments back to back with no gap, and reports each segment's played ms", () => {
    const rb = new PlaybackRingBuffer(RATE, { initialCapacity: 4096 });
    // Segment 0: 300 ms of +0.5, segment 1: 200 ms of -0.5 (capacity grows on the way).
    rb.push("r1", 0, block(RATE * 0.3, 0.5));
    rb.push("r1", 1, block(RATE * 0.2, -0.5));
    rb.endReply("r1");
    const { out, events } = play(rb, 100);
    expect(rb.position).toEqual({ replyId: "r1", segment: 0, playedMs: (100 * Math.ceil(4800 / 128) * 128) / 4800 });
    const rest = play(rb, 500);
    const all = new Float32Array(out.length + rest.out.length);
    all.set(out);
    all.set(rest.out, out.length);
    // Exactly 14400 samples of +0.5, then exactly 9600 of -0.5, then silence: no gap at the boundary.
    expect(all.slice(0, 14_400).every((x) => x === 0.5)).toBe(true);
    expect(all.slice(14_400, 24_000).every((x) => x === -0.5)).toBe(true);
    expect(all.slice(24_000).every((x) => x === 0)).toBe(true);
    const types = [...events, ...rest.events].map((e) => `${e.type}${"segment" in e ? e.segment : ""}`);
    expect(types).toEqual(["segment-start0", "segment-end0", "segment-start1", "segment-end1", "finished1"]);
    const ends = [...events, ...rest.events].filter((e) => e.type === "segment-end");
    expect(ends.map((e) => e.type === "segment-end" && e.playedMs)).toEqual([300, 200]);
    const finished = rest.events.find((e) => e.type === "finished");
    expect(finished).toMatchObject({ replyId: "r1", segment: 1, playedMs: 200 });
    expect(rb.stats.underruns).toBe(0);
    expect(rb.stats.playedSamples).toBe(24_000);
  });

  it("has no underrun with steady real-time input in 20 ms pieces (after the prebuffer)", () => {
    const rb = new PlaybackRingBuffer(RATE, { prebufferMs: 60 });
    const piece = (RATE * 20) / 1000;
    let written = 0;
    let read = 0;
    const q = new Float32Array(QUANTUM);
    const events: PlaybackEvent[] = [];
    // 5 s of audio arriving in real time, each 20 ms piece as soon as it is "produced".
    const totalPieces = 250;
    let pieces = 0;
    while (read < totalPieces * piece + RATE) {
      // The producer runs 60 ms ahead of the consumer, like a network feed with a jitter margin.
      while (pieces < totalPieces && written <= read + piece * 3) {
        rb.push("r", 0, block(piece, 0.1), pieces === totalPieces - 1);
        written += piece;
        pieces++;
      }
      if (pieces === totalPieces) rb.endReply("r");
      events.push(...rb.read(q));
      read += QUANTUM;
    }
    expect(rb.stats.underruns).toBe(0);
    expect(events.filter((e) => e.type === "underrun")).toHaveLength(0);
    expect(rb.stats.playedSamples).toBe(totalPieces * piece);
    expect(events.find((e) => e.type === "finished")).toMatchObject({ replyId: "r", segment: 0, playedMs: 5000 });
  });

  it("counts an underrun only when the same reply's audio resumes after running dry", () => {
    const rb = new PlaybackRingBuffer(RATE);
    rb.push("r", 0, block(4800));
    let r = play(rb, 200);
    expect(r.events.map((e) => e.type)).toEqual(["segment-start", "segment-end", "starved"]);
    expect(rb.stats.underruns).toBe(0);
    rb.push("r", 1, block(4800)); // arrives late: the listener heard a gap
    r = play(rb, 50);
    const underrun = r.events.find((e) => e.type === "underrun");
    expect(underrun).toBeDefined();
    expect(underrun!.type === "underrun" && underrun!.gapMs).toBeGreaterThan(90);
    expect(rb.stats.underruns).toBe(1);

    // The natural end of a reply (reply-done arriving after the last segment played) is not an underrun.
    const rb2 = new PlaybackRingBuffer(RATE);
    rb2.push("a", 0, block(4800));
    play(rb2, 200);
    rb2.endReply("a");
    r = play(rb2, 10);
    expect(r.events).toEqual([{ type: "finished", offset: 0, replyId: "a", segment: 0, playedMs: 100 }]);
    expect(rb2.stats.underruns).toBe(0);
  });

  it("waits for the prebuffer when a segment arrives in pieces", () => {
    const rb = new PlaybackRingBuffer(RATE, { prebufferMs: 60 });
    rb.push("r", 0, block(960), false); // 20 ms
    let r = play(rb, 20);
    expect(r.out.every((x) => x === 0)).toBe(true);
    expect(r.events).toHaveLength(0);
    rb.push("r", 0, block(1920), false); // 60 ms total
    r = play(rb, 20);
    expect(r.events[0]).toMatchObject({ type: "segment-start", replyId: "r", segment: 0, offset: 0, firstOfReply: true });
  });

  it("stop() fades out within a few ms, reports where it stopped, and drops the rest of the reply", () => {
    const rb = new PlaybackRingBuffer(RATE, { fadeMs: 8 });
    rb.push("r", 0, block(RATE, 0.5));
    rb.push("r", 1, block(RATE, 0.5));
    play(rb, 500);
    expect(rb.stop()).toBe(true);
    const q = new Float32Array(QUANTUM);
    const events: PlaybackEvent[] = [];
    const out: number[] = [];
    for (let i = 0; i < 8; i++) {
      events.push(...rb.read(q));
      out.push(...q);
    }
    const stopped = events.find((e) => e.type === "stopped");
    expect(stopped).toMatchObject({ replyId: "r", segment: 0 });
    // 8 ms fade = 384 samples: the stop lands 3 quanta later, well inside 100 ms.
    expect(stopped!.type === "stopped" && stopped!.playedMs).toBeCloseTo((Math.ceil(24_000 / 128) * 128 + 384) / 48, 6);
    // Monotonic fade to silence, then silence.
    for (let i = 1; i < 384; i++) expect(out[i]!).toBeLessThanOrEqual(out[i - 1]!);
    expect(out.slice(384).every((x) => x === 0)).toBe(true);
    expect(rb.bufferedSamples).toBe(0);
    expect(rb.active).toBe(false);
    // Late audio of the stopped reply (already in flight) is discarded; a new reply plays.
    rb.push("r", 2, block(4800));
    expect(rb.bufferedSamples).toBe(0);
    rb.push("r2", 0, block(4800));
    expect(play(rb, 10).events[0]).toMatchObject({ type: "segment-start", replyId: "r2", firstOfReply: true });
  });

  it("stop() while nothing plays is a no-op", () => {
    const rb = new PlaybackRingBuffer(RATE);
    expect(rb.stop()).toBe(false);
    expect(play(rb, 10).events).toHaveLength(0);
  });

  it("keeps played ms exact across ring wrap-around", () => {
    const rb = new PlaybackRingBuffer(RATE, { initialCapacity: 2048 });
    let fed = 0;
    for (let seg = 0; seg < 20; seg++) {
      rb.push("w", seg, block(1000 + seg * 37, seg % 2 ? 0.25 : -0.25));
      fed += 1000 + seg * 37;
      const { events } = play(rb, 30);
      for (const e of events) if (e.type === "segment-end") expect(e.playedMs).toBeCloseTo(((1000 + e.segment * 37) * 1000) / RATE, 9);
    }
    rb.endReply("w");
    play(rb, 1000);
    expect(rb.stats.playedSamples).toBe(fed);
  });
});

describe("PlaybackRingBuffer pause and resume", () => {
  const ramp = (n: number) => Float32Array.from({ length: n }, (_, i) => i / n);

  it("pause() fades out, holds the position while audio keeps queueing, and resume() fades back in with a rewind", () => {
    const rb = new PlaybackRingBuffer(RATE, { fadeMs: 8 });
    rb.push("r", 0, block(RATE, 0.5)); // 1 s
    play(rb, 300);
    expect(rb.pause()).toBe(true);
    expect(rb.paused).toBe(true);
    const paused = play(rb, 100);
    const pausedAt = paused.events.find((e) => e.type === "paused");
    expect(pausedAt).toMatchObject({ type: "paused", replyId: "r", segment: 0 });
    const heldMs = pausedAt!.type === "paused" ? pausedAt!.playedMs : -1;
    // Faded out over 8 ms (384 samples), monotonic, then silence: no click.
    for (let i = 1; i < 384; i++) expect(paused.out[i]!).toBeLessThanOrEqual(paused.out[i - 1]!);
    expect(paused.out.slice(384).every((x) => x === 0)).toBe(true);
    expect(rb.active).toBe(true);
    // More audio arrives while paused: queued, not played.
    rb.push("r", 1, block(RATE / 2, -0.5));
    const still = play(rb, 200);
    expect(still.out.every((x) => x === 0)).toBe(true);
    expect(rb.position).toMatchObject({ segment: 0, playedMs: heldMs });

    expect(rb.resume(100)).toBe(true);
    const resumed = play(rb, 50);
    const ev = resumed.events.find((e) => e.type === "resumed");
    expect(ev).toMatchObject({ type: "resumed", replyId: "r", segment: 0 });
    // Rewound 100 ms: playback continues 100 ms before the pause point.
    expect(ev!.type === "resumed" && ev!.playedMs).toBeCloseTo(heldMs - 100, 6);
    // Fade-in: rising from near zero to the full level over 8 ms.
    expect(resumed.out[0]!).toBeLessThan(0.01);
    for (let i = 1; i < 384; i++) expect(resumed.out[i]!).toBeGreaterThanOrEqual(resumed.out[i - 1]!);
    expect(resumed.out[400]).toBe(0.5);
    // Everything after the pause plays, segment 1 included.
    rb.endReply("r");
    const rest = play(rb, 2000);
    expect(rest.events.map((e) => e.type)).toEqual(["segment-end", "segment-start", "segment-end", "finished"]);
  });

  it("a rewind never goes back past the start of the segment that was playing", () => {
    const rb = new PlaybackRingBuffer(RATE);
    rb.push("r", 0, block(4800));
    rb.push("r", 1, ramp(RATE));
    play(rb, 150); // 50 ms into segment 1
    rb.pause();
    play(rb, 20);
    rb.resume(400);
    const r = play(rb, 10);
    expect(r.events.find((e) => e.type === "resumed")).toMatchObject({ segment: 1, playedMs: 0 });
  });

  it("stop() while paused stops at once where it was held and drops the queue", () => {
    const rb = new PlaybackRingBuffer(RATE);
    rb.push("r", 0, block(RATE));
    play(rb, 200);
    rb.pause();
    const held = play(rb, 20).events.find((e) => e.type === "paused");
    expect(rb.stop()).toBe(true);
    const r = play(rb, 3);
    const stopped = r.events.find((e) => e.type === "stopped");
    expect(stopped).toMatchObject({ type: "stopped", replyId: "r", segment: 0 });
    expect(stopped!.type === "stopped" && held!.type === "paused" && stopped!.playedMs).toBe(
      held!.type === "paused" ? held!.playedMs : NaN,
    );
    expect(r.events[0]).toMatchObject({ type: "stopped", offset: 0 });
    expect(rb.active).toBe(false);
    expect(rb.paused).toBe(false);
  });

  it("pause() before a reply starts holds it; resume() lets it start with a fade-in", () => {
    const rb = new PlaybackRingBuffer(RATE);
    expect(rb.pause()).toBe(true);
    rb.push("r", 0, block(4800, 0.5));
    const held = play(rb, 100);
    expect(held.out.every((x) => x === 0)).toBe(true);
    expect(held.events.map((e) => e.type)).toEqual(["paused"]);
    rb.resume(200);
    const r = play(rb, 50);
    expect(r.events.map((e) => e.type).slice(0, 2)).toEqual(["resumed", "segment-start"]);
    expect(r.out[0]!).toBeLessThan(0.01);
    expect(r.out[1000]).toBe(0.5);
  });

  it("resume() during the fade-out turns straight back up without a rewind", () => {
    const rb = new PlaybackRingBuffer(RATE, { fadeMs: 8 });
    rb.push("r", 0, block(RATE, 0.5));
    play(rb, 100);
    rb.pause();
    const q = new Float32Array(128);
    rb.read(q); // 128 of the 384 fade samples
    const low = q[127]!;
    expect(low).toBeLessThan(0.5);
    expect(rb.resume(300)).toBe(true);
    const r = play(rb, 20);
    expect(r.events.filter((e) => e.type === "paused" || e.type === "resumed")).toEqual([]);
    expect(r.out[0]!).toBeGreaterThan(low);
    expect(r.out[500]).toBe(0.5);
    expect(rb.paused).toBe(false);
  });

  it("audio kept for a rewind survives ring growth while paused", () => {
    const rb = new PlaybackRingBuffer(RATE, { initialCapacity: 8192 });
    rb.push("r", 0, ramp(8000));
    play(rb, 100);
    rb.pause();
    const held = play(rb, 20).events.find((e) => e.type === "paused")!;
    const heldSamples = held.type === "paused" ? Math.round((held.playedMs * RATE) / 1000) : NaN;
    for (let k = 0; k < 10; k++) rb.push("r", 1 + k, block(4000, 0.1)); // forces growth past 8192
    expect(rb.capacity).toBeGreaterThan(8192);
    rb.resume(50);
    const r = play(rb, 10);
    const ev = r.events.find((e) => e.type === "resumed")!;
    const start = heldSamples - 2400;
    expect(ev.type === "resumed" && ev.playedMs).toBeCloseTo((start * 1000) / RATE, 6);
    // After the 8 ms fade-in, the replayed samples are the original ramp values.
    expect(r.out[400]).toBeCloseTo((start + 400) / 8000, 6);
  });
});

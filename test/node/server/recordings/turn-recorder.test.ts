import { describe, expect, it } from "vitest";
import { encodeWav } from "../../../../shared/audio/wav.ts";
import type { RecordedAudio, RecordingKind, SentSegment } from "../../../../server/recordings/turn-audio.ts";
import { TURNS_HELD, TurnRecorder } from "../../../../server/recordings/turn-recorder.ts";

const segment = (ms: number): SentSegment => ({ bytes: encodeWav(new Int16Array((16 * ms) | 0).fill(100), 16_000, 1), container: "wav" });

function recorder(o: { enabled?: boolean; failStore?: boolean } = {}) {
  const stored = new Map<string, RecordedAudio>();
  const logs: string[] = [];
  let now = 1_000;
  const r = new TurnRecorder({
    enabled: () => o.enabled ?? true,
    store: async (turnId: string, kind: RecordingKind, audio: RecordedAudio) => {
      await new Promise((res) => setTimeout(res, 1));
      if (o.failStore) throw new Error("R2 is down");
      stored.set(`${turnId}/${kind}`, audio);
    },
    remove: async (turnId: string, kind: RecordingKind) => {
      stored.delete(`${turnId}/${kind}`);
    },
    now: () => now++,
    log: (message) => logs.push(message),
  });
  return { r, stored, logs };
}

describe("recording a session's turns", () => {
  it("a settled turn stores its utterance and the reply up to where it was heard", async () => {
    const { r, stored } = recorder();
    r.started("t-1", "r-1", new Int16Array(16_000));
    r.spoke("r-1", segment(100));
    r.spoke("r-1", segment(100));
    r.spoke("r-other", segment(500)); // another turn's reply is not this one's
    await r.settle("t-1", { segment: 1, playedMs: 50 });
    expect(stored.get("t-1/user")!.durationMs).toBe(1000);
    expect(stored.get("t-1/reply")!.durationMs).toBe(150);
  });

  it("a turn without speech or audio stores nothing for it; a discarded speculative turn stores nothing at all", async () => {
    const { r, stored } = recorder();
    r.started("t-1", "r-1", undefined);
    await r.settle("t-1", null);
    r.started("t-2", "r-2", new Int16Array(1600));
    r.spoke("r-2", segment(100));
    r.discard("t-2");
    await r.settle("t-2", null);
    expect([...stored.keys()]).toEqual([]);
  });

  it("with RECORD_AUDIO off nothing is held or stored", async () => {
    const { r, stored } = recorder({ enabled: false });
    r.started("t-1", "r-1", new Int16Array(1600));
    r.spoke("r-1", segment(100));
    await r.settle("t-1", null);
    expect(stored.size).toBe(0);
  });

  it("a reply stopped after its turn ended is written again, cut; cut to nothing, its recording is removed", async () => {
    const { r, stored } = recorder();
    r.started("t-1", "r-1", undefined);
    r.spoke("r-1", segment(100));
    r.spoke("r-1", segment(100));
    const settling = r.settle("t-1", null);
    const cutting = r.cutAfter("r-1", { segment: 1, playedMs: 20 });
    await Promise.all([settling, cutting, r.settled()]);
    expect(stored.get("t-1/reply")!.durationMs).toBe(120);
    await r.cutAfter("r-1", { segment: 0, playedMs: 0 });
    expect(stored.has("t-1/reply")).toBe(false);
  });

  it("a failed store is logged, never thrown, and later writes still happen", async () => {
    const failing = recorder({ failStore: true });
    failing.r.started("t-1", "r-1", new Int16Array(1600));
    await expect(failing.r.settle("t-1", null)).resolves.toBeUndefined();
    expect(failing.logs).toEqual(["recording turn t-1 (user) failed"]);
    const { r, stored } = recorder();
    r.started("t-2", "r-2", new Int16Array(1600));
    await r.settle("t-2", null);
    expect(stored.has("t-2/user")).toBe(true);
  });

  it(`holds at most ${TURNS_HELD} unsettled turns: the oldest is dropped`, async () => {
    const { r, stored } = recorder();
    for (let i = 0; i <= TURNS_HELD; i++) r.started(`t-${i}`, `r-${i}`, new Int16Array(1600));
    const settling: Promise<void>[] = [];
    for (let i = 0; i <= TURNS_HELD; i++) settling.push(r.settle(`t-${i}`, null));
    await Promise.all([...settling, r.settled()]);
    expect(stored.has("t-0/user")).toBe(false);
    expect(stored.has(`t-${TURNS_HELD}/user`)).toBe(true);
  });
});

import { describe, expect, it } from "vitest";
import { LevelMeter, MIC_SILENCE_DBFS } from "../../../../client/audio/level-meter.ts";
import { linearToDbfs } from "../../../../shared/audio/pcm.ts";

const dbToRms = (db: number) => 10 ** (db / 20);

describe("LevelMeter", () => {
  it("maps dBFS to 0..1 with fast attack and slow release", () => {
    const m = new LevelMeter({ floorDb: -60, ceilingDb: 0 });
    expect(m.level).toBe(0);
    for (let i = 0; i < 5; i++) m.update(dbToRms(-30), 20);
    expect(m.level).toBeCloseTo(0.5, 2);
    m.update(0, 20);
    expect(m.level).toBeGreaterThan(0.4); // release is slow
    expect(linearToDbfs(0, MIC_SILENCE_DBFS)).toBe(-200);
  });
});

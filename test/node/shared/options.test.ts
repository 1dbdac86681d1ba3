import { describe, expect, it } from "vitest";
import { freezeDeep, withDefaults } from "../../../shared/options.ts";

interface Knobs {
  silenceMs: number;
  thresholdDb: number;
  label: string | null;
}
const DEFAULTS: Readonly<Knobs> = Object.freeze({ silenceMs: 500, thresholdDb: 12, label: "a" });

describe("withDefaults", () => {
  it("keeps every default when nothing is given", () => {
    expect(withDefaults(DEFAULTS)).toEqual({ silenceMs: 500, thresholdDb: 12, label: "a" });
    expect(withDefaults(DEFAULTS, {})).toEqual({ silenceMs: 500, thresholdDb: 12, label: "a" });
  });

  it("takes the fields the caller sets, including falsy ones (0, null, empty string)", () => {
    expect(withDefaults(DEFAULTS, { silenceMs: 0, label: null })).toEqual({ silenceMs: 0, thresholdDb: 12, label: null });
    expect(withDefaults(DEFAULTS, { label: "" }).label).toBe("");
  });

  it("ignores fields set to undefined instead of erasing their default", () => {
    const maybe: number | undefined = undefined;
    expect(withDefaults(DEFAULTS, { silenceMs: maybe, thresholdDb: 6 })).toEqual({ silenceMs: 500, thresholdDb: 6, label: "a" });
  });

  it("returns a frozen copy and leaves the defaults and the caller's object untouched", () => {
    const partial = { silenceMs: 700 };
    const merged = withDefaults(DEFAULTS, partial);
    expect(Object.isFrozen(merged)).toBe(true);
    expect(merged).not.toBe(DEFAULTS);
    expect(DEFAULTS.silenceMs).toBe(500);
    expect(partial).toEqual({ silenceMs: 700 });
  });

  it("fills the defaulted fields of a group whose other fields the caller must give", () => {
    interface Gate {
      limit: number | null;
      timeoutMs: number;
      onError: (err: unknown) => void;
    }
    const DEFAULT_GATE: Readonly<Pick<Gate, "timeoutMs" | "onError">> = Object.freeze({ timeoutMs: 1_000, onError: () => {} });
    const merged = withDefaults<Gate, "timeoutMs" | "onError">(DEFAULT_GATE, { limit: null, timeoutMs: undefined });
    expect(merged.limit).toBeNull();
    expect(merged.timeoutMs).toBe(1_000);
    expect(merged.onError).toBe(DEFAULT_GATE.onError);
  });
});

describe("freezeDeep", () => {
  it("freezes nested groups and arrays, so a default cannot be changed through a nested path", () => {
    const config = freezeDeep({ models: { stt: "whisper" }, recognition: { flux: { eotThreshold: 0.7 }, keyterms: ["parley"] } });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.models)).toBe(true);
    expect(Object.isFrozen(config.recognition.flux)).toBe(true);
    expect(Object.isFrozen(config.recognition.keyterms)).toBe(true);
    expect(() => {
      (config.recognition.flux as { eotThreshold: number }).eotThreshold = 0.9;
    }).toThrow(TypeError);
  });
});

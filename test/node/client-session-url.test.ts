import { describe, expect, it } from "vitest";
import { SessionId } from "../../shared/protocol.ts";
import { newSessionId, sessionFromPath, sessionPath } from "../../client/connection/session-url.ts";
import { backendLabel, formatMs, formatUsd } from "../../client/views/format.ts";

describe("session URLs", () => {
  it("reads /s/<id> and rejects ids the server would refuse", () => {
    expect(sessionFromPath("/")).toEqual({ kind: "none" });
    expect(sessionFromPath("/s/abc-123")).toEqual({ kind: "valid", id: "abc-123" });
    expect(sessionFromPath("/s/abc-123/")).toEqual({ kind: "valid", id: "abc-123" });
    expect(sessionFromPath("/s/bad!id").kind).toBe("invalid");
    expect(sessionFromPath("/s/" + "x".repeat(41)).kind).toBe("invalid");
    expect(sessionFromPath("/s/%E0%A4%A").kind).toBe("invalid");
    expect(sessionPath("abc")).toBe("/s/abc");
  });

  it("makes fresh ids that are valid session ids and do not repeat", () => {
    const ids = new Set(Array.from({ length: 500 }, () => newSessionId()));
    expect(ids.size).toBe(500);
    for (const id of ids) {
      expect(id).toHaveLength(14);
      expect(SessionId.safeParse(id).success).toBe(true);
    }
  });
});

describe("display formatting", () => {
  it("formats latency, cost and backend", () => {
    expect(formatMs(842.4)).toBe("842 ms");
    expect(formatMs(1234)).toBe("1.23 s");
    expect(formatMs(null)).toBe("–");
    expect(formatUsd(0)).toBe("$0");
    expect(formatUsd(0.00004)).toBe("<$0.0001");
    expect(formatUsd(0.0123)).toBe("$0.012");
    expect(formatUsd(0.00123)).toBe("$0.0012");
    expect(backendLabel("workers-ai")).toBe("Workers AI");
    expect(backendLabel("local stand-in (flite, pocketsphinx)")).toBe("Local stand-in");
  });
});

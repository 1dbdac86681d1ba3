import { describe, expect, it } from "vitest";
import { ownerKeyFor, rememberOwnerKey } from "../../../../client/connection/key-store.ts";
import {
  isReviewPath,
  reviewKeyFromFragment,
  reviewPath,
  sessionFromPath,
  sessionPath,
  shareLink,
} from "../../../../client/connection/session-url.ts";
import { backendLabel, formatMs, formatUsd } from "../../../../client/views/format.ts";

const ID = "abcdefghijklmnopqrstuvwxyz";

describe("session URLs", () => {
  it("reads /s/<id> and rejects ids the server would refuse", () => {
    expect(sessionFromPath("/")).toEqual({ kind: "none" });
    expect(sessionFromPath(`/s/${ID}`)).toEqual({ kind: "valid", id: ID });
    expect(sessionFromPath(`/s/${ID}/`)).toEqual({ kind: "valid", id: ID });
    expect(sessionFromPath("/s/abc-123").kind).toBe("invalid");
    expect(sessionFromPath("/s/bad!id").kind).toBe("invalid");
    expect(sessionFromPath("/s/%E0%A4%A").kind).toBe("invalid");
    expect(sessionPath("abc")).toBe("/s/abc");
  });

  it("reads the review page /s/<id>/review as the same session, and tells it from the live page", () => {
    expect(sessionFromPath(`/s/${ID}/review`)).toEqual({ kind: "valid", id: ID });
    expect(sessionFromPath(`/s/${ID}/review/`)).toEqual({ kind: "valid", id: ID });
    expect(sessionFromPath(`/s/${ID}/other`)).toEqual({ kind: "none" });
    expect(sessionFromPath("/s/bad!id/review").kind).toBe("invalid");
    expect(reviewPath(ID)).toBe(`/s/${ID}/review`);
    expect(isReviewPath(`/s/${ID}/review`)).toBe(true);
    expect(isReviewPath(`/s/${ID}`)).toBe(false);
    expect(isReviewPath(`/s/${ID}/reviewer`)).toBe(false);
  });

  it("a share link carries its review key in the fragment (never sent to the server), and only a well-formed key is read back", () => {
    const key = `r.2.${"A".repeat(43)}`;
    const link = shareLink("https://parley.example", ID, key);
    const url = new URL(link);
    expect(url.pathname).toBe(`/s/${ID}/review`);
    expect(url.search).toBe("");
    expect(reviewKeyFromFragment(url.hash)).toBe(key);
    expect(reviewKeyFromFragment("")).toBeNull();
    expect(reviewKeyFromFragment("#review=nonsense")).toBeNull();
    expect(reviewKeyFromFragment(`#key=${key}`)).toBeNull();
  });
});

describe("owner keys in this browser", () => {
  function memory() {
    const m = new Map<string, string>();
    return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), m };
  }
  const key = (c: string) => `o.${c.repeat(43)}`;

  it("remembers a session's owner key and forgets nothing else", () => {
    const s = memory();
    expect(ownerKeyFor(s, ID)).toBeNull();
    rememberOwnerKey(s, ID, key("A"));
    rememberOwnerKey(s, "b".repeat(26), key("B"));
    expect(ownerKeyFor(s, ID)).toBe(key("A"));
    expect(ownerKeyFor(s, "b".repeat(26))).toBe(key("B"));
  });

  it("survives corrupt storage and ignores entries that are not keys", () => {
    const s = memory();
    s.setItem("parley.ownerKeys", "{not json");
    expect(ownerKeyFor(s, ID)).toBeNull();
    s.setItem("parley.ownerKeys", JSON.stringify({ [ID]: "junk" }));
    expect(ownerKeyFor(s, ID)).toBeNull();
    rememberOwnerKey(s, ID, key("C"));
    expect(ownerKeyFor(s, ID)).toBe(key("C"));
  });

  it("keeps the newest 500 keys, so the entry cannot grow without bound", () => {
    const s = memory();
    const ids = Array.from({ length: 501 }, (_, i) => `session-${i}`);
    for (const id of ids) rememberOwnerKey(s, id, key("D"));
    expect(ownerKeyFor(s, ids[0]!)).toBeNull();
    expect(ownerKeyFor(s, ids[500]!)).toBe(key("D"));
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

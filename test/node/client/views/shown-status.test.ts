// What the status indicator shows, by precedence.
import { describe, expect, it } from "vitest";
import { shownStatus, type StatusInputs } from "../../../../client/views/shown-status.ts";

const base: StatusInputs = {
  notFound: false,
  connection: "ready",
  serverState: "listening",
  mode: "hands-free",
  micState: "on",
  pushToTalkHeld: false,
  detectorSpeaking: false,
  playing: false,
  paused: false,
};
const show = (over: Partial<StatusInputs>) => shownStatus({ ...base, ...over });

describe("shownStatus", () => {
  it("connection problems come first", () => {
    expect(show({ notFound: true, playing: true }).state).toBe("not-found");
    expect(show({ connection: "handshake", paused: true }).state).toBe("connecting");
    expect(show({ connection: "reconnecting" }).label).toBe("Reconnecting…");
    expect(show({ connection: "closed" })).toMatchObject({ state: "error", label: "Disconnected" });
  });

  it("a session the server closed for idleness shows as paused for the user to resume, whatever the mic was doing", () => {
    expect(show({ connection: "asleep", micState: "off" })).toMatchObject({ state: "idle", label: "Paused — nobody spoke for a while" });
    expect(show({ connection: "asleep", detectorSpeaking: true }).state).toBe("idle");
  });

  it("a review page is idle whatever the connection: a share link's says shared, the owner's says it is not live", () => {
    expect(show({ readOnly: true, connection: "connecting" })).toMatchObject({ state: "idle", label: "Read-only — shared conversation" });
    expect(show({ readOnly: true, ownerReview: true, connection: "closed" })).toMatchObject({ state: "idle", label: "Review — not live" });
    expect(show({ readOnly: true, operatorReview: true, connection: "closed" })).toMatchObject({
      state: "idle",
      label: "Read-only — operator key",
    });
  });

  it("a held reply shows as paused (not stopped), also while the user is still talking", () => {
    expect(show({ paused: true, playing: true, serverState: "speaking" })).toEqual({ state: "paused", label: "Paused", stopEnabled: true });
    expect(show({ paused: true, playing: true, detectorSpeaking: true }).label).toBe("Paused — you're speaking");
  });

  it("the server's `paused` with nothing held here still says paused, unless audio plays on", () => {
    expect(show({ serverState: "paused" })).toMatchObject({ state: "paused", stopEnabled: true });
    expect(show({ serverState: "paused", playing: true }).state).toBe("speaking");
  });

  it("the user speaking wins over the assistant speaking; the detector counts only hands-free with the mic on", () => {
    expect(show({ detectorSpeaking: true, playing: true }).state).toBe("user-speaking");
    expect(show({ detectorSpeaking: true, mode: "push-to-talk" }).state).toBe("idle");
    expect(show({ detectorSpeaking: true, micState: "muted" }).state).toBe("muted");
    expect(show({ pushToTalkHeld: true, mode: "push-to-talk", paused: true }).state).toBe("user-speaking");
  });

  it("speaking, thinking, then the microphone's state", () => {
    expect(show({ playing: true })).toEqual({ state: "speaking", label: "Speaking", stopEnabled: true });
    expect(show({ serverState: "thinking" })).toEqual({ state: "thinking", label: "Thinking…", stopEnabled: true });
    expect(show({})).toEqual({ state: "listening", label: "Listening", stopEnabled: false });
    expect(show({ mode: "push-to-talk" })).toMatchObject({ state: "idle", label: "Hold Space to talk" });
    expect(show({ micState: "blocked" }).label).toBe("Ready — type a message");
    expect(show({ micState: "off" }).label).toBe("Ready — start the mic or type");
  });
});

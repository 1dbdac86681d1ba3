// Streaming recognition without workerd: the model socket is a hand-written RPC-style object.
import { describe, expect, it } from "vitest";
import { parseFluxMessage } from "../../../../server/speech-to-text/flux.ts";
import { LiveRecognizer, type LiveEvent } from "../../../../server/speech-to-text/live-recognizer.ts";
import { novaLiveProtocol, parseNovaMessage } from "../../../../server/speech-to-text/nova-live.ts";

class FakeSocket {
  sent: (string | number)[] = [];
  onMessage: (d: string) => void = () => {};
  onClose: (code: number, reason: string) => void = () => {};
  listen(m: (d: string) => void, c: (code: number, reason: string) => void) {
    this.onMessage = m;
    this.onClose = c;
  }
  send(d: Uint8Array | string) {
    this.sent.push(typeof d === "string" ? d : d.byteLength);
  }
  close() {}
}

const frame = (n = 320) => new Int16Array(n);

/** A Nova-3 recognizer whose every socket is a FakeSocket (kept in `sockets`). */
function novaRecognizer(events: LiveEvent[] = []) {
  const sockets: FakeSocket[] = [];
  const r = new LiveRecognizer({
    protocol: novaLiveProtocol({ language: "en", keyterms: [] }),
    open: async () => {
      const s = new FakeSocket();
      sockets.push(s);
      return s;
    },
    onEvent: (e) => events.push(e),
    onFailed: () => {
      throw new Error("should not fail");
    },
  });
  return { r, sockets };
}
const flush = () => new Promise((r) => setTimeout(r, 0));

describe("live recognition", () => {
  it("parses Flux's events and ignores malformed or binary messages", () => {
    expect(parseFluxMessage(JSON.stringify({ type: "TurnInfo", event: "EagerEndOfTurn", transcript: " hi there " }))).toEqual([
      { type: "eager-end", text: "hi there" },
    ]);
    expect(parseFluxMessage(JSON.stringify({ type: "TurnInfo", event: "TurnResumed" }))).toEqual([{ type: "resumed" }]);
    expect(parseFluxMessage("{not json")).toEqual([]);
    expect(parseFluxMessage(new ArrayBuffer(4))).toEqual([]);
    expect(parseFluxMessage(JSON.stringify({ type: "Error", description: "bad audio" }))).toEqual([
      { type: "error", message: "bad audio" },
    ]);
  });

  it("parses Nova-3 results: interim as updates, finals with from_finalize, and the stand-in's engine name", () => {
    const results = (t: string, isFinal: boolean, extra = {}) =>
      JSON.stringify({ type: "Results", is_final: isFinal, channel: { alternatives: [{ transcript: t }] }, ...extra });
    expect(parseNovaMessage(results("set a", false))).toEqual([{ type: "update", text: "set a" }]);
    expect(parseNovaMessage(results("set a timer", true, { from_finalize: true, engine: "pocketsphinx/generic" }))).toEqual([
      { type: "engine", name: "pocketsphinx/generic" },
      { type: "final", text: "set a timer", fromFinalize: true },
    ]);
  });

  it("a dropped socket is reopened and the current turn's audio is sent again before new audio", async () => {
    const { r, sockets } = novaRecognizer();
    r.push(frame());
    r.push(frame());
    await flush();
    expect(sockets).toHaveLength(1);
    expect(sockets[0]!.sent).toEqual([640, 640]);
    sockets[0]!.onClose(1011, "gone");
    r.push(frame(160));
    await flush();
    expect(sockets).toHaveLength(2);
    // Both earlier frames of the turn, then the new one.
    expect(sockets[1]!.sent).toEqual([640, 640, 320]);
    expect(r.drops).toBe(1);
    expect(r.takeBilledSeconds()).toBeCloseTo((320 * 2 + 320 * 2 + 160) / 16_000, 5);
    r.close();
  });

  it("Finalize resolves with every final of the turn and starts the next turn afresh; keep leaves the words for a later finalize", async () => {
    const { r, sockets } = novaRecognizer();
    r.push(frame());
    await flush();
    const s = sockets[0]!;
    const final = (t: string) =>
      s.onMessage(JSON.stringify({ type: "Results", is_final: true, from_finalize: true, channel: { alternatives: [{ transcript: t }] } }));
    const first = r.finalize(1_000, { keep: true });
    final("set a timer for");
    expect(await first).toBe("set a timer for");
    const second = r.finalize(1_000);
    final("ten minutes");
    expect(await second).toBe("set a timer for ten minutes");
    expect(r.currentText).toBe("");
    expect(s.sent.filter((m) => m === JSON.stringify({ type: "Finalize" }))).toHaveLength(2);
    r.close();
  });

  it("a model that cannot be opened three times in a row is reported once, and audio is no longer forwarded", async () => {
    let opens = 0;
    const failures: unknown[] = [];
    const r = new LiveRecognizer({
      protocol: novaLiveProtocol({ language: "en", keyterms: [] }),
      open: async () => {
        opens++;
        throw new Error("5007: no such model");
      },
      onEvent: () => {},
      onFailed: (e) => failures.push(e),
    });
    for (let i = 0; i < 5; i++) {
      r.push(frame());
      await flush();
    }
    expect(opens).toBe(3);
    expect(failures).toHaveLength(1);
    expect(r.state).toBe("failed");
    await expect(r.finalize(100)).rejects.toThrow(/unavailable/);
  });
});

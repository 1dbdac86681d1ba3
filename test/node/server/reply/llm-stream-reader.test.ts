import { describe, expect, it } from "vitest";
import { readLlmStream } from "../../../../server/reply/llm-stream-reader.ts";
import type { LlmStreamEvent } from "../../../../shared/workers-ai/llm-stream.ts";

const enc = new TextEncoder();

/** A stream that delivers exactly these reads, then closes. */
function streamOf(parts: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  const queue = parts.map((p) => (typeof p === "string" ? enc.encode(p) : p));
  return new ReadableStream<Uint8Array>({
    pull(c) {
      const next = queue.shift();
      if (next) c.enqueue(next);
      else c.close();
    },
  });
}

async function collect(stream: ReadableStream<Uint8Array>, signal?: AbortSignal): Promise<LlmStreamEvent[]> {
  const out: LlmStreamEvent[] = [];
  for await (const ev of readLlmStream(stream, signal)) out.push(ev);
  return out;
}

const text = (events: LlmStreamEvent[]): string => events.map((e) => (e.type === "delta" ? e.text : "")).join("");

const NATIVE =
  'data: {"response":"Hel","p":"abcdefgh"}\n\n' +
  'data: {"response":"lo wörld 👋","p":"ab"}\n\n' +
  'data: {"response":"","usage":{"prompt_tokens":10,"completion_tokens":50,"total_tokens":60}}\n\n' +
  "data: [DONE]\n\n";

describe("readLlmStream", () => {
  it("a native response stream yields deltas, one usage, then end with sawDone true", async () => {
    const events = await collect(streamOf([NATIVE]));
    expect(events).toEqual([
      { type: "delta", text: "Hel" },
      { type: "delta", text: "lo wörld 👋" },
      { type: "usage", promptTokens: 10, completionTokens: 50 },
      { type: "end", sawDone: true },
    ]);
  });

  it("an event split mid-JSON across two reads yields one delta", async () => {
    const events = await collect(streamOf(['data: {"respo', 'nse":"Hello"}\n\ndata: [DONE]\n\n']));
    expect(events).toEqual([
      { type: "delta", text: "Hello" },
      { type: "end", sawDone: true },
    ]);
  });

  it("a UTF-8 character split between reads decodes intact", async () => {
    const bytes = enc.encode('data: {"response":"👋é"}\n\ndata: [DONE]\n\n');
    const cut = bytes.indexOf(0xf0) + 2; // inside the 4-byte emoji
    const events = await collect(streamOf([bytes.slice(0, cut), bytes.slice(cut)]));
    expect(text(events)).toBe("👋é");
  });

  it("every split point of a CRLF stream gives the same events as one read", async () => {
    const wire = NATIVE.replaceAll("\n", "\r\n");
    const bytes = enc.encode(wire);
    const whole = await collect(streamOf([bytes]));
    expect(text(whole)).toBe("Hello wörld 👋");
    for (let cut = 1; cut < bytes.length; cut++) {
      const events = await collect(streamOf([bytes.slice(0, cut), bytes.slice(cut)]));
      expect(events, `cut at byte ${cut}`).toEqual(whole);
    }
  });

  it("a stream delivered one byte per read gives the same events", async () => {
    const bytes = enc.encode(NATIVE);
    const parts = Array.from(bytes, (b) => Uint8Array.of(b));
    expect(await collect(streamOf(parts))).toEqual(await collect(streamOf([NATIVE])));
  });

  it("a frame with both choices.delta and response appends once", async () => {
    const events = await collect(
      streamOf([
        'data: {"response":"Hi","choices":[{"delta":{"content":"Hi"},"finish_reason":null}]}\n\n',
        'data: {"response":" there","choices":[{"delta":{"content":" there"}}]}\n\n',
        "data: [DONE]\n\n",
      ]),
    );
    expect(text(events)).toBe("Hi there");
  });

  it("an OpenAI-style stream with a choices:[] usage chunk reports usage once with the last values", async () => {
    const events = await collect(
      streamOf([
        'data: {"choices":[{"delta":{"content":"One"},"finish_reason":null}]}\n\n',
        'data: {"choices":[{"delta":{"content":" two"},"finish_reason":"stop"}]}\n\n',
        'data: {"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":2,"total_tokens":9}}\n\n',
        'data: {"response":"","usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}\n\n',
        "data: [DONE]\n\n",
      ]),
    );
    expect(events).toEqual([
      { type: "delta", text: "One" },
      { type: "delta", text: " two" },
      { type: "usage", promptTokens: 7, completionTokens: 3 },
      { type: "end", sawDone: true },
    ]);
  });

  it("finish_reason mid-stream does not end parsing", async () => {
    const events = await collect(
      streamOf([
        'data: {"choices":[{"delta":{"content":"First."},"finish_reason":"stop"}]}\n\n',
        'data: {"choices":[{"delta":{"content":" Second."},"finish_reason":null}]}\n\n',
        "data: [DONE]\n\n",
      ]),
    );
    expect(text(events)).toBe("First. Second.");
    expect(events.at(-1)).toEqual({ type: "end", sawDone: true });
  });

  it("a stream without [DONE] ends with sawDone false", async () => {
    const events = await collect(streamOf(['data: {"response":"Half a"}\n\n']));
    expect(events).toEqual([
      { type: "delta", text: "Half a" },
      { type: "end", sawDone: false },
    ]);
  });

  it("a stream cut off mid-JSON reports malformed then end with sawDone false", async () => {
    const events = await collect(streamOf(['data: {"response":"ok"}\n\ndata: {"respon']));
    expect(events).toEqual([
      { type: "delta", text: "ok" },
      { type: "malformed", raw: '{"respon' },
      { type: "end", sawDone: false },
    ]);
  });

  it("a final [DONE] without its blank line still counts", async () => {
    const events = await collect(streamOf(['data: {"response":"x"}\n\ndata: [DONE]']));
    expect(events.at(-1)).toEqual({ type: "end", sawDone: true });
  });

  it("malformed JSON in one event yields a malformed event and parsing continues", async () => {
    const events = await collect(
      streamOf(['data: {"response":"a"}\n\n', "data: {not json}\n\n", 'data: {"response":"b"}\n\n', "data: [DONE]\n\n"]),
    );
    expect(events).toEqual([
      { type: "delta", text: "a" },
      { type: "malformed", raw: "{not json}" },
      { type: "delta", text: "b" },
      { type: "end", sawDone: true },
    ]);
  });

  it("comment lines and unknown fields are ignored", async () => {
    const events = await collect(streamOf([': keep-alive\n\nevent: message\nid: 4\ndata: {"response":"ok"}\n\ndata: [DONE]\n\n']));
    expect(events).toEqual([
      { type: "delta", text: "ok" },
      { type: "end", sawDone: true },
    ]);
  });

  it("stops at [DONE]: later events are not read and upstream is cancelled", async () => {
    let cancelled = false;
    let pulls = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        pulls++;
        c.enqueue(
          enc.encode(
            pulls === 1 ? 'data: {"response":"a"}\n\ndata: [DONE]\n\ndata: {"response":"late"}\n\n' : 'data: {"response":"more"}\n\n',
          ),
        );
      },
      cancel() {
        cancelled = true;
      },
    });
    const events = await collect(stream);
    expect(text(events)).toBe("a");
    expect(events.at(-1)).toEqual({ type: "end", sawDone: true });
    expect(cancelled).toBe(true);
  });

  it("cancelling the consumer cancels the upstream stream", async () => {
    let cancelReason: unknown = "not cancelled";
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        c.enqueue(enc.encode('data: {"response":"tok "}\n\n'));
      },
      cancel(reason) {
        cancelReason = reason;
      },
    });
    let seen = 0;
    for await (const ev of readLlmStream(stream)) {
      if (ev.type === "delta") seen++;
      if (seen === 3) break;
    }
    expect(seen).toBe(3);
    expect(cancelReason).not.toBe("not cancelled");
    expect(stream.locked).toBe(false);
  });

  it("aborting the signal during a read cancels upstream and rejects with the abort reason", async () => {
    let cancelled = false;
    let first = true;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (first) {
          first = false;
          c.enqueue(enc.encode('data: {"response":"a"}\n\n'));
        }
        return new Promise<void>(() => {}); // upstream goes quiet
      },
      cancel() {
        cancelled = true;
      },
    });
    const ac = new AbortController();
    const it = readLlmStream(stream, ac.signal);
    expect((await it.next()).value).toEqual({ type: "delta", text: "a" });
    const pending = it.next();
    ac.abort(new Error("barge-in"));
    await expect(pending).rejects.toThrow("barge-in");
    expect(cancelled).toBe(true);
  });

  it("an already-aborted signal rejects with its reason and cancels upstream", async () => {
    let cancelled = false;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        c.enqueue(enc.encode('data: {"response":"a"}\n\n'));
      },
      cancel() {
        cancelled = true;
      },
    });
    const ac = new AbortController();
    ac.abort(new Error("already over"));
    await expect(collect(stream, ac.signal)).rejects.toThrow("already over");
    expect(cancelled).toBe(true);
  });

  it("a read error from upstream is rethrown", async () => {
    let n = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (n++ === 0) c.enqueue(enc.encode('data: {"response":"a"}\n\n'));
        else c.error(new Error("connection reset"));
      },
    });
    await expect(collect(stream)).rejects.toThrow("connection reset");
  });
});

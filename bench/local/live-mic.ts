// A microphone on the engine server's live socket (/live, nova-3 protocol), as the Durable Object
// drives it: 20 ms frames of PCM16 sent in real time, silence when nobody speaks, Finalize when the
// client decides the turn is over, and the turn's transcript = every final since the previous
// turn's Finalize answer, up to and including the answer to this turn's Finalize.
import WebSocket from "ws";

const FRAME_SAMPLES = 320; // 20 ms at 16 kHz
const FRAME_MS = 20;

interface Results {
  type: string;
  is_final?: boolean;
  from_finalize?: boolean;
  channel?: { alternatives: { transcript: string }[] };
}

export interface LiveTurn {
  /** performance.now() of the end of speech: when the last voiced sample was captured (scheduled, in real time). */
  endOfSpeechAt: number;
  /** performance.now() when Finalize was sent. */
  finalizeAt: number;
  /** performance.now() when the from_finalize final arrived. */
  finalAt: number;
  transcript: string;
  /** Interim results that arrived before the end of speech, and the first one's delay after the speech began (ms). */
  interimsBeforeEnd: number;
  firstInterimAfterSpeechStartMs: number | undefined;
  /** Which rule ended the turn: "silence+transcript" or the "fallback" silence. */
  endpointRule: "silence+transcript" | "fallback";
}

export interface EndpointRule {
  /** Trailing silence after the last voiced sample before Finalize, if the turn's transcript has words. */
  silenceMs: number;
  /** Trailing silence after which Finalize is sent anyway. */
  fallbackMs: number;
}

export class LiveMic {
  private readonly ws: WebSocket;
  private queue: Int16Array[] = [];
  private queued = 0;
  private sent = 0; // samples sent on the socket
  private t0 = 0;
  private running = false;
  private onFrame: (() => void) | undefined;
  private finals: string[] = [];
  private interim = "";
  private finalWaiter: ((m: Results) => void) | undefined;
  private failWaiter: ((e: Error) => void) | undefined;
  failure: string | undefined;
  private interimLog: { at: number; text: string }[] = [];
  closed: { code: number; reason: string } | undefined;

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.on("message", (data, isBinary) => {
      if (isBinary) return;
      const raw = (Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data)).toString();
      const m = JSON.parse(raw) as Results;
      if (m.type === "Error") {
        this.failure = JSON.stringify(m);
        this.failWaiter?.(new Error(`live socket error: ${this.failure}`));
        return;
      }
      if (m.type !== "Results") return;
      const text = (m.channel?.alternatives[0]?.transcript ?? "").trim();
      if (m.is_final) {
        if (text) this.finals.push(text);
        this.interim = "";
        if (m.from_finalize) this.finalWaiter?.(m);
      } else {
        this.interim = text;
        this.interimLog.push({ at: performance.now(), text });
      }
    });
    this.ws.on("close", (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.running = false;
      this.failWaiter?.(new Error(`live socket closed (${code} ${reason.toString()})`));
    });
  }

  async open(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.ws.once("open", () => resolve());
      this.ws.once("error", reject);
    });
    this.running = true;
    this.t0 = performance.now();
    this.pace().catch((err: unknown) => {
      this.running = false;
      this.failWaiter?.(new Error(`pacing the microphone failed: ${String(err)}`));
    });
  }

  /** Sends a frame every 20 ms of wall time: queued speech, else silence. */
  private async pace() {
    let k = 0;
    while (this.running) {
      const due = this.t0 + (k + 1) * FRAME_MS;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (!this.running || this.ws.readyState !== WebSocket.OPEN) return;
      const frame = new Int16Array(FRAME_SAMPLES);
      let filled = 0;
      while (filled < FRAME_SAMPLES && this.queue.length) {
        const head = this.queue[0]!;
        const n = Math.min(FRAME_SAMPLES - filled, head.length);
        frame.set(head.subarray(0, n), filled);
        filled += n;
        if (n === head.length) this.queue.shift();
        else this.queue[0] = head.subarray(n);
      }
      this.queued -= filled;
      this.ws.send(new Uint8Array(frame.buffer));
      this.sent += FRAME_SAMPLES;
      k++;
      this.onFrame?.();
    }
  }

  /** Capture time of the socket's sample `s` (the pacer's schedule). */
  private captureTime(s: number): number {
    return this.t0 + (s / 16000) * 1000;
  }

  /**
   * Speak `pcm` (16 kHz) whose speech ends at sample `speechEnd` and starts at `speechStart`; end the
   * turn by `rule`, send Finalize, wait for its answer. Resolves with the turn's timings.
   */
  async turn(pcm: Int16Array, speechStart: number, speechEnd: number, rule: EndpointRule): Promise<LiveTurn> {
    // The clip starts at the next frame boundary after what is queued.
    const at = Math.ceil(this.sent / FRAME_SAMPLES) * FRAME_SAMPLES + this.queued;
    this.queue.push(pcm);
    this.queued += pcm.length;
    const speechStartAt = this.captureTime(at + speechStart);
    const endOfSpeechSample = at + speechEnd;
    const endOfSpeechAt = this.captureTime(endOfSpeechSample);
    this.interimLog = [];
    const turnFinals = this.finals.length;

    const endpointRule = await new Promise<LiveTurn["endpointRule"]>((resolve, reject) => {
      this.failWaiter = reject;
      this.onFrame = () => {
        const silenceMs = ((this.sent - endOfSpeechSample) / 16000) * 1000;
        const words = [...this.finals.slice(turnFinals), this.interim].join(" ").trim().length > 0;
        if (silenceMs >= rule.silenceMs && words) resolve("silence+transcript");
        else if (silenceMs >= rule.fallbackMs) resolve("fallback");
      };
    });
    this.onFrame = undefined;
    const answered = new Promise<Results>((resolve, reject) => {
      this.finalWaiter = resolve;
      this.failWaiter = reject;
    });
    const finalizeAt = performance.now();
    this.ws.send(JSON.stringify({ type: "Finalize" }));
    await Promise.race([
      answered,
      new Promise((_, reject) => setTimeout(() => reject(new Error("no answer to Finalize within 10 s")), 10_000)),
    ]);
    const finalAt = performance.now();
    this.finalWaiter = undefined;
    this.failWaiter = undefined;
    const transcript = this.finals.slice(turnFinals).join(" ");
    this.finals = [];
    const before = this.interimLog.filter((i) => i.at <= endOfSpeechAt);
    const firstWithText = this.interimLog.find((i) => i.text);
    return {
      endOfSpeechAt,
      finalizeAt,
      finalAt,
      transcript,
      interimsBeforeEnd: before.length,
      firstInterimAfterSpeechStartMs: firstWithText ? firstWithText.at - speechStartAt : undefined,
      endpointRule,
    };
  }

  /** Let `ms` of silence go by (the pacer keeps sending). */
  async idle(ms: number): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
  }

  async close(): Promise<void> {
    this.running = false;
    if (this.ws.readyState === WebSocket.OPEN) {
      this.ws.close(1000);
      await new Promise((r) => this.ws.once("close", r));
    }
  }
}

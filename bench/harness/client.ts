// Simulated voice clients over real WebSockets (the `ws` package). permessage-deflate is not offered:
// ws inflates on the libuv thread pool, which would add a hop (and client CPU) to every timestamped event.
// Each client streams 20 ms PCM16 frames paced by the clock — speech fixtures for its turns, digital
// silence in between, as a browser microphone in hands-free mode does — and timestamps, with
// performance.now(), the frames and server events that bound each pipeline stage.
// One shared 2 ms ticker sends every client's due frames (each client has its own phase within the
// 20 ms period), so 100 clients cost one timer, not 100.
import { monitorEventLoopDelay } from "node:perf_hooks";
import WebSocket from "ws";
import { PROTOCOL_VERSION } from "../../shared/protocol.ts";
import { FRAME_BYTES, FRAME_MS, type Fixture } from "./fixtures.ts";

export interface SegmentRecord {
  index: number;
  durationMs: number;
  bytes: number;
  tHeader: number;
  tAudio?: number;
}

export interface TurnRecord {
  fixture: string;
  expectedUtteranceSamples: number;
  /** Send time of the frame carrying the last voiced audio: the end of the user's speech. */
  tEndSpeech?: number;
  /** Send time of the frame on which the server's detector ends the turn (silenceMs later). */
  tTurnEndSent?: number;
  replyId?: string;
  /** First `state` naming the reply (thinking, or speaking when a held speculative reply was confirmed): the end of the user's turn as the client sees it. */
  tReplyState?: number;
  tThinking?: number;
  tTranscript?: number;
  tFirstDelta?: number;
  /** Arrival of the reply-delta carrying the token that lets the chunker release the first chunk. */
  tChunkDelta?: number;
  deltas: number;
  segments: SegmentRecord[];
  tDone?: number;
  status?: string;
  metrics?: {
    endpointingMs: number;
    sttMs: number;
    llmFirstTokenMs: number | null;
    firstAudioMs: number | null;
    ttsMs: number;
    totalMs: number;
    retries: number;
    endOfTurn?: string;
    speculative?: boolean;
  };
  usage?: { audioInSeconds: number; usd?: number; wasted?: { replies: number } };
  timedOut?: boolean;
}

export interface ClientPlan {
  url: string;
  /** WebSocket subprotocols to offer (Parley sessions: `parley` and the owner key, see session-access.ts). */
  protocols?: string[];
  fixtures: Fixture[];
  turns: number;
  /** Milliseconds of silence streamed before the first turn (staggers clients). */
  startDelayMs: number;
  /** Silence after a reply is done before the next turn's fixture starts. */
  gapMs: number;
  /** A turn with no reply-done this long after its turn-end frame counts as failed. */
  turnTimeoutMs: number;
  /** Which reply-delta releases Parley's first chunk (1-based). */
  chunkDeltaIndex: number;
  /** A protocol `ping` this often (0 = never): its round trip is the transport + DO dispatch floor under the same load. */
  pingEveryMs: number;
  /**
   * When the client starts listening for the reply: at the frame on which the server's fixed-silence
   * detector ends the turn (the overhead phases), or right after the last voiced frame, when the server
   * decides the end of the turn itself (smart-turn, Flux, transcript: the turn-taking paths). In the
   * latter case the rest of the fixture (its quiet tail) is still sent, then digital silence.
   */
  waitFrom?: "turn-end-frame" | "last-voiced";
  /** Report `playback finished` on reply-done, so the server closes the turn before the next one (no barge-in on the next question). */
  reportPlayback?: boolean;
}

type Phase = "connecting" | "idle" | "speaking" | "waiting" | "gap" | "finished";

const SILENCE = Buffer.alloc(FRAME_BYTES);

export class SimClient {
  readonly turns: TurnRecord[] = [];
  readonly errors: Record<string, number> = {};
  framesSent = 0;
  /** Worst lateness of a frame against its clock schedule (client overload shows here). */
  maxFrameLateMs = 0;
  /** Round trips of `ping` -> `pong`, ms. */
  readonly pingRtts: number[] = [];
  private nextPingAt = Infinity;
  private ws: WebSocket | undefined;
  private phase: Phase = "connecting";
  private nextDue = 0;
  private phaseUntil = 0;
  private turnIndex = -1;
  private frameInTurn = 0;
  private fixture: Fixture | undefined;
  private current: TurnRecord | undefined;
  private pendingSegment: SegmentRecord | undefined;
  private finish!: () => void;
  readonly finished = new Promise<void>((r) => (this.finish = r));

  readonly id: number;
  private readonly plan: ClientPlan;

  constructor(id: number, plan: ClientPlan) {
    this.id = id;
    this.plan = plan;
  }

  /** Open the socket, wait for `ready`, send `start`. */
  connect(timeoutMs = 15_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.plan.url, this.plan.protocols ?? [], { perMessageDeflate: false });
      this.ws = ws;
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`client ${this.id}: no ready within ${timeoutMs} ms`));
      }, timeoutMs);
      ws.on("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      ws.on("close", () => {
        if (this.phase !== "finished") this.end();
      });
      ws.on("message", (data: Buffer, isBinary: boolean) => {
        const t = performance.now();
        if (isBinary) return this.onAudio(t, data.byteLength);
        const msg = JSON.parse(data.toString()) as Record<string, unknown> & { type: string };
        if (msg.type === "ready" && this.phase === "connecting") {
          clearTimeout(timer);
          ws.send(JSON.stringify({ type: "start", protocol: PROTOCOL_VERSION, mode: "hands-free", language: "en" }));
          this.phase = "idle";
          resolve();
          return;
        }
        this.onEvent(t, msg);
      });
    });
  }

  /** Start the clock: the first frame is due one frame from now (audio is sent once captured). */
  start(now: number, phaseOffsetMs: number): void {
    this.nextDue = now + phaseOffsetMs + FRAME_MS;
    this.phaseUntil = now + this.plan.startDelayMs;
    if (this.plan.pingEveryMs > 0) this.nextPingAt = now + ((this.id * 97) % this.plan.pingEveryMs) + 1;
  }

  /** Send every frame due by `now`. Called by the shared ticker. */
  pump(now: number): void {
    if (this.phase === "connecting" || this.phase === "finished" || !this.ws) return;
    if (now >= this.nextPingAt) {
      this.nextPingAt += this.plan.pingEveryMs;
      this.ws.send(JSON.stringify({ type: "ping", t: performance.now() }));
    }
    for (let n = 0; this.nextDue <= now && n < 50; n++) {
      const late = now - this.nextDue;
      if (late > this.maxFrameLateMs) this.maxFrameLateMs = late;
      this.nextDue += FRAME_MS;
      this.step(now);
      if ((this.phase as Phase) === "finished") return;
    }
  }

  private step(now: number): void {
    switch (this.phase) {
      case "idle":
      case "gap":
        if (now >= this.phaseUntil) {
          if (this.turnIndex + 1 >= this.plan.turns) return this.end();
          this.beginTurn();
          return this.step(now);
        }
        return this.send(SILENCE);
      case "waiting": {
        const cur = this.current!;
        if (now - (cur.tTurnEndSent ?? cur.tEndSpeech!) > this.plan.turnTimeoutMs) {
          cur.timedOut = true;
          this.toGap(now);
        }
        if (this.plan.waitFrom === "last-voiced") {
          const fx = this.fixture!;
          const f = this.frameInTurn++;
          return this.send(f < fx.frames ? fx.bytes.subarray(f * FRAME_BYTES, (f + 1) * FRAME_BYTES) : SILENCE);
        }
        return this.send(SILENCE);
      }
      case "speaking": {
        const fx = this.fixture!;
        const f = this.frameInTurn++;
        const frame = f < fx.frames ? fx.bytes.subarray(f * FRAME_BYTES, (f + 1) * FRAME_BYTES) : SILENCE;
        const t = performance.now();
        if (f === fx.lastVoicedFrame) {
          this.current!.tEndSpeech = t;
          if (this.plan.waitFrom === "last-voiced") this.phase = "waiting";
        }
        if (f === fx.turnEndFrame && this.plan.waitFrom !== "last-voiced") {
          this.current!.tTurnEndSent = t;
          this.phase = "waiting";
        }
        return this.send(frame);
      }
    }
  }

  private beginTurn(): void {
    this.turnIndex++;
    const fx = this.plan.fixtures[(this.id + this.turnIndex) % this.plan.fixtures.length]!;
    this.fixture = fx;
    this.frameInTurn = 0;
    this.current = { fixture: fx.name, expectedUtteranceSamples: fx.utteranceSamples, deltas: 0, segments: [] };
    this.turns.push(this.current);
    this.phase = "speaking";
  }

  private toGap(now: number): void {
    this.phase = "gap";
    this.phaseUntil = now + this.plan.gapMs;
  }

  private send(frame: Buffer): void {
    this.ws!.send(frame);
    this.framesSent++;
  }

  private onEvent(t: number, msg: Record<string, unknown> & { type: string }): void {
    const turn = this.current;
    if (msg.type === "pong") {
      if (typeof msg.t === "number" && this.pingRtts.length < 10_000) this.pingRtts.push(t - msg.t);
      return;
    }
    if (msg.type === "error") {
      const code = String(msg.code);
      this.errors[code] = (this.errors[code] ?? 0) + 1;
      return;
    }
    if (!turn || this.phase !== "waiting") return;
    if (msg.type === "state" && msg.state === "thinking" && turn.replyId === undefined) {
      turn.replyId = String(msg.replyId);
      turn.tThinking = t;
      turn.tReplyState = t;
      return;
    }
    // A held (speculative) reply is confirmed straight into `speaking`: its replyId comes with that state.
    if (
      msg.type === "state" &&
      (msg.state === "speaking" || msg.state === "paused") &&
      typeof msg.replyId === "string" &&
      turn.replyId === undefined
    ) {
      turn.replyId = msg.replyId;
      turn.tReplyState = t;
    }
    if (msg.replyId !== undefined && msg.replyId !== turn.replyId) return;
    switch (msg.type) {
      case "transcript":
        turn.tTranscript ??= t;
        return;
      case "reply-delta":
        turn.deltas++;
        if (turn.deltas === 1) turn.tFirstDelta = t;
        if (turn.deltas === this.plan.chunkDeltaIndex) turn.tChunkDelta = t;
        return;
      case "segment":
        this.pendingSegment = { index: Number(msg.index), durationMs: Number(msg.durationMs), bytes: Number(msg.bytes), tHeader: t };
        turn.segments.push(this.pendingSegment);
        return;
      case "reply-done":
        turn.tDone = t;
        turn.status = String(msg.status);
        turn.metrics = msg.metrics as TurnRecord["metrics"];
        turn.usage = msg.usage as TurnRecord["usage"];
        if (this.plan.reportPlayback) {
          const last = turn.segments[turn.segments.length - 1];
          if (last)
            this.ws?.send(
              JSON.stringify({
                type: "playback",
                replyId: turn.replyId,
                segment: last.index,
                playedMs: last.durationMs,
                state: "finished",
              }),
            );
        }
        this.toGap(t);
        return;
    }
  }

  private onAudio(t: number, bytes: number): void {
    const seg = this.pendingSegment;
    if (seg && seg.tAudio === undefined && seg.bytes === bytes) seg.tAudio = t;
    this.pendingSegment = undefined;
  }

  private end(): void {
    this.phase = "finished";
    this.finish();
  }

  /** Close the socket (bounded: terminate if the close handshake does not finish). */
  async close(timeoutMs = 2_000): Promise<void> {
    const ws = this.ws;
    this.end();
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        ws.terminate();
        resolve();
      }, timeoutMs);
      ws.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
      ws.close(1000, "bench done");
    });
  }
}

/**
 * Connect `clients`, start their frame clocks together (staggered within a frame) on one ticker, and
 * wait until every one finished, `deadlineMs` passed or `signal` aborted; then close them. `around`
 * brackets the measured stretch (e.g. a CPU meter). Returns the bench process's event-loop delay p99 (ms).
 */
export async function driveClients(
  clients: SimClient[],
  o: { deadlineMs: (connected: SimClient[]) => number; signal?: AbortSignal | undefined; around?: { start(): void; stop(): void } },
): Promise<number> {
  const ticker = new Ticker(clients);
  const loop = monitorEventLoopDelay({ resolution: 5 });
  let deadline: NodeJS.Timeout | undefined;
  let started = false;
  try {
    await Promise.all(clients.map((c) => c.connect()));
    const deadlineMs = o.deadlineMs(clients);
    o.around?.start();
    started = true;
    loop.enable();
    const now = performance.now();
    clients.forEach((c, i) => c.start(now, (i * FRAME_MS) / clients.length));
    ticker.start(2);
    // Bounded: every client finished, or the deadline, or Ctrl-C.
    let stop: () => void = () => {};
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    deadline = setTimeout(stop, deadlineMs);
    o.signal?.addEventListener("abort", stop, { once: true });
    await Promise.race([Promise.all(clients.map((c) => c.finished)), stopped]);
    o.signal?.removeEventListener("abort", stop);
  } finally {
    clearTimeout(deadline);
    ticker.stop();
    loop.disable();
    if (started) o.around?.stop();
    await Promise.all(clients.map((c) => c.close()));
  }
  return loop.count ? loop.percentile(99) / 1e6 : NaN;
}

/** Drives all clients' frame clocks from one timer. */
export class Ticker {
  private timer: NodeJS.Timeout | undefined;
  private readonly clients: SimClient[];
  constructor(clients: SimClient[]) {
    this.clients = clients;
  }
  start(periodMs = 2): void {
    this.timer = setInterval(() => {
      const now = performance.now();
      for (const c of this.clients) c.pump(now);
    }, periodMs);
  }
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

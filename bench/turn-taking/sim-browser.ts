// A simulated browser, hands-free, doing the client's side of protocol 2 (shared/protocol.md,
// "Interruptions: pause, decide, resume") with the browser's own pure modules: playback through
// PlaybackRingBuffer at 16 kHz, barge-in detection with SpeechDetector and its echo guard, and the
// client's interruption state machine, BargeInController (client/session/barge-in.ts).
//
// Every 20 ms tick of the session's sample clock:
//   1. the ring buffer plays 20 ms (read in 2 ms blocks, to know which reply samples came out when);
//   2. the microphone frame is mixed: room noise + the user's scheduled sounds + the echo of the
//      playback (MicMixer), recorded on the session tape and sent;
//   3. the detector hears (mic RMS, loudest playback RMS of the last 200 ms); its start / sustained /
//      end drive BargeInController, which pauses playback and sends `barge-in` onset (once playback
//      is silent, with the pause position), sustained and ended;
//   4. `playback` reports every 500 ms while playing, and `finished` / `stopped` as they happen.
// Server `state` and `interruption` events go to the controller too: confirmed stops the reply,
// resumed plays on 250 ms before the pause (learning the echo when that was the reason), `paused`
// holds playback, and with no decision in time the controller resumes on its own. Its timers run
// on the session clock.
import WebSocket from "ws";
import { PlaybackRingBuffer, type PlaybackEvent, type PlaybackPosition } from "../../client/audio/ring-buffer.ts";
import { SpeechDetector, type SpeechEvent } from "../../client/audio/speech-detector.ts";
import { decodeWav } from "../../shared/audio/wav.ts";
import { BargeInController, type PausedAt } from "../../client/session/barge-in.ts";
import {
  PROTOCOL_VERSION,
  ServerMessage,
  type ClientMessageInput,
  type InterruptionReason,
  type SegmentEvent,
  type TurnEndReason,
  type TurnTakingSettings,
} from "../../shared/protocol.ts";
import type { Clip } from "./clips.ts";
import type { MicMixer } from "./mic-mixer.ts";
import { PlaybackTracker } from "./playback-tracker.ts";
import { FRAME_SAMPLES, type SessionTape } from "./session-tape.ts";
import { SAMPLE_RATE, samplesToMs } from "./speech-timing.ts";
import type { BenchSession } from "../harness/session-access.ts";

export const FRAME_MS = 20;
/** Playback is read in blocks this small, so played positions are known to 2 ms. */
const BLOCK_SAMPLES = 32;
/** The playback reference is the loudest output frame of the last 200 ms. */
const REFERENCE_FRAMES = 10;
const REPORT_EVERY_TICKS = 500 / FRAME_MS;
const LOG_LINES = 400;

/** Where an observation happened: the session sample clock (the next tick's first sample for server events). */
export interface At {
  at: number;
}

export interface Observations {
  /** `t`: performance.now() when the message arrived (finer than the 20 ms sample clock). */
  states: (At & { state: string; replyId?: string; t: number })[];
  transcripts: (At & { kind: string; text: string; replyId?: string })[];
  decisions: (At & { replyId: string; decision: "confirmed" | "resumed"; reason: InterruptionReason; transcript?: string })[];
  replyDone: Map<string, At & { status: string; endReason: TurnEndReason }>;
  replyHeard: Map<string, At & { status: string; endReason: TurnEndReason; text: string }>;
  /** `barge-in onset` sent: the client's detector paused playback for the user's speech. */
  onsets: (At & { replyId: string })[];
  /** Playback fade-out completed (client- or server-initiated pause). */
  pauses: (At & { replyId: string })[];
  finished: Map<string, number>;
  stopped: Map<string, number>;
  /** performance.now() when each reply's first audio arrived. */
  firstAudioAt: Map<string, number>;
  /** The client resumed on its own (its no-decision timer fired). */
  fallbackResumes: number;
  errors: Record<string, number>;
  /** Server messages that failed protocol validation. */
  invalidMessages: string[];
}

/** setTimeout / clearTimeout on the session clock, for BargeInController. */
class ClockTimers {
  private nextHandle = 1;
  private readonly due = new Map<number, { atMs: number; fn: () => void }>();
  private readonly nowMs: () => number;
  fired = 0;

  constructor(nowMs: () => number) {
    this.nowMs = nowMs;
  }

  setTimeout(fn: () => void, ms: number): number {
    const h = this.nextHandle++;
    this.due.set(h, { atMs: this.nowMs() + ms, fn });
    return h;
  }

  clearTimeout(handle: unknown): void {
    this.due.delete(handle as number);
  }

  run(): void {
    // oxlint-disable-next-line no-useless-spread -- a snapshot: timers that fire here schedule new ones, which wait for the next run
    for (const [h, t] of [...this.due]) {
      if (t.atMs > this.nowMs()) continue;
      this.due.delete(h);
      this.fired++;
      t.fn();
    }
  }
}

export class SimBrowser {
  readonly sessionId: string;
  readonly tracker = new PlaybackTracker();
  readonly obs: Observations = {
    states: [],
    transcripts: [],
    decisions: [],
    replyDone: new Map(),
    replyHeard: new Map(),
    onsets: [],
    pauses: [],
    finished: new Map(),
    stopped: new Map(),
    firstAudioAt: new Map(),
    fallbackResumes: 0,
    errors: {},
    invalidMessages: [],
  };
  readonly log: string[] = [];
  /** performance.now() at which each tick's microphone frame was sent (index = tick). */
  readonly sentAt: number[] = [];
  turnTaking: TurnTakingSettings | undefined;
  /** Hook run after every tick (the scenario driver). */
  onTick: () => void = () => {};

  private readonly url: string;
  /** `parley` and the session's owner key (see bench/harness/session-access.ts). */
  private readonly protocols: string[];
  private readonly tape: SessionTape;
  private readonly mixer: MicMixer;
  private readonly ring = new PlaybackRingBuffer(SAMPLE_RATE, { prebufferMs: 60, fadeMs: 8 });
  private readonly detector = new SpeechDetector({ minSpeechMs: 80, silenceMs: 500 });
  private readonly timers = new ClockTimers(() => this.clockMs);
  private readonly bargeIn: BargeInController;
  private ws: WebSocket | undefined;
  private tickIndex = 0;
  private nextDueMs = 0;
  private closed = false;
  private pendingSegment: SegmentEvent | undefined;
  /** The controller asked for a pause: it hears where playback went silent after the next read. */
  private pauseRequested = false;
  private readonly outputRms: number[] = [];
  private readonly out = new Float32Array(FRAME_SAMPLES);
  /** Replies confirmed as interrupted: their late audio is dropped. */
  private readonly dropped = new Set<string>();
  /** Replies with audio in the ring (playing, held or queued). */
  private readonly inRing = new Set<string>();

  constructor(o: { url: string; session: BenchSession; tape: SessionTape; mixer: MicMixer }) {
    this.url = o.url;
    this.sessionId = o.session.id;
    this.protocols = o.session.protocols;
    this.tape = o.tape;
    this.mixer = o.mixer;
    this.bargeIn = new BargeInController(
      {
        pause: () => {
          this.ring.pause();
          this.pauseRequested = true;
        },
        resume: (rewindMs) => this.ring.resume(rewindMs),
        stop: (replyId) => {
          this.dropped.add(replyId);
          // A decision about a reply not held here must not stop another one.
          if (this.inRing.has(replyId)) this.ring.stop();
        },
        send: (report) => {
          if (report.event === "onset") this.obs.onsets.push({ at: this.clock, replyId: report.replyId });
          this.send({ type: "barge-in", ...report });
        },
        learnEcho: () => this.detector.learnEcho(),
        changed: (why) => this.note(why),
      },
      this.timers,
    );
  }

  /** Session sample where the next tick begins. */
  get clock(): number {
    return this.tickIndex * FRAME_SAMPLES;
  }

  get clockMs(): number {
    return samplesToMs(this.clock);
  }

  /** Where playback is (the reply playing, or the last one played). */
  get position(): PlaybackPosition | null {
    return this.ring.position;
  }

  /** Mix `clip` into the microphone from session sample `at` on. */
  schedule(clip: Clip, at: number): void {
    this.mixer.schedule(clip, at);
    this.tape.placeClip(clip, at);
  }

  /** Are scheduled user sounds still going into the microphone? */
  get userSoundPending(): boolean {
    return this.mixer.busyAt(this.clock);
  }

  /** Open the socket, wait for `ready`, send `start` (protocol 2, hands-free). */
  connect(timeoutMs = 15_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${this.url.replace(/^http/, "ws")}/parties/voice-session/${this.sessionId}`, this.protocols, {
        perMessageDeflate: false,
      });
      this.ws = ws;
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`${this.sessionId}: no ready within ${timeoutMs} ms`));
      }, timeoutMs);
      ws.on("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      ws.on("close", () => {
        this.closed = true;
      });
      ws.on("message", (data: Buffer, isBinary: boolean) => {
        if (isBinary) return this.onAudio(data);
        let parsed: ReturnType<typeof ServerMessage.safeParse>;
        try {
          parsed = ServerMessage.safeParse(JSON.parse(data.toString()));
        } catch {
          parsed = ServerMessage.safeParse(undefined);
        }
        if (!parsed.success) {
          if (this.obs.invalidMessages.length < 20)
            this.obs.invalidMessages.push(`${data.toString().slice(0, 200)} (${parsed.error.issues[0]?.message})`);
          return;
        }
        const msg = parsed.data;
        if (msg.type === "ready") {
          clearTimeout(timer);
          this.turnTaking = msg.turnTaking;
          this.detector.setSustainMs(msg.turnTaking.minInterruptionMs);
          this.bargeIn.configure(msg.turnTaking);
          this.send({ type: "start", protocol: PROTOCOL_VERSION, mode: "hands-free", language: "en" });
          resolve();
          return;
        }
        this.onServer(msg);
      });
    });
  }

  /** Start the 20 ms clock; the first tick is due one frame from `nowMs`. */
  start(nowMs: number): void {
    this.nextDueMs = nowMs + FRAME_MS;
  }

  /** Run every tick due by `nowMs` (called by a shared ticker). */
  pump(nowMs: number): void {
    for (let n = 0; this.nextDueMs <= nowMs && n < 50 && !this.closed; n++) {
      this.nextDueMs += FRAME_MS;
      this.tick();
      this.onTick();
    }
  }

  close(): Promise<void> {
    const ws = this.ws;
    this.closed = true;
    if (!ws || ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        ws.terminate();
        resolve();
      }, 2000);
      ws.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
      ws.close(1000, "trial over");
    });
  }

  // ---------------------------------------------------------------------------------------------
  // One 20 ms tick

  private tick(): void {
    const clock = this.clock;
    const out = this.out;
    out.fill(0);
    let pausedAt: { position: PausedAt; at: number } | undefined;
    for (let b = 0; b < FRAME_SAMPLES; b += BLOCK_SAMPLES) {
      const block = out.subarray(b, b + BLOCK_SAMPLES);
      const before = this.ring.position;
      const events = this.ring.read(block);
      this.trackBlock(before, this.ring.position, block, clock + b);
      for (const e of events) {
        const at = clock + b + ("offset" in e ? e.offset : 0);
        if (e.type === "paused") pausedAt ??= { position: { replyId: e.replyId, segment: e.segment, playedMs: e.playedMs }, at };
        this.onPlayback(e, at);
      }
    }
    if (this.pauseRequested) {
      // Where playback went silent (null: nothing of a reply was playing to hold).
      this.pauseRequested = false;
      if (pausedAt) this.bargeIn.playbackPaused(pausedAt.position, samplesToMs(pausedAt.at));
      else this.bargeIn.playbackPaused(this.ring.paused ? this.ring.position : null, samplesToMs(clock));
    }
    let sum = 0;
    for (const v of out) sum += v * v;
    this.outputRms.push(Math.sqrt(sum / out.length));
    if (this.outputRms.length > REFERENCE_FRAMES) this.outputRms.shift();
    const playbackRms = Math.max(...this.outputRms);

    const mic = this.mixer.frame(clock, out);
    this.tape.recordFrame(mic);
    let micSum = 0;
    for (const v of mic) micSum += (v / 32768) ** 2;
    const ev = this.detector.push(Math.sqrt(micSum / mic.length), playbackRms);
    if (ev) this.onSpeech(ev, playbackRms);
    this.sentAt.push(performance.now());
    this.ws?.send(Buffer.from(mic.buffer, mic.byteOffset, mic.byteLength));

    const pos = this.ring.position;
    if (this.tickIndex % REPORT_EVERY_TICKS === 0 && pos && this.ring.active && !this.ring.paused && !this.dropped.has(pos.replyId)) {
      this.send({ type: "playback", replyId: pos.replyId, segment: pos.segment, playedMs: pos.playedMs, state: "playing" }, false);
    }
    this.tickIndex++;
    this.timers.run();
    this.obs.fallbackResumes = this.timers.fired;
  }

  /** Which reply samples this 2 ms block played, for words-lost, progress and the echo's words. */
  private trackBlock(before: PlaybackPosition | null, after: PlaybackPosition | null, block: Float32Array, blockClock: number): void {
    let lastAudible = -1;
    for (let i = block.length - 1; i >= 0; i--) {
      if (block[i] !== 0) {
        lastAudible = i;
        break;
      }
    }
    if (!after || lastAudible < 0) return;
    const end = blockClock + lastAudible + 1;
    const toS = Math.round((after.playedMs * SAMPLE_RATE) / 1000);
    const sameSegment = before !== null && before.replyId === after.replyId && before.segment === after.segment;
    const beforeS = before ? Math.round((before.playedMs * SAMPLE_RATE) / 1000) : 0;
    let fromS = Math.max(0, toS - (lastAudible + 1));
    if (sameSegment && toS >= beforeS && toS - beforeS <= BLOCK_SAMPLES) fromS = beforeS;
    if (before && !sameSegment && before.replyId === after.replyId) {
      // The previous segment ended inside this block.
      const rest = this.tracker.segmentSamples(before.replyId, before.segment);
      this.tracker.markPlayed(before.replyId, before.segment, beforeS, rest, end - (toS - fromS));
      this.tape.notePlayed(end - (toS - fromS) - (rest - beforeS), before.replyId, before.segment, beforeS, rest);
    }
    this.tracker.markPlayed(after.replyId, after.segment, fromS, toS, end);
    this.tape.notePlayed(end - (toS - fromS), after.replyId, after.segment, fromS, toS);
  }

  private onPlayback(e: PlaybackEvent, at: number): void {
    switch (e.type) {
      case "segment-start":
        if (e.firstOfReply) this.detector.echo.startReply();
        return;
      case "finished":
        this.inRing.delete(e.replyId);
        this.obs.finished.set(e.replyId, at);
        this.send({ type: "playback", replyId: e.replyId, segment: e.segment, playedMs: e.playedMs, state: "finished" });
        return;
      case "stopped":
        this.inRing.clear();
        this.obs.stopped.set(e.replyId, at);
        this.send({ type: "playback", replyId: e.replyId, segment: e.segment, playedMs: e.playedMs, state: "stopped" });
        return;
      case "paused":
        this.obs.pauses.push({ at, replyId: e.replyId });
        return;
    }
  }

  /** The local detector drives the client side of barge-in, as the browser app does. */
  private onSpeech(ev: SpeechEvent, playbackRms: number): void {
    switch (ev.type) {
      case "start": {
        const pos = this.ring.position;
        const audible = pos && playbackRms > 0 && this.ring.active && !this.ring.paused && !this.dropped.has(pos.replyId);
        this.bargeIn.speechStarted(
          ev.frame * FRAME_MS,
          audible ? { replyId: pos.replyId, playingMs: this.tracker.progressMs(pos.replyId, pos.segment, pos.playedMs) } : null,
        );
        return;
      }
      case "sustained":
        this.bargeIn.sustained(ev.speechMs);
        return;
      case "end":
        this.bargeIn.speechEnded((ev.frame - this.detector.speechStartFrame) * FRAME_MS);
        return;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Server events

  private onServer(msg: ServerMessage): void {
    const at = this.clock;
    if (msg.type !== "reply-delta" && msg.type !== "pong") this.note(`<- ${summarize(msg)}`);
    switch (msg.type) {
      case "state":
        this.obs.states.push({ at, state: msg.state, t: performance.now(), ...(msg.replyId !== undefined && { replyId: msg.replyId }) });
        this.bargeIn.serverState(msg.state, msg.replyId, this.detector.speaking);
        return;
      case "segment":
        this.pendingSegment = msg;
        return;
      case "transcript":
        this.obs.transcripts.push({ at, kind: msg.kind, text: msg.text, ...(msg.replyId !== undefined && { replyId: msg.replyId }) });
        return;
      case "reply-done":
        this.obs.replyDone.set(msg.replyId, { at, status: msg.status, endReason: msg.endReason });
        this.ring.endReply(msg.replyId);
        return;
      case "reply-heard":
        this.obs.replyHeard.set(msg.replyId, { at, status: msg.status, endReason: msg.endReason, text: msg.text });
        return;
      case "interruption":
        this.obs.decisions.push({
          at,
          replyId: msg.replyId,
          decision: msg.decision,
          reason: msg.reason,
          ...(msg.transcript !== undefined && { transcript: msg.transcript }),
        });
        this.bargeIn.decision(msg.replyId, msg.decision, msg.reason, samplesToMs(at));
        return;
      case "error":
        this.obs.errors[msg.code] = (this.obs.errors[msg.code] ?? 0) + 1;
        return;
    }
  }

  private onAudio(data: Buffer): void {
    const header = this.pendingSegment;
    this.pendingSegment = undefined;
    if (!header) return this.countError("audio_without_header");
    if (!this.obs.firstAudioAt.has(header.replyId)) this.obs.firstAudioAt.set(header.replyId, performance.now());
    if (header.container !== "wav") return this.countError("mp3_not_simulated");
    const wav = decodeWav(data);
    if (wav.sampleRate !== SAMPLE_RATE) return this.countError("not_16khz");
    const words = this.tracker.addSegment(header.replyId, header.index, wav.samples, header.text);
    this.tape.describeSegment(header.replyId, header.index, words);
    if (this.dropped.has(header.replyId)) return;
    this.ring.push(header.replyId, header.index, wav.samples, true);
    this.inRing.add(header.replyId);
  }

  private countError(code: string): void {
    this.obs.errors[code] = (this.obs.errors[code] ?? 0) + 1;
  }

  private send(msg: ClientMessageInput, logged = true): void {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(JSON.stringify(msg));
    if (logged) this.note(`-> ${JSON.stringify(msg)}`);
  }

  private note(line: string): void {
    if (this.log.length < LOG_LINES) this.log.push(`${Math.round(this.clockMs)} ${line}`);
  }
}

/** A server message, short, for the trial log. */
function summarize(msg: ServerMessage): string {
  switch (msg.type) {
    case "segment":
      return `segment ${msg.replyId} #${msg.index} ${Math.round(msg.durationMs)} ms "${msg.text.slice(0, 40)}"`;
    case "reply-done":
      return `reply-done ${msg.replyId} ${msg.status} ${msg.endReason}`;
    case "reply-heard":
      return `reply-heard ${msg.replyId} ${msg.status} ${msg.endReason} "${msg.text.slice(-40)}"`;
    case "ready":
      return "ready";
    default:
      return JSON.stringify(msg).slice(0, 200);
  }
}

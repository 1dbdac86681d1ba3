// One phone call's transport: it turns Twilio's Media Streams events into what a VoiceSession
// consumes from a browser (16 kHz PCM16 frames, commit, cancel, playback reports) and what the session
// sends a browser (segment headers and audio, interruptions) into Twilio's media, mark and clear.
// - Admission: nothing is heard until `start` carries a stream token the session verifies.
// - Outgoing audio is paced `leadMs` ahead of real time (media-pacer.ts); a mark follows each segment.
// - Playback: an echoed mark reports "segment i heard to its end" (the next one starts now); the
//   session extrapolates from the latest report, so a reply cut short keeps what was heard up to the
//   last mark plus the time since.
// - Interruptions: `clear` goes out the moment the session confirms one (or a new reply replaces one
//   still playing), the queue is dropped and the pending marks forgotten.
// - Keypad: 0 interrupts the assistant, # ends the caller's turn (push-to-talk by keypad).
// No Cloudflare imports: the session wires the socket, the timers and the token check in.
import type { ServerMessage } from "../../shared/protocol.ts";
import { base64ToBytes, bytesToBase64 } from "../../shared/base64.ts";
import { AudioFormatError } from "../../shared/audio/pcm.ts";
import { InboundAudio } from "./inbound-audio.ts";
import { MediaPacer } from "./media-pacer.ts";
import { phoneFrames } from "./outbound-audio.ts";
import { PlaybackMarks } from "./playback-marks.ts";
import { clearMessage, markMessage, mediaMessage, parseTwilioMessage, PHONE_AUDIO, type TwilioInbound } from "./twilio-media.ts";

/** The parameter of `<Stream>` that carries the stream token. */
export const STREAM_TOKEN_PARAMETER = "token";

export interface CallStart {
  callSid: string;
  streamSid: string;
  /** Whatever the token verified (the caller, masked). */
  caller: string;
}

export interface PhonePlayback {
  replyId: string;
  segment: number;
  playedMs: number;
  state: "playing" | "finished";
}

export interface PhoneCallDeps {
  /** A text frame to Twilio. */
  send(text: string): void;
  /** Check the stream token of call `callSid`: what it admits, or why not. */
  admit(token: string, callSid: string): Promise<{ ok: true; caller: string } | { ok: false; reason: string }>;
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(timer: unknown): void;
  /** The stream is admitted: the call has begun. */
  started(call: CallStart): void;
  /** 20 ms of the caller at 16 kHz. */
  audio(frame: Int16Array): void;
  playback(report: PhonePlayback): void;
  /** Keypad 0: stop the assistant. */
  interrupt(): void;
  /** Keypad #: the caller's turn is over. */
  commit(): void;
  /** The call is over (`stop`, or the socket closed). */
  ended(how: "stop" | "closed"): void;
  /** The stream is refused (no valid token in time, garbage): close it. */
  refuse(reason: string): void;
  /** Something the caller cannot be told about went wrong (logged). */
  problem(message: string): void;
}

interface QueuedSegment {
  replyId: string;
  segment: number;
  frames: Uint8Array[];
  next: number;
  /** Greeting and other audio of the call's own: the session is not told about its playback. */
  own: boolean;
}

export class PhoneCall {
  readonly #deps: PhoneCallDeps;
  readonly #pacer: MediaPacer;
  readonly #marks = new PlaybackMarks();
  readonly #inbound = new InboundAudio();
  #phase: "waiting" | "admitting" | "live" | "over" = "waiting";
  #streamSid = "";
  #queue: QueuedSegment[] = [];
  #timer: unknown = null;
  #startTimer: unknown;
  /** The header of the segment whose audio comes next (the session sends header, then bytes). */
  #header: Extract<ServerMessage, { type: "segment" }> | null = null;
  /** Replies whose generation is over, with their last segment index (reply-done came). */
  readonly #done = new Map<string, number>();
  /** Each reply's highest segment sent to the queue. */
  readonly #lastSegment = new Map<string, number>();
  /** Ids of the call's own audio (the greeting). */
  readonly #own = new Set<string>();
  /** The reply whose audio is queued or playing now. */
  #playing: string | null = null;

  constructor(deps: PhoneCallDeps, o: { leadMs: number; startTimeoutMs: number }) {
    this.#deps = deps;
    this.#pacer = new MediaPacer(PHONE_AUDIO.frameMs, o.leadMs);
    this.#startTimer = deps.setTimer(() => {
      if (this.#phase === "waiting" || this.#phase === "admitting") this.#refuse(`no valid stream token within ${o.startTimeoutMs} ms`);
    }, o.startTimeoutMs);
  }

  get live(): boolean {
    return this.#phase === "live";
  }

  // ----------------------------------------------------------------------------------------------
  // From Twilio

  receive(raw: string): void {
    if (this.#phase === "over") return;
    const parsed = parseTwilioMessage(raw);
    if (!parsed.ok) {
      this.#deps.problem(`ignored a stream message: ${parsed.message}`);
      return;
    }
    const m = parsed.message;
    if (m.event === "connected") return;
    if (m.event === "start") return void this.#admit(m);
    // Nothing before a valid start counts.
    if (this.#phase !== "live") return;
    if (m.streamSid !== this.#streamSid) return this.#deps.problem(`ignored a message of another stream (${m.streamSid.slice(0, 40)})`);
    switch (m.event) {
      case "media":
        if (m.media.track !== undefined && m.media.track !== "inbound") return;
        for (const frame of this.#inbound.push(base64ToBytes(m.media.payload))) this.#deps.audio(frame);
        return;
      case "mark":
        return this.#onMark(m.mark.name);
      case "dtmf":
        if (m.dtmf.digit === "0") {
          this.clear();
          this.#deps.interrupt();
        } else if (m.dtmf.digit === "#") this.#deps.commit();
        return;
      case "stop":
        return this.#end("stop");
    }
  }

  /** The socket closed (hang-up, network). */
  closed(): void {
    this.#end("closed");
  }

  async #admit(m: Extract<TwilioInbound, { event: "start" }>): Promise<void> {
    if (this.#phase !== "waiting") return;
    this.#phase = "admitting";
    const token = m.start.customParameters[STREAM_TOKEN_PARAMETER];
    if (!token) return this.#refuse("the stream's start has no token parameter");
    const verdict = await this.#deps.admit(token, m.start.callSid);
    if (this.#phase !== "admitting") return;
    if (!verdict.ok) return this.#refuse(`stream token refused: ${verdict.reason}`);
    this.#phase = "live";
    this.#streamSid = m.streamSid;
    this.#deps.clearTimer(this.#startTimer);
    this.#deps.started({ callSid: m.start.callSid, streamSid: m.streamSid, caller: verdict.caller });
  }

  #refuse(reason: string): void {
    if (this.#phase === "over") return;
    this.#phase = "over";
    this.#stopTimers();
    this.#deps.refuse(reason);
  }

  #end(how: "stop" | "closed"): void {
    if (this.#phase === "over") return;
    const wasLive = this.#phase === "live";
    this.#phase = "over";
    this.#stopTimers();
    this.#queue = [];
    if (wasLive) this.#deps.ended(how);
  }

  #stopTimers(): void {
    this.#deps.clearTimer(this.#startTimer);
    if (this.#timer !== null) this.#deps.clearTimer(this.#timer);
    this.#timer = null;
  }

  #onMark(name: string): void {
    const point = this.#marks.echoed(name);
    if (!point || this.#own.has(point.replyId)) return;
    const last = this.#done.get(point.replyId);
    const finished = last !== undefined && point.segment >= last && this.#marks.pendingFor(point.replyId) === 0;
    this.#deps.playback({ replyId: point.replyId, segment: point.segment + 1, playedMs: 0, state: finished ? "finished" : "playing" });
    if (finished) this.#forget(point.replyId);
  }

  #forget(replyId: string): void {
    this.#done.delete(replyId);
    this.#lastSegment.delete(replyId);
    if (this.#playing === replyId) this.#playing = null;
  }

  // ----------------------------------------------------------------------------------------------
  // From the session

  /** A message the session sends its clients. */
  event(msg: ServerMessage): void {
    if (this.#phase !== "live") return;
    switch (msg.type) {
      case "segment":
        this.#header = msg;
        return;
      case "reply-done": {
        const last = this.#lastSegment.get(msg.replyId);
        if (last === undefined) return;
        this.#done.set(msg.replyId, last);
        // Every segment already heard: playback is over now.
        if (this.#marks.pendingFor(msg.replyId) === 0 && !this.#queue.some((s) => s.replyId === msg.replyId)) {
          this.#deps.playback({ replyId: msg.replyId, segment: last + 1, playedMs: 0, state: "finished" });
          this.#forget(msg.replyId);
        }
        return;
      }
      case "interruption":
        if (msg.decision === "confirmed") this.#stopReply(msg.replyId);
        return;
      case "reply-heard":
        if (msg.status === "interrupted") this.#stopReply(msg.replyId);
        return;
      default:
        return;
    }
  }

  /** The audio of the segment whose header came last. */
  audio(bytes: Uint8Array): void {
    if (this.#phase !== "live") return;
    const header = this.#header;
    this.#header = null;
    if (!header) return;
    let frames: Uint8Array[];
    try {
      frames = phoneFrames(bytes, header.container).frames;
    } catch (err) {
      if (!(err instanceof AudioFormatError)) throw err;
      return this.#deps.problem(`segment ${header.index} of ${header.replyId} cannot be played on the phone: ${err.message}`);
    }
    this.#lastSegment.set(header.replyId, Math.max(header.index, this.#lastSegment.get(header.replyId) ?? -1));
    this.#enqueue({ replyId: header.replyId, segment: header.index, frames, next: 0, own: false });
  }

  /** Audio of the call's own (the greeting), played like a reply the session does not track. */
  speak(id: string, bytes: Uint8Array, container: "mp3" | "wav"): void {
    if (this.#phase !== "live") return;
    this.#own.add(id);
    try {
      this.#enqueue({ replyId: id, segment: 0, frames: phoneFrames(bytes, container).frames, next: 0, own: true });
    } catch (err) {
      if (!(err instanceof AudioFormatError)) throw err;
      this.#deps.problem(`${id} cannot be played on the phone: ${err.message}`);
    }
  }

  /** Drop everything queued here and buffered at Twilio, now. */
  clear(): void {
    if (this.#phase !== "live") return;
    const now = this.#deps.now();
    if (this.#queue.length === 0 && this.#marks.pending === 0 && this.#pacer.idle(now)) return;
    this.#deps.send(clearMessage(this.#streamSid));
    this.#queue = [];
    this.#marks.clear();
    this.#pacer.cleared(now);
    if (this.#timer !== null) this.#deps.clearTimer(this.#timer);
    this.#timer = null;
    if (this.#playing) this.#forget(this.#playing);
  }

  #stopReply(replyId: string): void {
    if (this.#marks.pendingFor(replyId) > 0 || this.#queue.some((s) => s.replyId === replyId)) this.clear();
    this.#forget(replyId);
  }

  #enqueue(seg: QueuedSegment): void {
    // A new reply while another is still queued or playing: that one was replaced (the session moved on).
    if (this.#playing !== null && this.#playing !== seg.replyId) {
      const old = this.#playing;
      if (this.#marks.pendingFor(old) > 0 || this.#queue.some((s) => s.replyId === old)) this.clear();
      this.#playing = null;
    }
    this.#playing = seg.replyId;
    this.#queue.push(seg);
    this.#pump();
  }

  /** Send what the pacer allows now; come back when it allows more. */
  #pump(): void {
    if (this.#timer !== null) {
      this.#deps.clearTimer(this.#timer);
      this.#timer = null;
    }
    if (this.#phase !== "live") return;
    const now = this.#deps.now();
    let room = this.#pacer.room(now);
    while (this.#queue.length > 0) {
      const seg = this.#queue[0]!;
      if (seg.next < seg.frames.length) {
        if (room <= 0) break;
        this.#sendFrame(seg, now);
        room--;
      }
      if (seg.next >= seg.frames.length) {
        this.#queue.shift();
        this.#deps.send(markMessage(this.#streamSid, this.#marks.add({ replyId: seg.replyId, segment: seg.segment })));
      }
    }
    if (this.#queue.length > 0)
      this.#timer = this.#deps.setTimer(() => this.#pump(), Math.max(1, this.#pacer.nextRoomAt(this.#deps.now()) - this.#deps.now()));
  }

  #sendFrame(seg: QueuedSegment, now: number): void {
    if (seg.next === 0) {
      // Nothing was playing: this segment starts being heard now.
      if (!seg.own && this.#pacer.idle(now))
        this.#deps.playback({ replyId: seg.replyId, segment: seg.segment, playedMs: 0, state: "playing" });
    }
    this.#deps.send(mediaMessage(this.#streamSid, bytesToBase64(seg.frames[seg.next]!)));
    this.#pacer.sent(now);
    seg.next++;
  }
}

// A fake of Twilio's side of a Media Stream, speaking the documented protocol (docs/telephony.md):
// it sends `connected` and `start` (with the stream token as a custom parameter), the caller's audio
// as 20 ms μ-law `media` messages in real time, `dtmf` and `stop`; it "plays" the server's media at
// real time, echoes each mark once the audio before it has played, and honours `clear` (the buffered
// audio is dropped unplayed and the pending marks are echoed at once, as Twilio does). Socket-agnostic:
// the worker tests wire it to workerd's WebSocket, `npm run phone:sim` to Node's `ws`.
import { Resampler } from "../../shared/audio/resampler.ts";
import { decodeMulaw, encodeMulaw } from "../../shared/audio/g711.ts";
import { base64ToBytes, bytesToBase64 } from "../../shared/base64.ts";
import { float32ToInt16, int16ToFloat32 } from "../../shared/audio/pcm.ts";
import { concatArrays } from "../../shared/typed-arrays.ts";
import { PHONE_AUDIO, TwilioOutbound } from "../../server/phone/twilio-media.ts";
import { STREAM_TOKEN_PARAMETER } from "../../server/phone/phone-call.ts";

type Queued = { kind: "media"; frame: Uint8Array; receivedAt: number } | { kind: "mark"; name: string };

export interface FakeTwilioOptions {
  /** Called detached (kept and called later), so declared as a function property rather than a method. */
  send: (text: string) => void;
  streamSid?: string;
  callSid?: string;
  /** Playback speed: 1 plays at real time. */
  speed?: number;
}

export class FakeTwilioCall {
  readonly streamSid: string;
  readonly callSid: string;
  /** Everything the server sent, parsed, in order, with when it came. */
  readonly received: { at: number; message: TwilioOutbound }[] = [];
  /** The μ-law frames played to the caller (what they heard), in order. */
  readonly played: Uint8Array[] = [];
  /** Frames dropped unplayed by a `clear`. */
  dropped = 0;
  /** Marks echoed: name, whether its audio was played (false: dropped by a clear), and how many frames had been played by then. */
  readonly echoed: { name: string; played: boolean; at: number; framesPlayed: number }[] = [];
  readonly #send: (text: string) => void;
  readonly #speed: number;
  #queue: Queued[] = [];
  #player: ReturnType<typeof setInterval> | null = null;
  #chunk = 0;
  #waiters: (() => void)[] = [];
  #closed = false;

  constructor(o: FakeTwilioOptions) {
    this.#send = o.send;
    this.streamSid = o.streamSid ?? `MZ${randomHex(32)}`;
    this.callSid = o.callSid ?? `CA${randomHex(32)}`;
    this.#speed = o.speed ?? 1;
  }

  /** `connected`, then `start` with the TwiML's parameters (the stream token among them). */
  start(parameters: Record<string, string>): void {
    this.#send(JSON.stringify({ event: "connected", protocol: "Call", version: "1.0.0" }));
    this.#send(
      JSON.stringify({
        event: "start",
        sequenceNumber: "1",
        streamSid: this.streamSid,
        start: {
          streamSid: this.streamSid,
          callSid: this.callSid,
          accountSid: "AC00000000000000000000000000000000",
          tracks: ["inbound"],
          customParameters: parameters,
          mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 },
        },
      }),
    );
    this.#player ??= setInterval(() => this.#play(), PHONE_AUDIO.frameMs / this.#speed);
  }

  /** A message from the server. */
  onMessage(text: string): void {
    const message = TwilioOutbound.parse(JSON.parse(text));
    const at = Date.now();
    this.received.push({ at, message });
    if (message.event === "media") this.#queue.push({ kind: "media", frame: base64ToBytes(message.media.payload), receivedAt: at });
    else if (message.event === "mark") this.#queue.push({ kind: "mark", name: message.mark.name });
    else {
      // clear: nothing buffered is played; its marks come back at once.
      for (const q of this.#queue) {
        if (q.kind === "mark") this.#echo(q.name, false);
        else this.dropped++;
      }
      this.#queue = [];
    }
    this.#wake();
  }

  /** Speak 16 kHz PCM16 into the call: 20 ms μ-law frames at real time (faster with `speed`). */
  async say(pcm16k: Int16Array, speed = this.#speed): Promise<void> {
    const pcm8k = float32ToInt16(Resampler.convert(int16ToFloat32(pcm16k), 16_000, PHONE_AUDIO.sampleRate));
    const mulaw = encodeMulaw(pcm8k);
    const started = Date.now();
    for (let i = 0, n = 0; i < mulaw.length; i += PHONE_AUDIO.frameBytes, n++) {
      if (this.#closed) return;
      const frame = mulaw.slice(i, i + PHONE_AUDIO.frameBytes);
      this.#chunk++;
      this.#send(
        JSON.stringify({
          event: "media",
          sequenceNumber: String(this.#chunk + 1),
          streamSid: this.streamSid,
          media: { track: "inbound", chunk: String(this.#chunk), timestamp: String(this.#chunk * 20), payload: bytesToBase64(frame) },
        }),
      );
      const due = started + ((n + 1) * PHONE_AUDIO.frameMs) / speed;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }

  dtmf(digit: string): void {
    this.#send(JSON.stringify({ event: "dtmf", streamSid: this.streamSid, sequenceNumber: "0", dtmf: { track: "inbound_track", digit } }));
  }

  /** The caller hung up: `stop`, then the socket closes (the caller's part). */
  stop(): void {
    this.#send(
      JSON.stringify({
        event: "stop",
        sequenceNumber: "0",
        streamSid: this.streamSid,
        stop: { callSid: this.callSid, accountSid: "AC00000000000000000000000000000000" },
      }),
    );
    this.close();
  }

  close(): void {
    this.#closed = true;
    if (this.#player) clearInterval(this.#player);
    this.#player = null;
  }

  /** What the caller heard, as 8 kHz PCM16. */
  heardPcm(): Int16Array {
    return concatArrays(
      Int16Array,
      this.played.map((f) => decodeMulaw(f)),
    );
  }

  /** Media frames the server has sent so far. */
  get mediaReceived(): number {
    return this.received.filter((r) => r.message.event === "media").length;
  }

  /** Resolves when `test` holds (checked after every message and every played frame), or rejects after `timeoutMs`. */
  async until(test: () => boolean, timeoutMs = 10_000, what = "condition"): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!test()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`fake Twilio: timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 50));
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Play one frame (and echo the marks that follow it). */
  #play(): void {
    this.#echoPlayedMarks();
    const next = this.#queue.shift();
    if (next?.kind === "media") this.played.push(next.frame);
    this.#echoPlayedMarks();
    if (next) this.#wake();
  }

  /** Marks at the head of the queue: the audio before them has played. */
  #echoPlayedMarks(): void {
    for (let head = this.#queue[0]; head?.kind === "mark"; head = this.#queue[0]) {
      this.#queue.shift();
      this.#echo(head.name, true);
    }
  }

  #echo(name: string, played: boolean): void {
    this.echoed.push({ name, played, at: Date.now(), framesPlayed: this.played.length });
    if (!this.#closed) this.#send(JSON.stringify({ event: "mark", sequenceNumber: "0", streamSid: this.streamSid, mark: { name } }));
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }
}

function randomHex(n: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(n / 2));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The form Twilio POSTs to the voice webhook for an incoming call. */
export function voiceWebhookForm(o: { callSid: string; from: string; to?: string }): [string, string][] {
  return [
    ["AccountSid", "AC00000000000000000000000000000000"],
    ["ApiVersion", "2010-04-01"],
    ["CallSid", o.callSid],
    ["CallStatus", "ringing"],
    ["Called", o.to ?? "+15005550006"],
    ["Caller", o.from],
    ["Direction", "inbound"],
    ["From", o.from],
    ["To", o.to ?? "+15005550006"],
  ];
}

/** The stream URL and parameters of the TwiML the webhook answered. */
export function parseStreamTwiml(xml: string): { url: string; parameters: Record<string, string> } {
  const url = /<Stream url="([^"]+)"/.exec(xml)?.[1];
  if (!url) throw new Error(`no <Stream> in ${xml.slice(0, 200)}`);
  const unescape = (v: string) =>
    v
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">")
      .replace(/&amp;/g, "&");
  const parameters: Record<string, string> = {};
  for (const m of xml.matchAll(/<Parameter name="([^"]*)" value="([^"]*)"\/>/g)) parameters[unescape(m[1]!)] = unescape(m[2]!);
  return { url: unescape(url), parameters };
}

export { STREAM_TOKEN_PARAMETER };

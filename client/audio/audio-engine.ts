// The client's audio: one AudioContext holding both worklets (the assistant's voice and the
// microphone, so they share a clock and a worklet scope: see playback-level.ts), created on first
// use and resumed on the first user gesture; the microphone (start, switch device, mute).
import { MicCapture } from "./capture.ts";
import { Playback, type PlaybackHandlers } from "./playback.ts";
import type { CaptureToMain } from "./worklet-messages.ts";

export interface AudioEngineHandlers extends PlaybackHandlers {
  /** A 20 ms microphone frame. */
  frame(frame: CaptureToMain): void;
  /** The microphone went away (unplugged, revoked). */
  micEnded(): void;
  /** The AudioContext was suspended or resumed. */
  contextStateChanged(): void;
  log(line: string): void;
}

export class AudioEngine {
  private ctx: AudioContext | null = null;
  private readyPromise: Promise<void> | null = null;
  private playbackValue: Playback | null = null;
  private capture: MicCapture | null = null;

  constructor(private readonly handlers: AudioEngineHandlers) {}

  /** The reply playback, once audio is ready. */
  get playback(): Playback | null {
    return this.playbackValue;
  }

  /** The audio clock (AudioContext time) in ms; 0 before audio exists. */
  get nowMs(): number {
    return (this.ctx?.currentTime ?? 0) * 1000;
  }

  get sampleRate(): number | null {
    return this.ctx?.sampleRate ?? null;
  }

  /** Browsers hold audio back until the user interacts with the page. */
  get suspended(): boolean {
    return this.ctx?.state === "suspended";
  }

  get micRunning(): boolean {
    return this.capture?.running ?? false;
  }

  get micDeviceId(): string | null {
    return this.capture?.deviceId ?? null;
  }

  /** Create the context and the playback worklet (once). */
  ensure(): Promise<void> {
    this.readyPromise ??= (async () => {
      const ctx = new AudioContext({ latencyHint: "interactive" });
      this.ctx = ctx;
      this.handlers.log(
        `audio context ${ctx.sampleRate} Hz, base latency ${(ctx.baseLatency * 1000).toFixed(1)} ms, output latency ${((ctx.outputLatency || 0) * 1000).toFixed(1)} ms`,
      );
      ctx.addEventListener("statechange", () => this.handlers.contextStateChanged());
      const playback = new Playback(ctx, this.handlers);
      await playback.init();
      this.playbackValue = playback;
      this.capture = new MicCapture(
        ctx,
        (f) => this.handlers.frame(f),
        () => this.handlers.micEnded(),
      );
    })();
    return this.readyPromise;
  }

  /** Resume the context (after a user gesture). */
  async unlock(): Promise<void> {
    await this.ensure();
    await this.ctx?.resume().catch(() => undefined);
  }

  /** Start (or switch to) a microphone. Throws MicError. */
  async startMic(deviceId: string | undefined, muted: boolean): Promise<void> {
    await this.unlock();
    await this.capture!.start(deviceId);
    this.capture!.setMuted(muted);
  }

  /** Release the microphone (the browser's recording indicator goes off). */
  stopMic(): void {
    this.capture?.stop();
  }

  setMuted(muted: boolean): void {
    this.capture?.setMuted(muted);
  }

  listInputs(): Promise<MediaDeviceInfo[]> {
    return MicCapture.listInputs();
  }

  /** Output latency of the device (s), for the log. */
  get outputLatencyMs(): number {
    return (this.ctx?.outputLatency || 0) * 1000;
  }
}

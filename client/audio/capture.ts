// Microphone capture: getUserMedia (echo cancellation, noise suppression, auto gain) -> capture
// worklet -> 20 ms PCM16 frames delivered to a callback. Also lists input devices for the picker.
import workletUrl from "./capture-worklet.ts?worker&url";
import { MicError } from "./mic-error.ts";
import { FRAME_SAMPLES, UPSTREAM_RATE } from "./pcm-framer.ts";
import { CAPTURE_PROCESSOR, type CaptureOptions, type CaptureToMain, type MainToCapture } from "./worklet-messages.ts";

function toMicError(err: unknown): MicError {
  const name = err instanceof DOMException || err instanceof Error ? err.name : "";
  const msg = err instanceof Error ? err.message : String(err);
  switch (name) {
    case "NotAllowedError":
    case "SecurityError":
      return new MicError("denied", msg);
    case "NotFoundError":
    case "OverconstrainedError":
      return new MicError("no-device", msg);
    case "NotReadableError":
    case "AbortError":
      return new MicError("busy", msg);
    default:
      return new MicError("other", msg);
  }
}

const loadedContexts = new WeakSet<BaseAudioContext>();

export class MicCapture {
  private stream: MediaStream | null = null;
  private source: MediaStreamAudioSourceNode | null = null;
  private node: AudioWorkletNode | null = null;
  private mutedValue = false;
  deviceId: string | null = null;
  deviceLabel = "";

  constructor(
    private readonly ctx: AudioContext,
    private readonly onFrame: (frame: CaptureToMain) => void,
    private readonly onEnded: () => void,
  ) {}

  get running(): boolean {
    return this.stream !== null;
  }

  get muted(): boolean {
    return this.mutedValue;
  }

  /** Start (or switch to) a microphone. Throws MicError. */
  async start(deviceId?: string): Promise<void> {
    if (!window.isSecureContext) throw new MicError("insecure", "the microphone needs https (or localhost)");
    if (!navigator.mediaDevices?.getUserMedia) throw new MicError("unsupported", "this browser cannot capture audio");
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: {
          ...(deviceId ? { deviceId: { exact: deviceId } } : {}),
          echoCancellation: true,
          noiseSuppression: true,
          autoGainControl: true,
          channelCount: { ideal: 1 },
        },
        video: false,
      });
    } catch (err) {
      throw toMicError(err);
    }
    this.stop();
    if (!loadedContexts.has(this.ctx)) {
      await this.ctx.audioWorklet.addModule(workletUrl);
      loadedContexts.add(this.ctx);
    }
    const track = stream.getAudioTracks()[0];
    if (!track) {
      stream.getTracks().forEach((t) => t.stop());
      throw new MicError("no-device", "no audio track");
    }
    track.enabled = !this.mutedValue;
    track.addEventListener("ended", () => {
      if (this.stream === stream) {
        this.stop();
        this.onEnded();
      }
    });
    this.deviceId = track.getSettings().deviceId ?? deviceId ?? null;
    this.deviceLabel = track.label;
    const options: CaptureOptions = { targetRate: UPSTREAM_RATE, frameSamples: FRAME_SAMPLES };
    const node = new AudioWorkletNode(this.ctx, CAPTURE_PROCESSOR, {
      numberOfInputs: 1,
      numberOfOutputs: 1,
      outputChannelCount: [1],
      processorOptions: options,
    });
    node.port.onmessage = (e: MessageEvent<CaptureToMain>) => this.onFrame(e.data);
    const source = this.ctx.createMediaStreamSource(stream);
    source.connect(node);
    // The node outputs silence; connecting it keeps it pulled by the render graph.
    node.connect(this.ctx.destination);
    this.stream = stream;
    this.source = source;
    this.node = node;
  }

  stop(): void {
    this.source?.disconnect();
    this.node?.disconnect();
    if (this.node) {
      this.node.port.onmessage = null;
      this.node.port.postMessage({ type: "close" } satisfies MainToCapture);
    }
    this.stream?.getTracks().forEach((t) => t.stop());
    this.stream = null;
    this.source = null;
    this.node = null;
  }

  /** Mute = the track produces silence (the browser's mic indicator stays on). */
  setMuted(muted: boolean): void {
    this.mutedValue = muted;
    this.stream?.getAudioTracks().forEach((t) => (t.enabled = !muted));
  }

  /** Forget partial frames (e.g. at the start of a push-to-talk press). */
  resetFraming(): void {
    this.node?.port.postMessage({ type: "reset" } satisfies MainToCapture);
  }

  static async listInputs(): Promise<MediaDeviceInfo[]> {
    if (!navigator.mediaDevices?.enumerateDevices) return [];
    const all = await navigator.mediaDevices.enumerateDevices();
    return all.filter((d) => d.kind === "audioinput");
  }
}

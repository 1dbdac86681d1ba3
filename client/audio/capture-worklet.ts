// AudioWorklet processor for the microphone: mix to mono, low-pass + resample from the context
// rate (44.1/48 kHz or anything else) to 16 kHz, cut into exact 20 ms PCM16 LE frames and post each
// one (transferred) to the main thread with its level, its timestamp and the playback reference for
// the echo guard (read from the playback worklet's levels in this same scope: see playback-level.ts).
// All DSP lives in pure modules.
import { PcmFramer } from "./pcm-framer.ts";
import { loudestPlaybackLevel, sharedPlaybackLevels } from "./playback-level.ts";
import { Resampler } from "../../shared/audio/resampler.ts";
import { CAPTURE_PROCESSOR, type CaptureOptions, type CaptureToMain, type MainToCapture } from "./worklet-messages.ts";

declare const sampleRate: number;
declare const currentTime: number;

/** Echo comes back 20-150 ms after it is played (output latency, the room, input latency). */
const ECHO_WINDOW_S = 0.2;

class CaptureProcessor extends AudioWorkletProcessor {
  private readonly resampler: Resampler;
  private readonly framer: PcmFramer;
  private readonly targetRate: number;
  private mono = new Float32Array(128);
  private readonly playbackLevels = sharedPlaybackLevels();
  private alive = true;

  constructor(options?: AudioWorkletNodeOptions) {
    super(options);
    // capture.ts always sends both (the upstream format of shared/protocol.ts): no second copy of them here.
    const opts = options?.processorOptions as CaptureOptions;
    this.targetRate = opts.targetRate;
    this.resampler = new Resampler(sampleRate, this.targetRate);
    this.framer = new PcmFramer(opts.frameSamples);
    this.port.onmessage = (e: MessageEvent<MainToCapture>) => {
      if (e.data.type === "reset") {
        this.resampler.reset();
        this.framer.reset();
      } else if (e.data.type === "close") {
        this.alive = false;
      }
    };
  }

  process(inputs: Float32Array[][]): boolean {
    if (!this.alive) return false;
    const channels = inputs[0];
    if (!channels || channels.length === 0 || !channels[0]) return true;
    const n = channels[0].length;
    if (this.mono.length !== n) this.mono = new Float32Array(n);
    const mono = this.mono;
    if (channels.length === 1) {
      mono.set(channels[0]);
    } else {
      mono.fill(0);
      for (const ch of channels) for (let i = 0; i < n; i++) mono[i]! += ch[i]!;
      const g = 1 / channels.length;
      for (let i = 0; i < n; i++) mono[i]! *= g;
    }
    const frames = this.framer.push(this.resampler.process(mono));
    if (frames.length) {
      const end = currentTime + n / sampleRate;
      const pending = this.framer.buffered / this.targetRate;
      frames.forEach((f, k) => {
        const frameS = f.pcm.byteLength / 2 / this.targetRate;
        const time = end - pending - (frames.length - 1 - k) * frameS;
        const playbackRms = loudestPlaybackLevel(this.playbackLevels, time - frameS - ECHO_WINDOW_S, time);
        const msg: CaptureToMain = { type: "frame", pcm: f.pcm, rms: f.rms, peak: f.peak, time, playbackRms };
        this.port.postMessage(msg, [f.pcm]);
      });
    }
    return true;
  }
}

registerProcessor(CAPTURE_PROCESSOR, CaptureProcessor);

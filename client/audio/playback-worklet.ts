// AudioWorklet processor for the assistant's voice: a ring (jitter) buffer fed with decoded PCM at
// the context rate. Segments play back to back; stop fades out in 8 ms and drops what is queued;
// pause fades out and holds, resume fades back in a little before the pause point. Reports
// ring-buffer events with their exact output time, and progress about 10 times a second. Records
// its output level per render quantum for the capture worklet's echo guard (playback-level.ts).
import { blockRms, recordPlaybackLevel, sharedPlaybackLevels } from "./playback-level.ts";
import { PlaybackRingBuffer } from "./ring-buffer.ts";
import { PLAYBACK_PROCESSOR, type MainToPlayback, type PlaybackToMain } from "./worklet-messages.ts";

declare const sampleRate: number;
declare const currentTime: number;

const PROGRESS_INTERVAL_S = 0.1;

class PlaybackProcessor extends AudioWorkletProcessor {
  private readonly ring = new PlaybackRingBuffer(sampleRate, { prebufferMs: 60, fadeMs: 8 });
  private readonly levels = sharedPlaybackLevels();
  private lastProgress = 0;
  private wasActive = false;

  constructor(options?: AudioWorkletNodeOptions) {
    super(options);
    this.port.onmessage = (e: MessageEvent<MainToPlayback>) => {
      const m = e.data;
      if (m.type === "push") this.ring.push(m.replyId, m.segment, m.samples, m.complete);
      else if (m.type === "end") this.ring.endReply(m.replyId);
      else if (m.type === "stop") {
        // Nothing playing: answer right away so the main thread need not wait.
        if (!this.ring.stop()) this.postProgress(true);
      } else if (m.type === "pause") this.ring.pause();
      else if (m.type === "resume") this.ring.resume(m.rewindMs);
    };
  }

  process(_inputs: Float32Array[][], outputs: Float32Array[][]): boolean {
    const out = outputs[0];
    const first = out?.[0];
    if (!out || !first) return true;
    const events = this.ring.read(first);
    recordPlaybackLevel(this.levels, currentTime, blockRms(first));
    for (let c = 1; c < out.length; c++) out[c]!.set(first);
    for (const event of events) {
      const msg: PlaybackToMain = { type: "event", event, time: currentTime + ("offset" in event ? event.offset : 0) / sampleRate };
      this.port.postMessage(msg);
    }
    const active = this.ring.active;
    if (active !== this.wasActive || (active && currentTime - this.lastProgress >= PROGRESS_INTERVAL_S)) this.postProgress(false);
    this.wasActive = active;
    return true;
  }

  private postProgress(force: boolean): void {
    if (!force) this.lastProgress = currentTime;
    const msg: PlaybackToMain = {
      type: "progress",
      time: currentTime,
      position: this.ring.position,
      bufferedMs: this.ring.bufferedMs,
      active: this.ring.active,
      stats: { ...this.ring.stats },
    };
    this.port.postMessage(msg);
  }
}

registerProcessor(PLAYBACK_PROCESSOR, PlaybackProcessor);

// Messages between the main thread and the two AudioWorklet processors. Types only (erased at
// build time), so both sides share them without pulling code into the worklet bundles.
import type { PlaybackEvent, PlaybackStats } from "./ring-buffer.ts";

export const CAPTURE_PROCESSOR = "parley-capture";
export const PLAYBACK_PROCESSOR = "parley-playback";

/** The capture processor's processorOptions: both always set by capture.ts. */
export interface CaptureOptions {
  /** Sample rate sent upstream (Hz): UPSTREAM_AUDIO's 16 kHz. */
  targetRate: number;
  /** Samples per frame posted to the main thread: 20 ms at targetRate. */
  frameSamples: number;
}

export type CaptureToMain = {
  type: "frame";
  /** 640 bytes of 16 kHz mono PCM16 LE (transferred). */
  pcm: ArrayBuffer;
  rms: number;
  peak: number;
  /** AudioContext time at the end of the frame's audio (seconds). */
  time: number;
  /** The loudest playback output RMS of the ~200 ms before the frame's end (0: the assistant was silent). */
  playbackRms: number;
};

/** reset: drop partial frames; close: the node is being discarded (process() returns false). */
export type MainToCapture = { type: "reset" } | { type: "close" };

export type MainToPlayback =
  /** Audio for a segment; a segment may come in several pieces, the last with complete=true. */
  | { type: "push"; replyId: string; segment: number; samples: Float32Array; complete: boolean }
  | { type: "end"; replyId: string }
  | { type: "stop" }
  /** Hold playback (fade out); audio keeps queueing. */
  | { type: "pause" }
  /** Play on after a pause, `rewindMs` before the pause point, fading in. */
  | { type: "resume"; rewindMs: number };

export type PlaybackToMain =
  /** A ring-buffer event; `time` is the AudioContext time at which it happens in the output. */
  | { type: "event"; event: PlaybackEvent; time: number }
  /** Periodic (about 10 Hz while active) position and counters. */
  | {
      type: "progress";
      time: number;
      position: { replyId: string; segment: number; playedMs: number } | null;
      bufferedMs: number;
      active: boolean;
      stats: PlaybackStats;
    };

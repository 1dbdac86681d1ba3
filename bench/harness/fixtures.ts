// Speech fixtures for the simulated clients, and where Parley's own turn detector will see each turn end.
// The fixtures are the flite WAVs in test/fixtures (16 kHz PCM16: 200 ms silence, speech, 600 ms silence).
// Running the server's TurnDetector over each one here, once, tells the client exactly which 20 ms frame
// carries the last voiced audio (end of user speech) and which frame ends the turn (silenceMs later),
// so nothing has to be guessed from the signal while the benchmark runs.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseWav } from "../../shared/audio/wav.ts";
import { DEFAULT_TURN_DETECTION, TurnDetector } from "../../server/turn-detection/turn-detector.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export const SAMPLE_RATE = 16_000;
export const FRAME_MS = 20;
export const FRAME_SAMPLES = (SAMPLE_RATE * FRAME_MS) / 1000;
export const FRAME_BYTES = FRAME_SAMPLES * 2;

export interface Fixture {
  name: string;
  /** Little-endian PCM16 bytes, padded to whole 20 ms frames. */
  bytes: Buffer;
  frames: number;
  /** Frame index (from the fixture start) whose audio is the last the VAD calls voiced. */
  lastVoicedFrame: number;
  /** Frame index on which the detector ends the turn (may lie in the silence sent after the fixture). */
  turnEndFrame: number;
  /** Samples of utterance audio the detector hands to STT (pre-roll + speech + kept tail). */
  utteranceSamples: number;
}

export const FIXTURE_FILES = ["what-is-the-weather.wav", "tell-me-a-joke.wav"];

/** Silence before the fixture in the simulation: longer than the VAD's 1 s floor window, as between real turns. */
const LEAD_SILENCE_FRAMES = 60;

export function loadFixtures(silenceMs: number, files = FIXTURE_FILES): Fixture[] {
  return files.map((file) => {
    const wav = parseWav(new Uint8Array(readFileSync(resolve(ROOT, "test/fixtures", file))));
    if (wav.sampleRate !== SAMPLE_RATE || wav.channels !== 1) throw new Error(`${file}: expected 16 kHz mono`);
    const frames = Math.ceil(wav.pcm.length / FRAME_SAMPLES);
    const pcm = new Int16Array(frames * FRAME_SAMPLES);
    pcm.set(wav.pcm);

    const detector = new TurnDetector({ ...DEFAULT_TURN_DETECTION, silenceMs });
    const trailFrames = Math.ceil(silenceMs / FRAME_MS) + 100;
    const silence = new Int16Array(FRAME_SAMPLES);
    let end: { frame: number; endpointingMs: number; samples: number } | undefined;
    let turns = 0;
    for (let f = -LEAD_SILENCE_FRAMES; f < frames + trailFrames; f++) {
      const frame = f >= 0 && f < frames ? pcm.subarray(f * FRAME_SAMPLES, (f + 1) * FRAME_SAMPLES) : silence;
      for (const ev of detector.push(frame, "hands-free")) {
        if (ev.type !== "turn-end") continue;
        turns++;
        end ??= { frame: f, endpointingMs: ev.endpointingMs, samples: ev.audio.length };
      }
    }
    if (!end || turns !== 1 || end.endpointingMs !== Math.ceil(silenceMs / FRAME_MS) * FRAME_MS) {
      throw new Error(`${file}: expected exactly one turn ended by ${silenceMs} ms of silence, got ${turns}`);
    }
    const bytes = Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
    return {
      name: file.replace(/\.wav$/, ""),
      bytes,
      frames,
      lastVoicedFrame: end.frame - end.endpointingMs / FRAME_MS,
      turnEndFrame: end.frame,
      utteranceSamples: end.samples,
    };
  });
}

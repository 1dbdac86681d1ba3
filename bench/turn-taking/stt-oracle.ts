// The STT oracle: what an ideal Whisper would write for an utterance the server sends. The
// utterance is located in the session's recorded microphone stream by exact sample match, and the
// words of every source heard in that stretch are returned in time order: the user's clips (a word
// counts when its estimated middle is inside), the echo of the reply when it is loud enough for
// Whisper to transcribe it (-20 dB or louder relative to the playback), and nothing for noise,
// coughs and clicks (Whisper's habit of inventing "Thank you." on noise is not modelled).
import type { SessionTape, PlacedWord } from "./session-tape.ts";
import type { SampleSpan } from "./speech-timing.ts";

/** An echo at least this loud (dB relative to the playback) is transcribed as the reply's words. */
export const ECHO_TRANSCRIBED_FROM_DB = -20;

export interface OracleTranscript {
  text: string;
  /** Where the utterance was found (session samples). */
  pieces: SampleSpan[];
  /** Utterance samples found nowhere in the recording (should be 0). */
  unmatchedSamples: number;
  /** How many of the words were the reply's echo. */
  echoWords: number;
}

export function transcribeFromTape(tape: SessionTape, utterance: Int16Array): OracleTranscript {
  const { pieces, unmatchedSamples } = tape.locate(utterance);
  const words: PlacedWord[] = [];
  let echoWords = 0;
  for (const span of pieces) {
    words.push(...tape.userWordsIn(span));
    if (tape.echoDb >= ECHO_TRANSCRIBED_FROM_DB) {
      const echo = tape.echoWordsIn(span);
      echoWords += echo.length;
      words.push(...echo);
    }
  }
  words.sort((a, b) => a.at - b.at);
  return { text: words.map((w) => w.word).join(" "), pieces, unmatchedSamples, echoWords };
}

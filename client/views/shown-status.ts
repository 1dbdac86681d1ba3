// What the status indicator shows, from everything that bears on it: the connection, the server's
// state, the local playback (playing or held for an interruption), the microphone and the mode.
// One pure function, so the precedence is tested in Node instead of being spread over the app.
import type { SessionMode, SessionState } from "../../shared/protocol.ts";
import type { ConnectionStatus } from "../connection/connection-status.ts";

export type MicUiState = "off" | "starting" | "on" | "muted" | "blocked";

export type IndicatorState =
  | "connecting"
  | "reconnecting"
  | "not-found"
  | "idle"
  | "muted"
  | "listening"
  | "user-speaking"
  | "thinking"
  | "speaking"
  | "paused"
  | "error";

export interface StatusInputs {
  notFound: boolean;
  /** A share link's read-only view of the transcript: no live connection. */
  readOnly?: boolean;
  /** The owner's review page (/s/<id>/review): read-only too, but theirs. */
  ownerReview?: boolean;
  /** The review page was opened with the operator key (read-only, not a share link). */
  operatorReview?: boolean;
  connection: ConnectionStatus;
  serverState: SessionState;
  mode: SessionMode;
  micState: MicUiState;
  pushToTalkHeld: boolean;
  /** The local speech detector hears the user (hands-free only counts). */
  detectorSpeaking: boolean;
  /** Reply audio is playing or queued. */
  playing: boolean;
  /** Reply audio is held while an interruption is decided. */
  paused: boolean;
}

export interface ShownStatus {
  state: IndicatorState;
  label: string;
  /** Is there anything for Stop to stop? */
  stopEnabled: boolean;
}

export function shownStatus(i: StatusInputs): ShownStatus {
  const s = i.serverState;
  const stopEnabled = i.playing || i.paused || s === "thinking" || s === "speaking" || s === "paused";
  const localSpeech = i.mode === "hands-free" && i.micState === "on" && i.detectorSpeaking;
  const shown = (state: IndicatorState, label: string): ShownStatus => ({ state, label, stopEnabled });
  if (i.notFound) return shown("not-found", "Session not found");
  if (i.readOnly)
    return shown(
      "idle",
      i.ownerReview ? "Review — not live" : i.operatorReview ? "Read-only — operator key" : "Read-only — shared conversation",
    );
  if (i.connection === "connecting" || i.connection === "handshake") return shown("connecting", "Connecting…");
  if (i.connection === "reconnecting") return shown("reconnecting", "Reconnecting…");
  if (i.connection === "asleep") return shown("idle", "Paused — nobody spoke for a while");
  if (i.connection === "closed") return shown("error", "Disconnected");
  if (i.pushToTalkHeld) return shown("user-speaking", "You're speaking");
  // Held, not stopped: the reply may yet play on.
  if (i.paused) return shown("paused", localSpeech ? "Paused — you're speaking" : "Paused");
  if (s === "user-speaking" || localSpeech) return shown("user-speaking", "You're speaking");
  if (i.playing || s === "speaking") return shown("speaking", "Speaking");
  if (s === "thinking") return shown("thinking", "Thinking…");
  if (s === "paused") return shown("paused", "Paused");
  if (i.micState === "muted") return shown("muted", "Muted");
  if (i.micState === "on") return i.mode === "hands-free" ? shown("listening", "Listening") : shown("idle", "Hold Space to talk");
  if (i.micState === "blocked") return shown("idle", "Ready — type a message");
  return shown("idle", "Ready — start the mic or type");
}

// The review page's "▶ You" / "▶ Reply" buttons: a turn's recording is fetched with the page's key
// (a header, never in a URL, so not an <audio src>), played from a blob URL in the one <audio>
// element, so one plays at a time; pressing the playing one stops it.
import type { ApiResult, RecordingKind } from "../connection/session-api.ts";
import { el } from "../views/dom.ts";

export type FetchRecording = (turnId: string, kind: RecordingKind) => Promise<ApiResult<Blob>>;

const LABELS: Record<RecordingKind, string> = { user: "You", reply: "Reply" };

export class RecordingPlayer {
  readonly audio: HTMLAudioElement;
  readonly #fetch: FetchRecording;
  #url: string | null = null;
  #playing: HTMLButtonElement | null = null;
  /** Presses so far: an answer that arrives after a newer press is dropped. */
  #press = 0;

  constructor(fetchRecording: FetchRecording, host: HTMLElement) {
    this.#fetch = fetchRecording;
    this.audio = el("audio", { attrs: { "data-testid": "recording-audio", preload: "none" } });
    this.audio.hidden = true;
    this.audio.addEventListener("ended", () => this.#settle());
    host.append(this.audio);
  }

  /** The buttons of a turn's recordings that exist; null when it has none. */
  buttons(turnId: string, recordings: { user: boolean; reply: boolean }): HTMLElement | null {
    const kinds = (["user", "reply"] as const).filter((k) => recordings[k]);
    if (kinds.length === 0) return null;
    return el(
      "div",
      { className: "recordings", attrs: { "data-testid": "recordings" } },
      kinds.map((k) => this.#button(turnId, k)),
    );
  }

  /** Stop playing and let the blob go. */
  stop(): void {
    this.#press++;
    this.audio.pause();
    this.#settle();
  }

  /** The review page is left: stop, and take the <audio> element away. */
  dispose(): void {
    this.stop();
    this.audio.remove();
  }

  #button(turnId: string, kind: RecordingKind): HTMLButtonElement {
    const button = el("button", {
      className: "btn btn-ghost recording",
      text: `▶ ${LABELS[kind]}`,
      attrs: { type: "button", "data-testid": `play-${kind}`, "data-turn-id": turnId },
    });
    button.addEventListener("click", () => {
      this.#toggle(button, turnId, kind).catch((err: unknown) => {
        button.disabled = false;
        button.title = `Could not load the recording: ${err instanceof Error ? err.message : String(err)}`;
        button.dataset.state = "missing";
      });
    });
    return button;
  }

  async #toggle(button: HTMLButtonElement, turnId: string, kind: RecordingKind): Promise<void> {
    const wasPlaying = this.#playing === button;
    this.stop();
    if (wasPlaying) return;
    const press = this.#press;
    button.disabled = true;
    const got = await this.#fetch(turnId, kind);
    button.disabled = false;
    if (press !== this.#press) return;
    if (!got.ok) {
      button.title =
        got.code === "recording_not_found"
          ? "This recording is gone (past its retention)."
          : `Could not load the recording: ${got.message}`;
      button.dataset.state = "missing";
      return;
    }
    this.#url = URL.createObjectURL(got.value);
    this.#playing = button;
    button.textContent = `■ ${LABELS[kind]}`;
    button.dataset.state = "playing";
    this.audio.src = this.#url;
    try {
      await this.audio.play();
    } catch {
      if (press === this.#press) this.stop();
    }
  }

  #settle(): void {
    const button = this.#playing;
    if (button) {
      const kind = button.dataset.testid === "play-user" ? "user" : "reply";
      button.textContent = `▶ ${LABELS[kind]}`;
      delete button.dataset.state;
    }
    this.#playing = null;
    this.audio.removeAttribute("src");
    if (this.#url) URL.revokeObjectURL(this.#url);
    this.#url = null;
  }
}

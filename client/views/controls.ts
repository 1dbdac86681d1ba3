// The dock: mode switch, the big mic / push-to-talk button, mute, stop, the text composer, the
// microphone picker and the level meter; and the top bar's session actions (share, export, delete,
// new). Emits intents; the app decides what they mean.
import type { SessionMode } from "../../shared/protocol.ts";
import type { MicUiState } from "./shown-status.ts";
import { EXPORT_CHOICES, type ExportChoice } from "../connection/session-api.ts";

export interface ControlsHandlers {
  startMic(): void;
  toggleMute(): void;
  pttDown(): void;
  pttUp(): void;
  stop(): void;
  setMode(mode: SessionMode): void;
  sendText(text: string): boolean;
  pickMic(deviceId: string): void;
  newConversation(): void;
  share(): void;
  exportAs(format: ExportChoice): void;
  deleteConversation(): void;
}

const $ = <T extends HTMLElement>(id: string) => {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing #${id}`);
  return node as T;
};

export class Controls {
  private readonly mic = $<HTMLButtonElement>("mic");
  private readonly micLabel = $<HTMLElement>("mic-label");
  private readonly micHint = $<HTMLElement>("mic-hint");
  private readonly mute = $<HTMLButtonElement>("mute");
  private readonly stopBtn = $<HTMLButtonElement>("stop");
  private readonly modeHandsFree = $<HTMLButtonElement>("mode-hands-free");
  private readonly modePtt = $<HTMLButtonElement>("mode-ptt");
  private readonly composer = $<HTMLFormElement>("composer");
  private readonly input = $<HTMLInputElement>("text-input");
  private readonly select = $<HTMLSelectElement>("mic-select");
  private readonly levelFill = $<HTMLElement>("level-fill");
  private mode: SessionMode = "hands-free";
  private micState: MicUiState = "off";
  private held = false;
  private spaceHeld = false;

  constructor(private readonly h: ControlsHandlers) {
    this.mic.addEventListener("click", () => {
      if (this.micState === "off" || this.micState === "blocked") h.startMic();
      else if (this.mode === "hands-free") h.toggleMute();
    });
    // Push-to-talk by pointer (mouse, touch, pen): hold the big button.
    this.mic.addEventListener("pointerdown", (e) => {
      if (this.mode !== "push-to-talk" || !this.isLive()) return;
      e.preventDefault();
      this.mic.setPointerCapture(e.pointerId);
      this.press();
    });
    const release = () => this.release();
    this.mic.addEventListener("pointerup", release);
    this.mic.addEventListener("pointercancel", release);
    this.mic.addEventListener("lostpointercapture", release);
    this.mic.addEventListener("contextmenu", (e) => e.preventDefault());
    // Keyboard on the focused button: Enter/Space hold to talk in push-to-talk mode.
    this.mute.addEventListener("click", () => h.toggleMute());
    this.stopBtn.addEventListener("click", () => h.stop());
    const pick = (mode: SessionMode) => {
      if (mode !== this.mode) h.setMode(mode);
    };
    this.modeHandsFree.addEventListener("click", () => pick("hands-free"));
    this.modePtt.addEventListener("click", () => pick("push-to-talk"));
    for (const b of [this.modeHandsFree, this.modePtt]) {
      b.addEventListener("keydown", (e) => {
        if (e.key === "ArrowLeft" || e.key === "ArrowRight" || e.key === "ArrowUp" || e.key === "ArrowDown") {
          e.preventDefault();
          const next = this.mode === "hands-free" ? "push-to-talk" : "hands-free";
          pick(next);
          (next === "hands-free" ? this.modeHandsFree : this.modePtt).focus();
        }
      });
    }
    this.composer.addEventListener("submit", (e) => {
      e.preventDefault();
      const text = this.input.value.trim();
      if (!text) return;
      if (h.sendText(text)) this.input.value = "";
    });
    this.select.addEventListener("change", () => h.pickMic(this.select.value));
    $<HTMLButtonElement>("new-conversation").addEventListener("click", () => h.newConversation());
    $<HTMLButtonElement>("share").addEventListener("click", () => h.share());
    const exportMenu = $<HTMLDetailsElement>("export-menu");
    for (const choice of EXPORT_CHOICES) {
      exportMenu.querySelector(`[data-export="${choice.format}"]`)!.addEventListener("click", () => {
        exportMenu.open = false;
        h.exportAs(choice.format);
      });
    }
    $<HTMLButtonElement>("delete-conversation").addEventListener("click", () => h.deleteConversation());
    window.addEventListener("keydown", this.onKeyDown);
    window.addEventListener("keyup", this.onKeyUp);
    window.addEventListener("blur", () => {
      this.spaceHeld = false;
      this.release();
    });
  }

  setMode(mode: SessionMode): void {
    this.mode = mode;
    this.modeHandsFree.setAttribute("aria-checked", String(mode === "hands-free"));
    this.modePtt.setAttribute("aria-checked", String(mode === "push-to-talk"));
    this.modeHandsFree.tabIndex = mode === "hands-free" ? 0 : -1;
    this.modePtt.tabIndex = mode === "push-to-talk" ? 0 : -1;
    if (mode === "hands-free") this.release();
    this.refreshMic();
  }

  setMicState(state: MicUiState): void {
    this.micState = state;
    this.refreshMic();
  }

  setStopEnabled(enabled: boolean): void {
    this.stopBtn.disabled = !enabled;
  }

  setSendEnabled(enabled: boolean): void {
    $<HTMLButtonElement>("send").disabled = !enabled;
  }

  setLevel(level: number): void {
    const v = Math.max(0, Math.min(1, level));
    this.mic.style.setProperty("--level", v.toFixed(3));
    this.levelFill.style.transform = `scaleX(${v.toFixed(3)})`;
  }

  setDevices(devices: MediaDeviceInfo[], currentId: string | null): void {
    const options = devices.map((d, i) => {
      const o = document.createElement("option");
      o.value = d.deviceId;
      o.textContent = d.label || `Microphone ${i + 1}`;
      o.selected = d.deviceId === currentId;
      return o;
    });
    if (options.length === 0) {
      const o = document.createElement("option");
      o.textContent = "No microphone";
      options.push(o);
    }
    this.select.replaceChildren(...options);
    this.select.disabled = devices.length < 2;
  }

  /** A share link can export but not delete. */
  setCanDelete(can: boolean): void {
    $<HTMLButtonElement>("delete-conversation").hidden = !can;
  }

  focusInput(): void {
    this.input.focus();
  }

  private isLive(): boolean {
    return this.micState === "on" || this.micState === "muted";
  }

  private press(): void {
    if (this.held) return;
    this.held = true;
    this.mic.dataset.held = "true";
    this.refreshMic();
    this.h.pttDown();
  }

  private release(): void {
    if (!this.held) return;
    this.held = false;
    delete this.mic.dataset.held;
    this.refreshMic();
    this.h.pttUp();
  }

  private readonly onKeyDown = (e: KeyboardEvent): void => {
    const target = e.target as HTMLElement | null;
    const typing =
      !!target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT" || target.isContentEditable);
    if (e.key === "Escape") {
      if (!this.stopBtn.disabled) {
        e.preventDefault();
        this.h.stop();
      }
      return;
    }
    if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.code === "Space" && this.mode === "push-to-talk" && this.isLive()) {
      // Space anywhere (except while typing) is the talk key; it must not also click a focused button.
      e.preventDefault();
      if (!e.repeat) {
        this.spaceHeld = true;
        this.press();
      }
    } else if (e.key === "m" || e.key === "M") {
      if (this.isLive()) this.h.toggleMute();
    }
  };

  private readonly onKeyUp = (e: KeyboardEvent): void => {
    if (e.code === "Space" && this.spaceHeld) {
      e.preventDefault();
      this.spaceHeld = false;
      this.release();
    }
  };

  private refreshMic(): void {
    const s = this.micState;
    const ptt = this.mode === "push-to-talk";
    this.mic.dataset.mic = s === "starting" ? "off" : s;
    this.mic.setAttribute("aria-pressed", ptt ? String(this.held) : String(s === "muted"));
    this.mute.setAttribute("aria-pressed", String(s === "muted"));
    this.mute.querySelector(".label")!.textContent = s === "muted" ? "Unmute" : "Mute";
    this.mute.disabled = !(s === "on" || s === "muted");
    let label: string;
    let hint: string;
    if (s === "off") {
      label = "Start microphone";
      hint = "Tap to start the microphone";
    } else if (s === "starting") {
      label = "Starting microphone";
      hint = "Starting microphone…";
    } else if (s === "blocked") {
      label = "Microphone unavailable — try again";
      hint = "Microphone unavailable";
    } else if (ptt) {
      label = "Hold to talk";
      hint = this.held ? "Release to send" : s === "muted" ? "Muted" : "Hold to talk · Space";
    } else if (s === "muted") {
      label = "Unmute microphone";
      hint = "Muted · tap to unmute";
    } else {
      label = "Mute microphone";
      hint = "Listening · tap to mute";
    }
    this.micLabel.textContent = label;
    this.mic.setAttribute("aria-label", label);
    this.micHint.textContent = hint;
  }
}

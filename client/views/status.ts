// The state indicator (listening / you're speaking / thinking / speaking / paused, plus connection
// states; what it shows is decided by shown-status.ts) and the banners for things the user should
// know about (mic blocked, errors, reconnecting...).
import { el } from "./dom.ts";
import { shortModel } from "./format.ts";
import type { IndicatorState, ShownStatus } from "./shown-status.ts";

export class StatusView {
  private current: IndicatorState | null = null;
  private currentLabel = "";

  constructor(
    private readonly indicator: HTMLElement,
    private readonly models: HTMLElement,
  ) {}

  show({ state, label }: ShownStatus): void {
    if (state === this.current && label === this.currentLabel) return;
    this.current = state;
    this.currentLabel = label;
    this.indicator.dataset.state = state;
    this.indicator.querySelector(".state-label")!.textContent = label;
  }

  get state(): IndicatorState | null {
    return this.current;
  }

  setModels(models: { stt: string; llm: string; tts: string } | null, backend: "workers-ai" | "local" | "fake" = "workers-ai"): void {
    if (!models) {
      this.models.textContent = "";
      return;
    }
    this.models.dataset.backend = backend;
    if (backend === "local") {
      // Offline: nothing here is a Workers AI model, and the reply is not a language model.
      this.models.textContent = "Offline stand-in · local speech engines, no language model";
      this.models.title =
        "npm start runs without Workers AI: PocketSphinx recognises speech, a small offline responder (or LOCAL_LLM_URL) replies, flite speaks.";
      return;
    }
    const prefix = backend === "fake" ? "Test fake of " : "";
    this.models.textContent = `${prefix}${shortModel(models.llm)} · ${shortModel(models.stt)} · ${shortModel(models.tts)}`;
    this.models.title = `Language model ${models.llm}\nSpeech recognition ${models.stt}\nSpeech synthesis ${models.tts}`;
  }
}

export interface BannerAction {
  label: string;
  run: () => void;
}

export interface BannerSpec {
  kind: "info" | "error";
  title: string;
  body?: string;
  actions?: BannerAction[];
  dismissible?: boolean;
}

/** Keyed banners: showing a key again replaces it; hide(key) removes it. */
export class Banners {
  private readonly shown = new Map<string, HTMLElement>();

  constructor(private readonly container: HTMLElement) {}

  show(key: string, spec: BannerSpec): void {
    const body = el("div", { className: "banner-body" }, [el("strong", { text: spec.title })]);
    if (spec.body) body.append(el("span", { text: spec.body }));
    const node = el(
      "div",
      {
        className: "banner",
        attrs: { "data-kind": spec.kind, "data-testid": `banner-${key}`, role: spec.kind === "error" ? "alert" : "status" },
      },
      [body],
    );
    for (const action of spec.actions ?? []) {
      const b = el("button", { className: "btn btn-ghost", text: action.label, attrs: { type: "button" } });
      b.addEventListener("click", action.run);
      node.append(b);
    }
    if (spec.dismissible !== false) {
      const close = el("button", { className: "btn btn-ghost", text: "✕", attrs: { type: "button", "aria-label": "Dismiss" } });
      close.addEventListener("click", () => this.hide(key));
      node.append(close);
    }
    const old = this.shown.get(key);
    if (old) old.replaceWith(node);
    else this.container.append(node);
    this.shown.set(key, node);
  }

  hide(key: string): void {
    this.shown.get(key)?.remove();
    this.shown.delete(key);
  }

  has(key: string): boolean {
    return this.shown.has(key);
  }
}

// What the page says when something fails: an `error` event from the server (AI faults in one
// banner, replaced by the next and hidden when a new turn starts; other rejections in another),
// or a microphone that cannot start. Pure: no DOM.
import type { ErrorCode } from "../../shared/protocol.ts";
import type { MicErrorKind } from "../audio/mic-error.ts";

const ERROR_TITLES: Partial<Record<ErrorCode, string>> = {
  stt_failed: "Speech recognition failed",
  llm_failed: "The language model failed",
  tts_failed: "Speech synthesis failed",
  ai_capacity: "Workers AI is over capacity",
  ai_quota: "Workers AI daily allocation used up",
  ai_too_large: "The request was too large for Workers AI",
  ai_paid_plan: "This model needs the Workers Paid plan",
  ai_timeout: "Workers AI timed out",
  ai_unavailable: "Workers AI is unavailable",
  ai_stream_broken: "The AI stream broke off",
  budget_exceeded: "Spending limit reached",
  rate_limited: "Too many messages",
  unsupported_protocol: "This page is out of date",
  internal: "Server error",
};

export interface ErrorBanner {
  key: "ai-error" | "error";
  title: string;
  body: string;
}

export function errorBanner(code: ErrorCode, message: string, retryable: boolean): ErrorBanner {
  const ai = code.startsWith("ai_") || code.endsWith("_failed") || code === "budget_exceeded";
  return {
    key: ai ? "ai-error" : "error",
    title: ERROR_TITLES[code] ?? (ai ? "The AI had a problem" : "The server rejected a message"),
    body: `${message}${retryable ? " — you can try again." : ""}`,
  };
}

const MIC_ERRORS: Record<Exclude<MicErrorKind, "other">, [string, string]> = {
  denied: [
    "Microphone access is blocked",
    "Allow the microphone for this site in your browser's settings, then try again. You can still type.",
  ],
  "no-device": ["No microphone found", "Connect a microphone and try again. You can still type."],
  busy: ["The microphone is busy", "Another app may be using it. Close it and try again."],
  insecure: ["The microphone needs a secure page", "Open Parley over https (or on localhost)."],
  unsupported: ["This browser cannot record audio", "Try a current Chrome, Edge, Firefox or Safari. You can still type."],
};

export function micErrorBanner(kind: MicErrorKind, message: string): { title: string; body: string } {
  const [title, body] = kind === "other" ? ["Couldn't start the microphone", message] : MIC_ERRORS[kind];
  return { title, body };
}

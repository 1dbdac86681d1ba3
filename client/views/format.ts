// Small display helpers shared by the views (pure: no DOM, unit-tested in Node).

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

export function formatUsd(usd: number | null | undefined): string {
  if (usd === null || usd === undefined || !Number.isFinite(usd)) return "–";
  if (usd === 0) return "$0";
  if (usd < 0.0001) return "<$0.0001";
  if (usd < 0.01) return `$${usd.toFixed(4)}`;
  return `$${usd.toFixed(3)}`;
}

const BACKENDS: Record<string, string> = {
  "workers-ai": "Workers AI",
  "offline-stand-in": "Local stand-in",
  "local-stand-in": "Local stand-in",
  "stand-in": "Local stand-in",
  local: "Local stand-in",
  offline: "Local stand-in",
  fake: "Fake AI (tests)",
  "fake-ai": "Fake AI (tests)",
};

export function backendLabel(backend: string | null | undefined): string {
  if (!backend) return "–";
  // e.g. "local stand-in (flite, pocketsphinx)"
  if (/^(local|offline)/i.test(backend)) return "Local stand-in";
  return BACKENDS[backend] ?? backend;
}

/** A short class for styling: "workers-ai", "local" or "other". */
export function backendKind(backend: string): "workers-ai" | "local" | "other" {
  if (backend === "workers-ai") return "workers-ai";
  return /^(local|offline)/i.test(backend) ? "local" : "other";
}

/** "@cf/meta/llama-3.1-8b-instruct-fp8" -> "llama-3.1-8b-instruct-fp8". */
export function shortModel(model: string): string {
  return model.split("/").pop() ?? model;
}

/** A conversation's length: "45 s", "3 min 05 s", "1 h 02 min". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "–";
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`;
}

/** When a conversation started: the time today, else the date and time (in the viewer's locale). */
export function formatStarted(startedAt: number, now: number, locale?: string): string {
  const d = new Date(startedAt);
  const sameDay = new Date(now).toDateString() === d.toDateString();
  return sameDay
    ? d.toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit" })
    : d.toLocaleString(locale, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

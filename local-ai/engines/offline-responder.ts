// The reply step when no local LLM is configured: a small deterministic responder that says plainly
// it is Parley's offline stand-in. It never pretends to be a language model. Rules: the time, a
// simulated timer, one fixed joke; anything else is acknowledged and echoed back. Replies are 1-3
// short spoken sentences. `offlineReply` is pure; `OfflineResponder` streams it token by token, with
// model-like pacing only when asked for (the engine server turns it on with LOCAL_LLM_PACING=1).
import { estimatePromptTokens, makeUsage, splitTokens, type ChatMessage, type StreamPiece, type Usage } from "../sse.ts";

export const STAND_IN = "I'm Parley's offline stand-in";
export const JOKE = "Why did the scarecrow win an award? Because he was outstanding in his field.";

export interface ResponderContext {
  now: Date;
  /** IANA time zone for the clock answer; defaults to the machine's. */
  timeZone?: string;
}

const SMALL: Record<string, number> = {
  zero: 0,
  one: 1,
  a: 1,
  an: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  eleven: 11,
  twelve: 12,
  thirteen: 13,
  fourteen: 14,
  fifteen: 15,
  sixteen: 16,
  seventeen: 17,
  eighteen: 18,
  nineteen: 19,
  couple: 2,
  few: 3,
};
const TENS: Record<string, number> = { twenty: 20, thirty: 30, forty: 40, fifty: 50, sixty: 60, seventy: 70, eighty: 80, ninety: 90 };

/** Parse a number at the start of `words` ("10", "ten", "twenty five", "a hundred and five"). */
export function parseNumber(words: readonly string[]): { value: number; used: number } | undefined {
  const first = words[0];
  if (first === undefined) return undefined;
  if (/^\d+(\.\d+)?$/.test(first)) return { value: Number(first), used: 1 };
  let value = 0;
  let used = 0;
  let seen = false;
  while (used < words.length) {
    const w = words[used]!.replace(/-/g, " ");
    if (w.includes(" ")) {
      const inner = parseNumber(w.split(" "));
      if (!inner) break;
      value += inner.value;
      used++;
      seen = true;
      continue;
    }
    if (w in TENS) {
      value += TENS[w]!;
    } else if (w in SMALL) {
      if ((w === "a" || w === "an" || w === "couple" || w === "few") && seen) break;
      value += SMALL[w]!;
    } else if (w === "hundred" && seen) {
      value *= 100;
    } else if (w === "and" && seen && used + 1 < words.length && (words[used + 1]! in SMALL || words[used + 1]! in TENS)) {
      // "a hundred and five"
    } else if (w === "of" && (words[used - 1] === "couple" || words[used - 1] === "few")) {
      // "a couple of minutes"
    } else {
      break;
    }
    used++;
    seen = true;
  }
  return seen ? { value, used } : undefined;
}

const UNITS: [RegExp, string, string][] = [
  [/^(seconds?|secs?)$/, "second", "seconds"],
  [/^(minutes?|mins?)$/, "minute", "minutes"],
  [/^(hours?|hrs?)$/, "hour", "hours"],
];

/** "for ten minutes" -> "10 minutes"; "half an hour" -> "30 minutes". */
export function parseDuration(text: string): string | undefined {
  if (/\bhalf an hour\b/.test(text)) return "30 minutes";
  const words = text.split(/\s+/).filter(Boolean);
  for (let i = 0; i < words.length; i++) {
    const n = parseNumber(words.slice(i));
    if (!n) continue;
    let j = i + n.used;
    if (words[j] === "more") j++;
    const unit = UNITS.find(([re]) => re.test(words[j] ?? ""));
    if (unit) return `${formatNumber(n.value)} ${n.value === 1 ? unit[1] : unit[2]}`;
  }
  return undefined;
}

function formatNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

function normalise(text: string): string {
  return text
    .toLowerCase()
    .replace(/[’]/g, "'")
    .replace(/[^a-z0-9'\s-]/g, " ")
    .replace(/\s+/g, " ")
    .trim();
}

function lastUserText(messages: readonly ChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]!.role === "user") return messages[i]!.content;
  return "";
}

function clock(ctx: ResponderContext): string {
  return new Intl.DateTimeFormat("en-US", { hour: "numeric", minute: "2-digit", timeZone: ctx.timeZone }).format(ctx.now);
}

function echo(text: string): string {
  const words = text.trim().replace(/\s+/g, " ").split(" ");
  let heard = words.slice(0, 30).join(" ");
  if (words.length > 30) heard += "...";
  if (!/[.!?]$/.test(heard)) heard += ".";
  return heard;
}

/** The reply text for a conversation (looks at the last user message only). */
export function offlineReply(messages: readonly ChatMessage[], ctx: ResponderContext): string {
  const raw = lastUserText(messages);
  const text = normalise(raw);
  if (!text) return `I didn't catch anything. ${STAND_IN}, so please try again or type your message.`;
  if (/\bjoke\b|\bmake me laugh\b|\bsomething funny\b/.test(text)) return JOKE;
  if (/\btimer\b/.test(text) || /\b(remind|wake) me in\b/.test(text) || /\bcount ?down\b/.test(text)) {
    const duration = parseDuration(text);
    if (!duration) return "How long should the timer run? Say, for example, set a timer for ten minutes.";
    return `Okay, a timer for ${duration}. It's only simulated: ${STAND_IN}, so nothing will ring.`;
  }
  if (/\bwhat time\b|\btime is it\b|\bthe time\b|\bcurrent time\b|\btell me the time\b/.test(text)) {
    return `It's ${clock(ctx)} on this computer's clock.`;
  }
  return `${STAND_IN}, so there's no language model here. I heard: ${echo(raw)}`;
}

/** Artificial delays that make the responder look like a model streaming; none by default. */
export interface Pacing {
  /** Delay before the first token, like a model's time to first token. */
  firstTokenMs: number;
  /** Delay between tokens. */
  tokenMs: number;
}

export interface ReplyRequest {
  messages: ChatMessage[];
  maxTokens?: number;
  temperature?: number;
  signal: AbortSignal;
}

/** What the engine server needs from a reply engine (the offline responder or a local LLM). */
export interface ReplyEngine {
  readonly label: string;
  complete(req: ReplyRequest): Promise<{ response: string; usage: Usage }>;
  stream(req: ReplyRequest): AsyncIterable<StreamPiece>;
}

export class OfflineResponder implements ReplyEngine {
  readonly label = "offline-responder";
  readonly pacing: Pacing;
  private readonly context: () => ResponderContext;

  constructor(options: { pacing?: Partial<Pacing>; context?: () => ResponderContext } = {}) {
    this.pacing = { firstTokenMs: 0, tokenMs: 0, ...options.pacing };
    this.context = options.context ?? (() => ({ now: new Date() }));
  }

  private tokens(req: ReplyRequest): string[] {
    const all = splitTokens(offlineReply(req.messages, this.context()));
    return req.maxTokens ? all.slice(0, req.maxTokens) : all;
  }

  async complete(req: ReplyRequest): Promise<{ response: string; usage: Usage }> {
    const tokens = this.tokens(req);
    await sleep(this.pacing.firstTokenMs + this.pacing.tokenMs * Math.max(0, tokens.length - 1), req.signal);
    return { response: tokens.join(""), usage: makeUsage(estimatePromptTokens(req.messages), tokens.length) };
  }

  async *stream(req: ReplyRequest): AsyncGenerator<StreamPiece> {
    const tokens = this.tokens(req);
    for (let i = 0; i < tokens.length; i++) {
      await sleep(i === 0 ? this.pacing.firstTokenMs : this.pacing.tokenMs, req.signal);
      yield { token: tokens[i]! };
    }
    yield { usage: makeUsage(estimatePromptTokens(req.messages), tokens.length) };
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

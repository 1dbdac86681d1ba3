// The session review page: the session summary (turns, time to first audio p50/p95, cost, interruptions),
// then the conversation drawn by the live page's own renderer (ConversationView), each reply with its
// latency waterfall as an SVG. Built with DOM APIs only: stored text never goes through innerHTML.
import type { SessionTranscript, TranscriptTurn } from "../../shared/protocol.ts";
import type { ConversationView } from "../views/conversation-view.ts";
import { el } from "../views/dom.ts";
import { formatMs, formatStarted, formatUsd } from "../views/format.ts";
import { phoneCallLines, summarize, type SessionSummary } from "./summary.ts";
import type { RecordingPlayer } from "./recording-player.ts";
import { reviewTimeline } from "./timeline.ts";
import { layoutWaterfall, turnStages, type WaterfallLayout } from "./waterfall.ts";

const SVG = "http://www.w3.org/2000/svg";

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * Render the review of `t`: the summary into `summary`, the timeline through `view` (already cleared),
 * each reply with its turn's recordings (`player`) and latency waterfall.
 */
export function renderReview(
  t: SessionTranscript,
  view: ConversationView,
  summary: HTMLElement,
  links: { live: string | null },
  player: RecordingPlayer,
): void {
  summary.replaceChildren(...summaryNodes(summarize(t), links));
  // A session phone calls used: who called (masked), when, how long, how it ended, what it cost.
  const calls = phoneCallLines(t.phoneCalls ?? [], (at) => formatStarted(at, Date.now()));
  if (calls.length > 0) {
    summary.append(
      el(
        "ul",
        { className: "phone-calls", attrs: { "data-testid": "phone-calls", "aria-label": "Phone calls" } },
        calls.map((line) => el("li", { className: "phone-call", text: `☎ ${line}` })),
      ),
    );
  }
  summary.hidden = false;
  const turns = new Map(t.turns.map((turn) => [turn.replyId, turn]));
  for (const item of reviewTimeline(t.messages, t.turns)) {
    if (item.kind === "failed-turn") {
      view.addFailedTurn(item.turn.replyId, item.turn.errorCode);
      continue;
    }
    const replyId = view.renderMessage(item.message);
    const turn = replyId ? turns.get(replyId) : undefined;
    if (!replyId || !turn) continue;
    // The stored turn knows more than the message's tags: its error code, and the client's first audio.
    view.setMeta(replyId, {
      ...(turn.errorCode ? { errorCode: turn.errorCode } : {}),
      ...(turn.clientFirstAudioMs !== null ? { clientFirstAudioMs: turn.clientFirstAudioMs } : {}),
    });
    const details = [player.buttons(turn.turnId, turn.recordings), waterfall(turn)].filter(
      (n): n is HTMLElement | SVGSVGElement => n !== null,
    );
    if (details.length > 0) view.setDetails(replyId, details.length === 1 ? details[0]! : el("div", {}, details));
  }
}

function summaryNodes(s: SessionSummary, links: { live: string | null }): Node[] {
  const stat = (id: string, label: string, value: string, note?: string) =>
    el("div", { className: "stat", attrs: { "data-testid": `summary-${id}` } }, [
      el("div", { className: "stat-label", text: label }),
      el("div", { className: "stat-value", text: value }),
      ...(note ? [el("div", { className: "stat-note", text: note })] : []),
    ]);
  const turnsNote = [s.interruptedTurns ? `${s.interruptedTurns} cut short` : "", s.failedTurns ? `${s.failedTurns} failed` : ""]
    .filter(Boolean)
    .join(", ");
  const head = el("div", { className: "review-head" }, [el("h1", { text: "Conversation review" })]);
  if (links.live)
    head.append(
      el("a", { className: "btn btn-ghost", text: "Back to the conversation", attrs: { href: links.live, "data-testid": "live-link" } }),
    );
  return [
    head,
    el("div", { className: "stats" }, [
      stat("turns", "Turns", String(s.turns), turnsNote || undefined),
      stat(
        "first-audio",
        "Time to first audio",
        `p50 ${formatMs(s.firstAudio.p50Ms)} · p95 ${formatMs(s.firstAudio.p95Ms)}`,
        `over ${s.firstAudio.turns} turn${s.firstAudio.turns === 1 ? "" : "s"}`,
      ),
      stat("cost", "Cost", formatUsd(s.usd), `${Math.round(s.neurons).toLocaleString("en-US")} neurons`),
      stat("interruptions", "Interruptions", `${s.interruptions.confirmed} confirmed · ${s.interruptions.resumed} resumed`),
    ]),
  ];
}

/** One turn's latency waterfall, or null when nothing of its path to first audio was stored. */
function waterfall(turn: TranscriptTurn): SVGSVGElement | null {
  const stages = turnStages(turn);
  if (stages.length === 0) return null;
  return drawWaterfall(layoutWaterfall(stages), turn);
}

function drawWaterfall(layout: WaterfallLayout, turn: TranscriptTurn): SVGSVGElement {
  const root = svg("svg", {
    class: "waterfall",
    viewBox: `0 0 ${layout.width} ${layout.height}`,
    width: layout.width,
    height: layout.height,
    role: "img",
    "data-testid": "waterfall",
  });
  const summary = layout.bars.map((b) => `${b.label} ${formatMs(b.endMs - b.startMs)}`).join(", ");
  root.append(svg("title", {}, `Latency of this turn, from the end of the user's speech: ${summary}`));
  const barsBottom = layout.height - 18;
  for (const t of layout.ticks) {
    root.append(svg("line", { class: "tick", x1: t.x, x2: t.x, y1: 0, y2: barsBottom }));
    root.append(svg("text", { class: "tick-label", x: t.x, y: layout.height - 4, "text-anchor": "middle" }, t.label));
  }
  root.append(svg("line", { class: "zero", x1: layout.zeroX, x2: layout.zeroX, y1: 0, y2: barsBottom }));
  for (const b of layout.bars) {
    const cy = b.y + b.height / 2;
    root.append(
      svg("text", { class: "stage-label", x: layout.plotX - 8, y: cy, "text-anchor": "end", "dominant-baseline": "central" }, b.label),
    );
    const rect = svg("rect", {
      class: `bar stage-${b.key}`,
      x: b.x.toFixed(1),
      y: b.y,
      width: b.width.toFixed(1),
      height: b.height,
      rx: 3,
      "data-testid": "waterfall-bar",
      "data-stage": b.key,
      "data-ms": Math.round(b.endMs - b.startMs),
    });
    rect.append(
      svg(
        "title",
        {},
        `${b.label}: ${formatMs(b.endMs - b.startMs)} (${formatMs(b.startMs)} → ${formatMs(b.endMs)} after the end of speech)`,
      ),
    );
    root.append(rect);
    // The duration beside its bar, inside the plot.
    const right = b.x + b.width + 4;
    const fits = right + 48 < layout.plotX + layout.plotWidth;
    root.append(
      svg(
        "text",
        { class: "bar-label", x: fits ? right : b.x - 4, y: cy, "text-anchor": fits ? "start" : "end", "dominant-baseline": "central" },
        formatMs(b.endMs - b.startMs),
      ),
    );
  }
  if (turn.metrics.speculative) root.append(svg("desc", {}, "The reply started speculatively, before the end of the turn was confirmed."));
  return root;
}

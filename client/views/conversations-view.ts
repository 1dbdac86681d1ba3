// The conversations page (/conversations): this browser's sessions (its owner token), or everyone's
// with the operator key, newest first; search over what either side said, "More" for the next page,
// the list as CSV, and each row links to its session. It takes the app shell's place (index.html)
// and keeps to the theme's CSS variables, so light and dark both work.
import type { ConversationPage, ConversationSummary, SearchSnippet } from "../../shared/review.ts";
import { rememberOperatorKey, storedOperatorKey, storedOwnerToken } from "../connection/key-store.ts";
import { conversationsCsv, listConversations, type ApiResult } from "../connection/session-api.ts";
import { reviewPath } from "../connection/session-url.ts";
import { el } from "./dom.ts";
import { backendLabel, formatDuration, formatStarted, formatUsd } from "./format.ts";

const SEARCH_DEBOUNCE_MS = 250;
const PAGE_SIZE = 25;

export class ConversationsView {
  private readonly root: HTMLElement;
  private readonly search: HTMLInputElement;
  private readonly rows: HTMLTableSectionElement;
  private readonly status: HTMLElement;
  private readonly more: HTMLButtonElement;
  private readonly csv: HTMLButtonElement;
  private readonly operator: HTMLInputElement;
  private readonly scope: HTMLElement;
  private cursor: string | null = null;
  /** Bumped on every new search, so a slow answer to an old one is dropped. */
  private generation = 0;
  private debounce: ReturnType<typeof setTimeout> | null = null;

  constructor(host: HTMLElement) {
    this.search = el("input", {
      attrs: {
        type: "search",
        id: "conversation-search",
        placeholder: "Search what was said…",
        "data-testid": "conversation-search",
        maxlength: "200",
        autocomplete: "off",
      },
    });
    this.csv = el("button", {
      className: "btn btn-ghost",
      text: "Download CSV",
      attrs: { type: "button", "data-testid": "conversations-csv" },
    });
    this.operator = el("input", {
      attrs: { type: "password", id: "operator-key", placeholder: "op.…", autocomplete: "off", "data-testid": "operator-key" },
    });
    // The operator key typed into this tab: kept for the tab only (sessionStorage), never in a URL; the
    // review pages this tab opens read with it (phone calls have no owner to open them otherwise).
    this.operator.value = storedOperatorKey(sessionStorage) ?? "";
    this.scope = el("p", { className: "conversations-scope" });
    this.rows = el("tbody");
    this.status = el("p", {
      className: "conversations-status",
      attrs: { role: "status", "aria-live": "polite", "data-testid": "conversations-status" },
    });
    this.more = el("button", {
      className: "btn btn-ghost conversations-more",
      text: "More",
      attrs: { type: "button", "data-testid": "conversations-more" },
    });
    const form = el("form", { className: "conversations-search", attrs: { role: "search" } }, [
      el("label", { className: "visually-hidden", text: "Search conversations", attrs: { for: "conversation-search" } }),
      this.search,
      this.csv,
    ]);
    const adminForm = el("form", {}, [
      el("label", { text: "Operator key (npm run operator-key) lists everyone's conversations", attrs: { for: "operator-key" } }),
      this.operator,
    ]);
    adminForm.addEventListener("submit", (e) => e.preventDefault());
    const admin = el("details", { className: "conversations-admin" }, [el("summary", { text: "Operator" }), adminForm]);
    const head = el("thead", {}, [
      el(
        "tr",
        {},
        ["Conversation", "Started", "Duration", "Turns", "Interruptions", "Cost", "Backend"].map((h) =>
          el("th", { text: h, attrs: { scope: "col" } }),
        ),
      ),
    ]);
    const table = el("table", { className: "conversations-table", attrs: { "data-testid": "conversations-table" } }, [head, this.rows]);
    this.root = el("main", { className: "conversations", attrs: { "data-testid": "conversations" } }, [
      el("h1", { text: "Conversations" }),
      this.scope,
      form,
      el("div", { className: "conversations-scroll" }, [table]),
      this.status,
      this.more,
      admin,
    ]);
    host.append(this.root);

    form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.reload();
    });
    this.search.addEventListener("input", () => {
      if (this.debounce) clearTimeout(this.debounce);
      this.debounce = setTimeout(() => this.reload(), SEARCH_DEBOUNCE_MS);
    });
    this.more.addEventListener("click", () => this.inBackground("load the conversations", this.load(false)));
    this.csv.addEventListener("click", () => this.inBackground("download the CSV", this.download()));
    this.operator.addEventListener("change", () => {
      rememberOperatorKey(sessionStorage, this.operator.value);
      this.reload();
    });
  }

  start(): void {
    document.title = "Conversations — Parley";
    this.reload();
  }

  /** The operator key when one was typed, else this browser's owner token (none behind Cloudflare Access: the Access user's own). */
  private key(): string | undefined {
    return this.operator.value.trim() || storedOwnerToken(localStorage) || undefined;
  }

  private reload(): void {
    this.generation++;
    this.cursor = null;
    this.rows.replaceChildren();
    this.scope.textContent = this.operator.value.trim() ? "Everyone's conversations (operator)." : "Conversations started in this browser.";
    this.inBackground("load the conversations", this.load(true));
  }

  /** Runs a click's action without waiting for it; a failure shows in the status line, never dropped. */
  private inBackground(what: string, task: Promise<void>): void {
    task.catch((err: unknown) => {
      this.status.textContent = `Couldn't ${what}: ${err instanceof Error ? err.message : String(err)}`;
    });
  }

  private async load(first: boolean): Promise<void> {
    const generation = this.generation;
    const q = this.search.value.trim();
    this.more.hidden = true;
    this.status.textContent = "Loading…";
    const page = await listConversations(this.key(), {
      ...(q ? { q } : {}),
      ...(this.cursor && !first ? { cursor: this.cursor } : {}),
      limit: PAGE_SIZE,
    });
    if (generation !== this.generation) return;
    this.show(page, q);
  }

  private show(page: ApiResult<ConversationPage>, q: string): void {
    if (!page.ok) {
      this.status.textContent =
        page.code === "key_required"
          ? "No conversations in this browser yet: start one, and it shows up here."
          : page.code === "bad_key"
            ? "That key does not list conversations here."
            : `Couldn't load the conversations: ${page.message}`;
      return;
    }
    const now = Date.now();
    for (const c of page.value.items) this.rows.append(...this.row(c, now));
    this.cursor = page.value.nextCursor;
    this.more.hidden = this.cursor === null;
    const shown = this.rows.querySelectorAll("tr.conversation-row").length;
    this.status.textContent = shown === 0 ? (q ? `Nothing said matches “${q}”.` : "No conversations yet.") : "";
  }

  private row(c: ConversationSummary, now: number): HTMLTableRowElement[] {
    const link = el("a", { text: c.title || "(nothing said yet)", attrs: { href: reviewPath(c.id), "data-testid": "conversation-link" } });
    const title = el("td", { className: "conversation-title" }, [link]);
    if (c.owner) title.append(el("span", { className: "conversation-owner", text: c.owner }));
    // A phone session: the caller, masked as the server stored it (only the operator lists these).
    if (c.caller)
      title.append(
        el("span", {
          className: "conversation-owner conversation-phone",
          text: `☎ ${c.caller}`,
          attrs: { "data-testid": "conversation-phone" },
        }),
      );
    const cells = [
      title,
      el("td", { text: formatStarted(c.startedAt, now), attrs: { title: new Date(c.startedAt).toISOString() } }),
      el("td", { className: "num", text: formatDuration(c.durationMs) }),
      el("td", { className: "num", text: String(c.turns) }),
      el("td", { className: "num", text: String(c.interruptions) }),
      el("td", { className: "num", text: formatUsd(c.usd), attrs: { title: `${c.neurons.toFixed(1)} neurons` } }),
      el("td", { text: backendLabel(c.backend) }),
    ];
    const rows = [el("tr", { className: "conversation-row", attrs: { "data-id": c.id } }, cells)];
    if (c.snippet)
      rows.push(el("tr", { className: "conversation-snippet" }, [el("td", { attrs: { colspan: "7" } }, [snippetNode(c.snippet)])]));
    return rows;
  }

  /** The CSV comes with the key in a header: fetched, then saved from a blob URL. */
  private async download(): Promise<void> {
    this.csv.disabled = true;
    const got = await conversationsCsv(this.key(), this.search.value.trim());
    this.csv.disabled = false;
    if (!got.ok) {
      this.status.textContent = `Couldn't download the CSV: ${got.message}`;
      return;
    }
    const url = URL.createObjectURL(got.value.blob);
    const a = el("a", { attrs: { href: url, download: got.value.fileName } });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
}

/** Where a search matched: who said it, the matched words marked (text nodes only, never HTML). */
function snippetNode(s: SearchSnippet): HTMLElement {
  const p = el("p", { className: "snippet" }, [el("span", { className: "snippet-role", text: s.role === "user" ? "You: " : "Parley: " })]);
  for (const part of s.parts) p.append(part.hit ? el("mark", { text: part.text }) : document.createTextNode(part.text));
  return p;
}

/** The conversations page in place of the live conversation's parts of the shell (index.html). */
export function showConversationsPage(): void {
  for (const node of document.querySelectorAll<HTMLElement>(
    "#share, #review-link, #export-menu, #delete-conversation, #conversation, #review-summary, #dock, #banners, .statusbar",
  ))
    node.style.display = "none";
  document.getElementById("conversations-link")?.setAttribute("aria-current", "page");
  document.getElementById("new-conversation")?.addEventListener("click", () => location.assign("/"));
  new ConversationsView(document.getElementById("app")!).start();
}

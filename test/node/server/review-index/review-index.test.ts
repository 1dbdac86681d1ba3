// The pure parts of the review index: the FTS5 query made of what a user types, snippets, cursors,
// the CSV, owner tokens, the summary row, and the writer that heals missed updates — and the
// session-side ledger of what the index acknowledged, over the session's real schema.
import { describe, expect, it } from "vitest";
import {
  mintSessionId,
  operatorKey,
  signKey,
  signOwnerToken,
  verifyKey,
  verifyOwnerToken,
} from "../../../../server/access/session-keys.ts";
import { routeOf } from "../../../../server/http/routes.ts";
import { conversationCsvRow, csvFileName, csvHeader } from "../../../../server/review-index/csv.ts";
import { decodeCursor, encodeCursor } from "../../../../server/review-index/cursor.ts";
import {
  IndexWriter,
  collectUpdate,
  sessionRow,
  titleOf,
  type IndexUpdate,
  type SessionFacts,
} from "../../../../server/review-index/index-writer.ts";
import { ftsMatchQuery } from "../../../../server/review-index/search-query.ts";
import { HIT_CLOSE, HIT_OPEN, indexText, snippetParts } from "../../../../server/review-index/snippet.ts";
import { ConversationStore } from "../../../../server/storage/conversation-store.ts";
import { ReviewIndexLedger } from "../../../../server/storage/review-index-ledger.ts";
import { OwnerToken } from "../../../../shared/protocol.ts";
import type { ConversationSummary } from "../../../../shared/review.ts";
import { nodeSqlStorage } from "../../../support/node-sql-storage.ts";

const SECRET = "s".repeat(32);

describe("search text to FTS5", () => {
  it("quotes every word, so operators and punctuation are words or separators, and prefixes the last", () => {
    expect(ftsMatchQuery("weather in Paris", 12)).toBe('"weather" "in" "Paris"*');
    expect(ftsMatchQuery('say "NEAR(a b)" OR -x*', 12)).toBe('"say" "NEAR" "a" "b" "OR" "x"*');
    expect(ftsMatchQuery("café naïve", 12)).toBe('"café" "naïve"*');
  });

  it("has no query for text without words, and keeps only the first words", () => {
    for (const q of ['"', "*", "-", "()", "  ", "💥", "\u0000"]) expect(ftsMatchQuery(q, 12)).toBeNull();
    expect(ftsMatchQuery("a b c d", 2)).toBe('"a" "b"*');
  });
});

describe("snippets", () => {
  it("splits the marked snippet into parts with the matches flagged", () => {
    expect(snippetParts(`…the ${HIT_OPEN}weather${HIT_CLOSE} in ${HIT_OPEN}Paris${HIT_CLOSE}`)).toEqual([
      { text: "…the ", hit: false },
      { text: "weather", hit: true },
      { text: " in ", hit: false },
      { text: "Paris", hit: true },
    ]);
  });

  it("never stores the marks, so said text cannot forge a highlight", () => {
    expect(indexText(`a${HIT_OPEN}b${HIT_CLOSE}c`)).toBe("abc");
  });
});

describe("cursors", () => {
  it("carry (started_at, id) and refuse anything not handed out", () => {
    const id = mintSessionId();
    expect(decodeCursor(encodeCursor({ startedAt: 1_700_000_000_123, id }))).toEqual({ startedAt: 1_700_000_000_123, id });
    for (const bad of [
      "",
      "!!",
      btoa("x:y"),
      btoa(`-1:${id}`),
      btoa(`01:${id}`),
      btoa(`1.5:${id}`),
      btoa(`1:${id.toUpperCase()}`),
      btoa(`1:${id}:2`),
    ])
      expect(decodeCursor(bad), bad).toBeNull();
  });
});

describe("CSV", () => {
  const base: ConversationSummary = {
    id: mintSessionId(),
    title: "t",
    startedAt: Date.UTC(2026, 10, 29, 12, 0, 0),
    updatedAt: 0,
    durationMs: 1234.4,
    turns: 2,
    interruptions: 1,
    neurons: 10.257,
    usd: 0.000113,
    backend: "workers-ai",
    mode: "hands-free",
    owner: null,
  };

  it("quotes fields with commas, quotes and line breaks, ends records with CRLF", () => {
    expect(csvHeader()).toBe("id,title,started_at,duration_ms,turns,interruptions,neurons,usd,backend,mode,owner,path,match\r\n");
    expect(conversationCsvRow({ ...base, title: 'He said "hi", then\nleft' })).toBe(
      `${base.id},"He said ""hi"", then\nleft",2026-11-29T12:00:00.000Z,1234,2,1,10.26,0.000113,workers-ai,hands-free,,/s/${base.id},\r\n`,
    );
  });

  it("keeps user text from being run as a spreadsheet formula", () => {
    for (const title of ["=SUM(A1)", "+1", "-1", "@x"]) expect(conversationCsvRow({ ...base, title }).split(",")[1]).toBe(`'${title}`);
  });

  it("names the file for the UTC day", () => {
    expect(csvFileName(Date.UTC(2026, 0, 2, 23, 59))).toBe("parley-conversations-2026-01-02.csv");
  });
});

describe("owner tokens", () => {
  it("carry a minted owner id, verify under the secret only, and are no session or operator key", async () => {
    const token = await signOwnerToken(SECRET);
    expect(OwnerToken.safeParse(token).success).toBe(true);
    const ownerId = await verifyOwnerToken(SECRET, token);
    expect(ownerId).toBe(token.split(".")[1]);
    expect(await signOwnerToken(SECRET, ownerId!)).toBe(token);
    expect(await verifyOwnerToken("t".repeat(32), token)).toBeNull();
    // Another owner id under the same MAC.
    const other = mintSessionId();
    expect(await verifyOwnerToken(SECRET, `u.${other}.${token.split(".")[2]}`)).toBeNull();
    // The same MAC under another domain opens nothing.
    const id = mintSessionId();
    expect(await verifyOwnerToken(SECRET, `u.${id}.${(await signKey(SECRET, id, { role: "owner" })).slice(2)}`)).toBeNull();
    expect(await verifyKey(SECRET, ownerId!, `o.${token.split(".")[2]}`)).toBeNull();
    expect(await verifyOwnerToken(SECRET, await operatorKey(SECRET))).toBeNull();
  });
});

describe("routes", () => {
  it("route the list and its CSV, nothing below them", () => {
    expect(routeOf("/api/conversations")).toEqual({ kind: "conversations", csv: false });
    expect(routeOf("/api/conversations.csv")).toEqual({ kind: "conversations", csv: true });
    expect(routeOf("/api/conversations/x")).toMatchObject({ kind: "refused", status: 404 });
    expect(routeOf("/api/conversations.json")).toMatchObject({ kind: "refused", status: 404 });
  });
});

const facts = (over: Partial<SessionFacts> = {}): SessionFacts => ({
  id: "s",
  ownerEmail: null,
  ownerId: "abc",
  phoneCaller: null,
  firstUserText: "Hello",
  startedAt: 1000,
  lastActivityAt: 4000,
  turns: 1,
  interruptions: 0,
  messages: 2,
  neurons: 1,
  usd: 0.1,
  backend: "workers-ai",
  mode: null,
  ...over,
});

describe("the summary row", () => {
  it("has an owner (the Access email before an owner id), a duration and a title, and nothing before anything was said", () => {
    expect(sessionRow(facts(), 5000)).toMatchObject({
      owner: "id:abc",
      durationMs: 3000,
      title: "Hello",
      updatedAt: 5000,
      mode: "hands-free",
    });
    expect(sessionRow(facts({ ownerEmail: "a@b.c" }), 5000)!.owner).toBe("email:a@b.c");
    expect(sessionRow(facts({ ownerId: null }), 5000)!.owner).toBeNull();
  });

  it("of a session only phone calls used is owned by the masked caller (listed for the operator alone); a browser owner comes first", () => {
    expect(sessionRow(facts({ ownerId: null, phoneCaller: "+1••••••0123" }), 5000)!.owner).toBe("phone:+1••••••0123");
    expect(sessionRow(facts({ ownerId: "abc", phoneCaller: "+1••••••0123" }), 5000)!.owner).toBe("id:abc");
    expect(sessionRow(facts({ startedAt: null, messages: 0 }), 5000)).toBeNull();
    // Turns that heard no speech leave no message: nothing to list yet.
    expect(sessionRow(facts({ messages: 0, turns: 0 }), 5000)).toBeNull();
  });

  it("titles a conversation by its first user line, flattened and cut at a word", () => {
    expect(titleOf("  two\n lines  ")).toBe("two lines");
    expect(titleOf(null)).toBe("");
    const long = titleOf(`${"word ".repeat(40)}end`);
    expect(long.length).toBeLessThanOrEqual(120);
    expect(long.endsWith("word…")).toBe(true);
  });
});

function update(seq: number, more = false): IndexUpdate {
  return { seq, session: sessionRow(facts(), seq)!, messages: [], acks: [], more };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("the index writer", () => {
  it("acknowledges only a write that succeeded; a failure is logged and the next sync sends it again", async () => {
    const pending = [update(1)];
    const written: number[] = [];
    const acked: number[] = [];
    const logged: unknown[] = [];
    let fail = true;
    const w = new IndexWriter({
      collect: () => pending[0] ?? null,
      write: async (u) => {
        if (fail) throw new Error("down");
        written.push(u.seq);
      },
      acknowledge: (u) => {
        acked.push(u.seq);
        pending.shift();
      },
      log: (e) => logged.push(e),
    });
    await expect(w.sync()).resolves.toBeUndefined();
    expect({ written, acked, logged: logged.length }).toEqual({ written: [], acked: [], logged: 1 });
    fail = false;
    await w.sync();
    expect({ written, acked }).toEqual({ written: [1], acked: [1] });
  });

  it("runs one write at a time: syncs asked for during a write run once after it, and a backlog is written in a row", async () => {
    let inFlight = 0;
    let most = 0;
    let collected = 0;
    const releases: (() => void)[] = [];
    const w = new IndexWriter({
      collect: () => update(++collected, collected === 2), // the second says more is waiting
      write: async () => {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise<void>((r) => releases.push(r));
        inFlight--;
      },
      acknowledge: () => {},
      log: () => {},
    });
    const first = w.sync();
    await tick();
    expect(releases).toHaveLength(1);
    // Three requests during the first write: one more run, not three.
    const second = w.sync();
    const third = w.sync();
    const last = w.sync();
    releases.shift()!();
    await tick();
    await tick();
    expect(releases).toHaveLength(1);
    releases.shift()!(); // the second write said more: a third follows at once
    await tick();
    await tick();
    expect(releases).toHaveLength(1);
    releases.shift()!();
    await Promise.all([first, second, third, last]);
    expect({ collected, most }).toEqual({ collected: 3, most: 1 });
  });

  it("writes nothing on the caller's own turn: collect runs after the caller has moved on", async () => {
    const order: string[] = [];
    const w = new IndexWriter({
      collect: () => (order.push("collect"), null),
      write: async () => {},
      acknowledge: () => {},
      log: () => {},
    });
    const done = w.sync();
    order.push("caller");
    await done;
    expect(order).toEqual(["caller", "collect"]);
  });
});

describe("the session's ledger of what the index acknowledged", () => {
  function session() {
    const sql = nodeSqlStorage();
    const store = new ConversationStore(sql);
    const ledger = new ReviewIndexLedger(sql);
    const models = { stt: "stt", llm: "llm", tts: "tts" };
    const zero = { endpointingMs: 0, sttMs: 0, llmFirstTokenMs: null, firstAudioMs: null, ttsMs: 0, totalMs: 0, retries: 0 };
    const usage = { audioInSeconds: 0, promptTokens: 0, completionTokens: 0, ttsCharacters: 0, ttsAudioSeconds: 0, neurons: 2, usd: 0.5 };
    let n = 0;
    const turn = (userText: string, replyText: string, at: number) => {
      const turnId = `t${++n}`;
      const replyId = `r${n}`;
      store.startTurn({ turnId, replyId, source: "text", startedAt: at, models });
      store.addMessage({ role: "user", text: userText, status: "complete", source: "text", turnId, createdAt: at });
      store.addMessage({ role: "assistant", text: replyText, status: "complete", source: "text", turnId, replyId, createdAt: at + 10 });
      store.finishTurn({
        turnId,
        status: "complete",
        endReason: "completed",
        endedAt: at + 500,
        backend: "workers-ai",
        metrics: zero,
        usage,
      });
      return replyId;
    };
    return { sql, store, ledger, turn };
  }

  it("collects nothing before the first turn, then the summary and every message not yet acknowledged", () => {
    const { store, ledger, turn } = session();
    expect(collectUpdate(ledger, "s1", 10)).toBeNull();
    store.setSetting("owner-id", "owner1");
    turn("Hello there", "Hi!", 1000);
    const u = collectUpdate(ledger, "s1", 2000)!;
    expect(u.session).toMatchObject({
      id: "s1",
      owner: "id:owner1",
      title: "Hello there",
      startedAt: 1000,
      durationMs: 500,
      turns: 1,
      messages: 2,
      neurons: 2,
      usd: 0.5,
      backend: "workers-ai",
    });
    expect(u.messages.map((m) => [m.role, m.text])).toEqual([
      ["user", "Hello there"],
      ["assistant", "Hi!"],
    ]);
    ledger.acknowledge(u.acks);
    const next = collectUpdate(ledger, "s1", 3000)!;
    expect(next.messages).toEqual([]);
    expect(next.seq).toBeGreaterThan(u.seq);
  });

  it("sends a missed update's messages with the next, and a reply cut to what was heard again", () => {
    const { store, ledger, turn } = session();
    const firstReply = turn("First question", "A long answer that goes on", 1000);
    collectUpdate(ledger, "s1", 1600); // written? It failed: never acknowledged.
    turn("Second question", "Short", 2000);
    const healed = collectUpdate(ledger, "s1", 2600)!;
    expect(healed.messages.map((m) => m.text)).toEqual(["First question", "A long answer that goes on", "Second question", "Short"]);
    expect(healed.session.turns).toBe(2);
    ledger.acknowledge(healed.acks);
    store.markReplyHeard(firstReply, "A long answer");
    const cut = collectUpdate(ledger, "s1", 3000)!;
    expect(cut.messages.map((m) => [m.text, m.status])).toEqual([["A long answer", "interrupted"]]);
  });

  it("sends a long backlog in bounded writes, saying more is waiting", () => {
    const { ledger, turn } = session();
    for (let i = 0; i < 30; i++) turn(`q${i}`, `a${i}`, 1000 + i * 1000);
    const first = collectUpdate(ledger, "s1", 99_000)!;
    expect(first.messages).toHaveLength(50);
    expect(first.more).toBe(true);
    ledger.acknowledge(first.acks);
    const second = collectUpdate(ledger, "s1", 99_000)!;
    expect(second.messages.map((m) => m.text)).toEqual(["q25", "a25", "q26", "a26", "q27", "a27", "q28", "a28", "q29", "a29"]);
    expect(second.more).toBe(false);
  });
});

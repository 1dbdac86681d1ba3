// The review index relies on FTS5 in D1's SQLite: local D1 (workerd) must have it, with the schema's triggers.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

describe("review index database", () => {
  it("local D1 has FTS5: the migrations' triggers index inserted and updated message text", async () => {
    const db = env.REVIEW_INDEX;
    const session = `fts-${crypto.randomUUID()}`;
    await db
      .prepare(
        `INSERT INTO messages (session_id, message_id, role, kind, status, text, created_at) VALUES (?1, 1, 'user', 'turn', 'complete', ?2, 0)`,
      )
      .bind(session, "Tell me about the zeppelinfabrik in Friedrichshafen")
      .run();
    const hits = async (word: string) =>
      (
        await db
          .prepare(
            `SELECT m.session_id FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid WHERE messages_fts MATCH ?1 AND m.session_id = ?2`,
          )
          .bind(word, session)
          .all()
      ).results.length;
    expect(await hits("zeppelinfabrik")).toBe(1);
    await db.prepare(`UPDATE messages SET text = 'something else entirely' WHERE session_id = ?1`).bind(session).run();
    expect(await hits("zeppelinfabrik")).toBe(0);
    expect(await hits("entirely")).toBe(1);
  });
});

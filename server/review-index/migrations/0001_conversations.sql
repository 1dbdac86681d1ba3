-- The review index (D1 binding REVIEW_INDEX): one row per session and its messages, written by each
-- session's Durable Object after every turn (server/review-index/index-writer.ts), read by
-- GET /api/conversations. A session's own SQLite stays the record; this is a searchable copy.
-- Apply: `wrangler d1 migrations apply REVIEW_INDEX --local` (npm start and the tests do it) or --remote.

CREATE TABLE IF NOT EXISTS sessions (
  id TEXT PRIMARY KEY,
  -- "email:<Access email>" or "id:<owner id of an owner token>"; NULL for sessions created before owners were recorded (operator only)
  owner TEXT,
  title TEXT NOT NULL DEFAULT '',
  started_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL DEFAULT 0,
  turns INTEGER NOT NULL DEFAULT 0,
  interruptions INTEGER NOT NULL DEFAULT 0,
  messages INTEGER NOT NULL DEFAULT 0,
  neurons REAL NOT NULL DEFAULT 0,
  usd REAL NOT NULL DEFAULT 0,
  backend TEXT,
  mode TEXT,
  -- the writing session's update counter: an older update never overwrites a newer one
  seq INTEGER NOT NULL DEFAULT 0
);
-- Keyset pagination, newest first: everyone's (operator) and one owner's.
CREATE INDEX IF NOT EXISTS sessions_by_start ON sessions (started_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS sessions_by_owner ON sessions (owner, started_at DESC, id DESC);

CREATE TABLE IF NOT EXISTS messages (
  -- an explicit rowid: the full-text index refers to it, and VACUUM may renumber an implicit one
  id INTEGER PRIMARY KEY,
  session_id TEXT NOT NULL,
  message_id INTEGER NOT NULL,
  role TEXT NOT NULL,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  text TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  seq INTEGER NOT NULL DEFAULT 0,
  UNIQUE (session_id, message_id)
);

-- Full-text search over what either side said; the text lives once, in messages (external content).
CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(text, content = 'messages', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2');

CREATE TRIGGER IF NOT EXISTS messages_fts_insert AFTER INSERT ON messages BEGIN
  INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER IF NOT EXISTS messages_fts_delete AFTER DELETE ON messages BEGIN
  INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER IF NOT EXISTS messages_fts_update AFTER UPDATE OF text ON messages BEGIN
  INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
  INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text);
END;

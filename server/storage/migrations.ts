// Versioned schema of a session's SQLite database. Append new steps; never edit a shipped one.
export const MIGRATIONS: readonly string[] = [
  // 1: conversation, per-turn metrics and usage, session settings
  `CREATE TABLE messages (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
     text TEXT NOT NULL,
     planned_text TEXT,
     status TEXT NOT NULL CHECK (status IN ('complete', 'interrupted', 'failed')),
     source TEXT NOT NULL CHECK (source IN ('voice', 'text')),
     turn_id TEXT NOT NULL,
     reply_id TEXT,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE turns (
     turn_id TEXT PRIMARY KEY,
     reply_id TEXT NOT NULL UNIQUE,
     source TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('running', 'complete', 'interrupted', 'failed', 'no-speech')),
     started_at INTEGER NOT NULL,
     ended_at INTEGER,
     error_code TEXT,
     stt_model TEXT NOT NULL,
     llm_model TEXT NOT NULL,
     tts_model TEXT NOT NULL,
     backend TEXT,
     endpointing_ms REAL NOT NULL DEFAULT 0,
     stt_ms REAL NOT NULL DEFAULT 0,
     llm_first_token_ms REAL,
     first_audio_ms REAL,
     tts_ms REAL NOT NULL DEFAULT 0,
     total_ms REAL NOT NULL DEFAULT 0,
     retries INTEGER NOT NULL DEFAULT 0,
     audio_in_seconds REAL NOT NULL DEFAULT 0,
     prompt_tokens INTEGER NOT NULL DEFAULT 0,
     completion_tokens INTEGER NOT NULL DEFAULT 0,
     tts_characters INTEGER NOT NULL DEFAULT 0,
     tts_audio_seconds REAL NOT NULL DEFAULT 0,
     neurons REAL NOT NULL DEFAULT 0,
     usd REAL NOT NULL DEFAULT 0
   );
   CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
  // 2: the spoken segments of each reply, to work out what the user heard when playback stopped
  `CREATE TABLE segments (
     reply_id TEXT NOT NULL,
     idx INTEGER NOT NULL,
     text TEXT NOT NULL,
     duration_ms REAL NOT NULL,
     sent_at INTEGER NOT NULL,
     PRIMARY KEY (reply_id, idx)
   );`,
  // 3: interruptions that behave like a person: backchannels kept but not answered, why each turn
  // ended, and every barge-in candidate with its decision and what transcribing it cost
  `ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'turn' CHECK (kind IN ('turn', 'backchannel'));
   ALTER TABLE turns ADD COLUMN end_reason TEXT;
   CREATE TABLE interruptions (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     reply_id TEXT NOT NULL,
     turn_id TEXT NOT NULL,
     source TEXT NOT NULL,
     opened_at INTEGER NOT NULL,
     decided_at INTEGER NOT NULL,
     decision TEXT NOT NULL CHECK (decision IN ('confirmed', 'resumed')),
     reason TEXT NOT NULL,
     transcript TEXT NOT NULL DEFAULT '',
     segment INTEGER,
     played_ms REAL,
     stt_calls INTEGER NOT NULL DEFAULT 0,
     audio_in_seconds REAL NOT NULL DEFAULT 0,
     neurons REAL NOT NULL DEFAULT 0,
     usd REAL NOT NULL DEFAULT 0
   );`,
  // 4: how each turn's end was decided, whether its reply started speculatively, and the speculative
  // replies and end-of-turn model calls spent on it (their cost is already in the turn's neurons and usd)
  `ALTER TABLE turns ADD COLUMN end_of_turn TEXT;
   ALTER TABLE turns ADD COLUMN speculative INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE turns ADD COLUMN wasted_replies INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE turns ADD COLUMN wasted_completion_tokens INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE turns ADD COLUMN wasted_tts_audio_seconds REAL NOT NULL DEFAULT 0;
   ALTER TABLE turns ADD COLUMN wasted_neurons REAL NOT NULL DEFAULT 0;
   ALTER TABLE turns ADD COLUMN wasted_usd REAL NOT NULL DEFAULT 0;
   ALTER TABLE turns ADD COLUMN eot_calls INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE turns ADD COLUMN eot_neurons REAL NOT NULL DEFAULT 0;
   ALTER TABLE turns ADD COLUMN eot_usd REAL NOT NULL DEFAULT 0;`,
  // 5: nothing lost on a restart or deploy (server/turn/turn-recovery.ts): the user's utterance is kept
  // until its transcript is stored (PCM16 in chunks, each well under the 2 MB row limit), the clients'
  // latest playback report per reply, and which turn retries a reply a restart cut off (at most once)
  `CREATE TABLE pending_utterances (
     turn_id TEXT PRIMARY KEY,
     endpointing_ms REAL NOT NULL,
     end_of_turn TEXT,
     attempt INTEGER NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE utterance_chunks (
     turn_id TEXT NOT NULL,
     idx INTEGER NOT NULL,
     pcm BLOB NOT NULL,
     PRIMARY KEY (turn_id, idx)
   );
   CREATE TABLE playback_reports (
     reply_id TEXT PRIMARY KEY,
     segment INTEGER NOT NULL,
     played_ms REAL NOT NULL,
     state TEXT NOT NULL,
     at INTEGER NOT NULL
   );
   ALTER TABLE turns ADD COLUMN retry_of TEXT;
   ALTER TABLE turns ADD COLUMN retry TEXT CHECK (retry IN ('pending', 'started', 'skipped'));`,
  // 6: the review page's latency waterfall: when the stages on the way to first audio began (ms from the
  // end of the user's turn), and the client's own time to first audio (from its playback report)
  `ALTER TABLE turns ADD COLUMN stt_start_ms REAL;
   ALTER TABLE turns ADD COLUMN llm_start_ms REAL;
   ALTER TABLE turns ADD COLUMN first_chunk_ms REAL;
   ALTER TABLE turns ADD COLUMN client_first_audio_ms REAL;`,
  // 7: what the review index (D1) has acknowledged of each message — its status and text length as
  // written, so a new message or a reply cut to what was heard is sent again (server/review-index/)
  `CREATE TABLE review_index_acks (
     message_id INTEGER PRIMARY KEY,
     status TEXT NOT NULL,
     text_length INTEGER NOT NULL
   );`,
  // 8: the turn's recordings in R2 (server/recordings/): which exist, where, and when each was made
  // (the retention alarm deletes them RECORDING_RETENTION_DAYS later)
  `CREATE TABLE recordings (
     turn_id TEXT NOT NULL,
     kind TEXT NOT NULL CHECK (kind IN ('user', 'reply')),
     r2_key TEXT NOT NULL,
     content_type TEXT NOT NULL,
     bytes INTEGER NOT NULL,
     duration_ms REAL NOT NULL,
     created_at INTEGER NOT NULL,
     PRIMARY KEY (turn_id, kind)
   );
   CREATE INDEX recordings_by_age ON recordings (created_at);`,
  // 9: phone calls (server/phone/): when each call began and ended, how, who called (masked: the number
  // itself is never stored) and what the call's turns and greeting cost
  `CREATE TABLE phone_calls (
     call_sid TEXT PRIMARY KEY,
     caller TEXT NOT NULL,
     started_at INTEGER NOT NULL,
     ended_at INTEGER,
     end_reason TEXT,
     usd_before REAL NOT NULL,
     greeting_usd REAL NOT NULL DEFAULT 0,
     usd REAL
   );`,
];

/** Apply the steps this database has not seen yet, each in its own transaction. Returns the new version. */
export function migrate(storage: DurableObjectStorage): number {
  const sql = storage.sql;
  sql.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
  const row = sql.exec<{ version: number }>("SELECT version FROM schema_version").toArray()[0];
  let version = row?.version ?? 0;
  if (!row) sql.exec("INSERT INTO schema_version (version) VALUES (0)");
  while (version < MIGRATIONS.length) {
    const step = MIGRATIONS[version]!;
    storage.transactionSync(() => {
      sql.exec(step);
      sql.exec("UPDATE schema_version SET version = ?", version + 1);
    });
    version++;
  }
  return version;
}

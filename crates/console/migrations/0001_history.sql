-- The agent's own call history on this machine. Times are Unix milliseconds.
-- A row is written when a call starts and completed when it ends, so that a crash leaves a row
-- (with no end) that the next start marks abnormal.
CREATE TABLE calls (
    id             INTEGER PRIMARY KEY,
    call_id        TEXT    NOT NULL UNIQUE,
    -- Whose history: `user@server`, so that two accounts on one machine do not mix.
    account        TEXT    NOT NULL,
    direction      TEXT    NOT NULL CHECK (direction IN ('outgoing', 'incoming')),
    -- The other members, space-separated user ids.
    peers          TEXT    NOT NULL,
    media          TEXT    NOT NULL CHECK (media IN ('audio', 'video')),
    queue          INTEGER NOT NULL DEFAULT 0,
    business       TEXT,
    started_at     INTEGER NOT NULL,
    answered_at    INTEGER,
    ended_at       INTEGER,
    -- Last sign of life during the call: a crash's end time.
    alive_at       INTEGER,
    duration_ms    INTEGER,
    -- NULL while the call goes on; `abnormal` when the app died during it.
    end_code       TEXT,
    end_side       TEXT,
    recording_path TEXT,
    notes          TEXT    NOT NULL DEFAULT '',
    disposition    TEXT,
    -- The post-call quality summary (JSON).
    quality        TEXT
);
CREATE INDEX calls_by_time ON calls (account, started_at DESC);

CREATE TABLE messages (
    id        INTEGER PRIMARY KEY,
    call_id   TEXT    NOT NULL REFERENCES calls (call_id) ON DELETE CASCADE,
    at        INTEGER NOT NULL,
    from_user TEXT    NOT NULL,
    text      TEXT    NOT NULL
);
CREATE INDEX messages_by_call ON messages (call_id, at);

-- Full-text search over who, what about and what was said; rowid = calls.id. Kept in step by
-- the store in the same transaction as each write. Trigrams: substring search that works for
-- Chinese (no spaces between words) as well as for Latin scripts.
CREATE VIRTUAL TABLE calls_fts USING fts5 (
    peers, business, notes, disposition, messages,
    tokenize = 'trigram'
);

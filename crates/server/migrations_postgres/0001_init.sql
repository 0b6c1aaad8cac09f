-- PostgreSQL: the same schema as migrations/ (SQLite), integers as BIGINT (times are Unix
-- milliseconds). Keep the two directories in step: a test compares their tables.
-- Accounts of users, agents and admins (customers get tokens without accounts).
CREATE TABLE accounts (
    realm         TEXT    NOT NULL,
    user_id       TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    password_hash TEXT,
    display_name  TEXT,
    disabled      BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (realm, user_id)
);

-- One row per call, written when it ends; times are Unix milliseconds.
CREATE TABLE calls (
    call_id     TEXT    PRIMARY KEY,
    realm       TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    media       TEXT    NOT NULL,
    from_user   TEXT    NOT NULL,
    created_at  BIGINT NOT NULL,
    answered_at BIGINT,
    ended_at    BIGINT NOT NULL,
    end_code    TEXT    NOT NULL,
    end_side    TEXT    NOT NULL,
    business    TEXT,
    priority    BIGINT,
    wait_ms     BIGINT,
    agent       TEXT
);
CREATE INDEX calls_by_time ON calls (realm, created_at);

-- One row per member's part in a call (legs), written when that part ends.
CREATE TABLE call_legs (
    call_id    TEXT    NOT NULL,
    realm      TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    role       TEXT    NOT NULL,
    invited_at BIGINT NOT NULL,
    joined_at  BIGINT,
    left_at    BIGINT NOT NULL,
    end_code   TEXT    NOT NULL,
    end_side   TEXT    NOT NULL
);
CREATE INDEX call_legs_by_call ON call_legs (call_id);

-- What agents recorded at the end of wrap-up.
CREATE TABLE wrap_ups (
    call_id     TEXT    NOT NULL,
    realm       TEXT    NOT NULL,
    agent       TEXT    NOT NULL,
    disposition TEXT,
    notes       TEXT,
    at          BIGINT NOT NULL
);
CREATE INDEX wrap_ups_by_call ON wrap_ups (call_id);

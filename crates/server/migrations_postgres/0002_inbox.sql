-- Direct messages: every one, delivered or waiting for the recipient's next sign-in.
CREATE TABLE messages (
    msg_id    TEXT    PRIMARY KEY,
    realm     TEXT    NOT NULL,
    from_user TEXT    NOT NULL,
    to_user   TEXT    NOT NULL,
    seq       BIGINT NOT NULL,
    body      TEXT    NOT NULL,
    sent_at   BIGINT NOT NULL,
    delivered BIGINT NOT NULL
);
CREATE INDEX messages_waiting ON messages (realm, to_user) WHERE delivered = 0;

-- Calls that reached a user while no device of theirs was signed in.
CREATE TABLE missed_calls (
    realm     TEXT    NOT NULL,
    user_id   TEXT    NOT NULL,
    call_id   TEXT    NOT NULL,
    from_user TEXT    NOT NULL,
    media     TEXT    NOT NULL,
    at        BIGINT NOT NULL,
    end_code  TEXT    NOT NULL,
    end_side  TEXT    NOT NULL,
    delivered BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX missed_calls_waiting ON missed_calls (realm, user_id) WHERE delivered = 0;

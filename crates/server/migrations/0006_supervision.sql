-- Teams: a supervisor with a team sees and acts on the agents of that team only; without one,
-- on the whole realm's.
ALTER TABLE accounts ADD COLUMN team TEXT;

-- The audit of supervision: one row per stretch of a mode (listen, whisper, barge) of a
-- supervisor in an agent's customer call; `monitor_call` is the call between the two.
CREATE TABLE supervision (
    monitor_call  TEXT   NOT NULL,
    customer_call TEXT   NOT NULL,
    realm         TEXT   NOT NULL,
    supervisor    TEXT   NOT NULL,
    agent         TEXT   NOT NULL,
    mode          TEXT   NOT NULL,
    started_at    BIGINT NOT NULL,
    ended_at      BIGINT NOT NULL
);
CREATE INDEX supervision_agent ON supervision (realm, agent, started_at);

-- Holds in a call: how many, and how long in all (ms).
ALTER TABLE calls ADD COLUMN hold_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN hold_ms BIGINT NOT NULL DEFAULT 0;

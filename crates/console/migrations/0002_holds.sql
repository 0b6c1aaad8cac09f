-- Holds in the call (by either side): how many, and how long in all (ms).
ALTER TABLE calls ADD COLUMN hold_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN hold_ms INTEGER NOT NULL DEFAULT 0;

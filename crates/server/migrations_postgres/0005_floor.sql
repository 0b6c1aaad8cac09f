-- The contact-center floor in a call's record: holds (how many, how long in all, ms), the last
-- transfer of a customer call (`warm` after a consult, `cold` blind), and who the agents
-- consulted about it (space-separated user ids, in order).
ALTER TABLE calls ADD COLUMN hold_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN hold_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN transfer TEXT;
ALTER TABLE calls ADD COLUMN consulted TEXT;

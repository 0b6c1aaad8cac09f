-- The contact-center floor in the history: holds in the call (by either side: how many, and
-- how long in all, ms), and for a consult the customer call it was about.
ALTER TABLE calls ADD COLUMN hold_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN hold_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN consult_of TEXT;

-- Teams: a supervisor with a team sees and acts on the agents of that team only; without one,
-- on the whole realm's.
ALTER TABLE accounts ADD COLUMN team TEXT;

-- How far a cluster's log has been written as records: the record writer's mark, committed in
-- the same transaction as the records it covers, so a new writer after a failover starts
-- exactly where the old one stopped.
CREATE TABLE cluster_marks (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

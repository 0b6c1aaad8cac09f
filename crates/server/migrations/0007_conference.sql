-- Who the agents brought into a customer call as a conference (a consult joined with the
-- customer), space-separated user ids, in order.
ALTER TABLE calls ADD COLUMN conferenced TEXT;

-- What an administrator assigns to an account, never its client: the priority of its own calls
-- into a queue, and for agents the businesses they serve (with their levels). A message or
-- missed call dropped undelivered (more waited than the server keeps) has delivered = 2.
ALTER TABLE accounts ADD COLUMN queue_priority BIGINT NOT NULL DEFAULT 0;

-- Tokens signed in before this time (Unix seconds) are refused: set when the password or the
-- role changes and when the account is disabled, so that those sign everything out for good.
ALTER TABLE accounts ADD COLUMN tokens_after BIGINT NOT NULL DEFAULT 0;

CREATE TABLE account_skills (
    realm    TEXT    NOT NULL,
    user_id  TEXT    NOT NULL,
    business TEXT    NOT NULL,
    level    BIGINT NOT NULL,
    PRIMARY KEY (realm, user_id, business)
);

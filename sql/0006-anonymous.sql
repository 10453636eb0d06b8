-- Anonymous suggestions and co-signs (DESIGN §3): spent tokens, tracking
-- codes, anonymous co-signs. None of these tables has a column that could
-- name a person, and none records a time.

-- A token is accepted once: the hash of (key id, input) is unique. No time
-- and no link to what it was spent on.
CREATE TABLE spent_tokens (
    token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32)
);

-- The holder of a code follows one anonymous suggestion; only the code's
-- hash is kept.
CREATE TABLE tracking_codes (
    code_hash     bytea PRIMARY KEY CHECK (length(code_hash) = 32),
    suggestion_id bigint NOT NULL UNIQUE REFERENCES suggestions (id)
);

-- Anonymous co-signs: one row per spent token, counted with the named ones.
CREATE TABLE anonymous_cosigns (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    suggestion_id bigint NOT NULL REFERENCES suggestions (id)
);
CREATE TRIGGER anonymous_cosigns_count AFTER INSERT OR DELETE ON anonymous_cosigns
    FOR EACH ROW EXECUTE FUNCTION cosigns_count();

-- Spent tokens are forever, for every writer but the owner's maintenance.
REVOKE ALL ON spent_tokens FROM yijian_app;
GRANT SELECT, INSERT ON spent_tokens TO yijian_app;
REVOKE UPDATE, DELETE ON tracking_codes, anonymous_cosigns FROM yijian_app;

-- The promise of DESIGN §3 in the schema: an anonymous action's audit row
-- carries no more than its hour.
ALTER TABLE audit_log ADD CONSTRAINT audit_log_anonymous_hour
    CHECK (actor_kind <> 'anonymous' OR at = date_trunc('hour', at));

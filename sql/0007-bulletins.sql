-- Bulletins (DESIGN §2 "Bulletin", docs/bulletins.md): the signed,
-- immutable publications of a unit's answered suggestions. A correction is
-- a new bulletin naming the one it corrects; a stored one never changes.

-- The id is taken before the row is written, because the signed content
-- names it.
CREATE SEQUENCE bulletins_id_seq AS bigint;

CREATE TABLE bulletins (
    id            bigint PRIMARY KEY DEFAULT nextval('bulletins_id_seq'),
    unit_id       bigint NOT NULL REFERENCES org_units (id),
    seq           int NOT NULL CHECK (seq >= 1),
    corrects      bigint REFERENCES bulletins (id),
    period_from   timestamptz NOT NULL,
    period_to     timestamptz NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    -- the canonical document, as signed (its canonical JSON is what the
    -- signature covers; jsonb keeps the values, not the bytes)
    content       jsonb NOT NULL,
    signature     bytea NOT NULL CHECK (length(signature) = 64),
    checkpoint_seq  bigint,
    checkpoint_hash bytea CHECK (length(checkpoint_hash) = 32),
    UNIQUE (unit_id, seq),
    CHECK (period_from <= period_to),
    CHECK ((checkpoint_seq IS NULL) = (checkpoint_hash IS NULL))
);
ALTER SEQUENCE bulletins_id_seq OWNED BY bulletins.id;
CREATE INDEX bulletins_unit ON bulletins (unit_id, id DESC);

-- Immutable for everyone, the owner included.
CREATE TRIGGER bulletins_no_update_delete
    BEFORE UPDATE OR DELETE ON bulletins
    FOR EACH ROW EXECUTE FUNCTION audit_insert_only();
CREATE TRIGGER bulletins_no_truncate
    BEFORE TRUNCATE ON bulletins
    FOR EACH STATEMENT EXECUTE FUNCTION audit_insert_only();

REVOKE ALL ON bulletins FROM yijian_app;
GRANT SELECT, INSERT ON bulletins TO yijian_app;
GRANT USAGE, SELECT ON SEQUENCE bulletins_id_seq TO yijian_app;

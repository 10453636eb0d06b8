-- The audit log's hash chain and its signed checkpoints (DESIGN §2 "Audit
-- log"; the design and the byte encodings are in docs/audit.md). Written
-- only by the sealer (domain/audit_chain.c), read by verification
-- (domain/audit_verify.c). Insert-only for everyone, like audit_log.

-- One link per sealed audit row, in the order the sealer saw the rows:
-- hash = BLAKE2b-256(previous link's hash || canonical encoding of the row).
-- No foreign key to audit_log: a sealed row that disappears must be found
-- and named by verification, not hidden by a cascade or blocked by a
-- constraint someone with the rights to delete could drop as well.
CREATE TABLE audit_chain (
    seq      bigint PRIMARY KEY CHECK (seq > 0),
    audit_id bigint NOT NULL UNIQUE,
    hash     bytea NOT NULL CHECK (length(hash) = 32)
);

-- The head of the chain after each sealed batch, signed with the service's
-- Ed25519 key over "yijian audit checkpoint" || seq || hash || horizon.
-- horizon: every audit id up to it was final (committed or rolled back for
-- good) and sealed when the checkpoint was made; an unsealed row at or
-- below it was inserted afterwards. next_horizon and next_xid are the
-- sealer's candidate for the next horizon (docs/audit.md, "Rows that commit
-- out of order"); they are not signed: a wrong candidate can only hold the
-- horizon back or make rows look forged, never hide one.
CREATE TABLE audit_checkpoints (
    seq          bigint PRIMARY KEY CHECK (seq > 0),
    hash         bytea NOT NULL CHECK (length(hash) = 32),
    horizon      bigint NOT NULL CHECK (horizon >= 0),
    next_horizon bigint NOT NULL CHECK (next_horizon >= 0),
    next_xid     xid8 NOT NULL,
    signature    bytea NOT NULL CHECK (length(signature) = 64),
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- Insert-only, for everyone, the owner included.
CREATE FUNCTION audit_insert_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is insert-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_chain_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_chain
    FOR EACH ROW EXECUTE FUNCTION audit_insert_only();
CREATE TRIGGER audit_chain_no_truncate
    BEFORE TRUNCATE ON audit_chain
    FOR EACH STATEMENT EXECUTE FUNCTION audit_insert_only();
CREATE TRIGGER audit_checkpoints_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_insert_only();
CREATE TRIGGER audit_checkpoints_no_truncate
    BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_insert_only();

-- The chain grows by one link at a time from seq 1, whoever writes it, so
-- that a gap in it can only be a deletion.
CREATE FUNCTION audit_chain_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.seq <> coalesce((SELECT max(seq) FROM audit_chain), 0) + 1 THEN
        RAISE EXCEPTION 'audit_chain: seq % is not the next link', NEW.seq
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_chain_append
    BEFORE INSERT ON audit_chain
    FOR EACH ROW EXECUTE FUNCTION audit_chain_append_only();

-- A checkpoint names a link that exists, with the hash it has, after the
-- previous checkpoint.
CREATE FUNCTION audit_checkpoint_matches_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM audit_chain WHERE seq = NEW.seq AND hash = NEW.hash) THEN
        RAISE EXCEPTION 'audit_checkpoints: seq % does not name a link with that hash', NEW.seq
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.seq <= coalesce((SELECT max(seq) FROM audit_checkpoints), 0) THEN
        RAISE EXCEPTION 'audit_checkpoints: seq % is not past the last checkpoint', NEW.seq
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_checkpoints_append
    BEFORE INSERT ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_checkpoint_matches_chain();

REVOKE ALL ON audit_chain, audit_checkpoints FROM yijian_app;
GRANT SELECT, INSERT ON audit_chain, audit_checkpoints TO yijian_app;

-- GET /v1/audit?actor_id=: one account's actions, in order.
CREATE INDEX audit_log_actor ON audit_log (actor_id, id) WHERE actor_id IS NOT NULL;

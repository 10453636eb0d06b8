-- The chain's "one link at a time from seq 1" check (0005), once per
-- statement instead of once per row (issue 10, docs/performance.md
-- "Sealing"): the row trigger ran a plpgsql call and a max(seq) lookup for
-- every link, about half of what PostgreSQL spent sealing. The rule is the
-- same: the links a statement adds must be consecutive, follow a link that
-- exists (or start at 1), and nothing may come after them. seq is the
-- primary key, so consecutive means max - min + 1 = count. (max(seq), not
-- EXISTS (seq > hi): the planner walked the whole table for the latter.)
DROP TRIGGER audit_chain_append ON audit_chain;
DROP FUNCTION audit_chain_append_only();

CREATE FUNCTION audit_chain_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    lo bigint;
    hi bigint;
    n  bigint;
BEGIN
    SELECT min(seq), max(seq), count(*) INTO lo, hi, n FROM new_links;
    IF n = 0 THEN
        RETURN NULL;
    END IF;
    IF hi - lo + 1 <> n
       OR (SELECT max(seq) FROM audit_chain) <> hi
       OR (lo > 1 AND NOT EXISTS (SELECT 1 FROM audit_chain WHERE seq = lo - 1)) THEN
        RAISE EXCEPTION 'audit_chain: seq % to % is not the next link', lo, hi
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER audit_chain_append
    AFTER INSERT ON audit_chain
    REFERENCING NEW TABLE AS new_links
    FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_append_only();

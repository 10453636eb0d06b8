-- Performance (issue 10, docs/performance.md): routing reads a maintained
-- count of open suggestions per assignee instead of counting them, and
-- free-text search finds two-character Chinese words through an index.

-- ---- open suggestions per assignee -----------------------------------------
-- Routing gives a new suggestion to the least-loaded candidate. Counting
-- each candidate's open suggestions on every submission grows with the
-- backlog (docs/performance.md: 699 -> 244 submissions/s as it piled up);
-- this count is kept by the triggers below, whoever writes suggestions.
CREATE TABLE assignee_open (
    account_id bigint PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    open       bigint NOT NULL CHECK (open >= 0)
);
INSERT INTO assignee_open (account_id, open)
SELECT assignee_id, count(*) FROM suggestions
WHERE assignee_id IS NOT NULL AND status IN ('submitted', 'accepted')
GROUP BY assignee_id;

-- One statement's change, from its transition tables: what left the
-- count (old rows that were open) and what entered it (new rows that are).
-- Per statement, so that a bulk change costs one pass, and in a stable
-- order of accounts, so that concurrent statements do not deadlock.
CREATE FUNCTION assignee_open_apply() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO assignee_open AS a (account_id, open)
        SELECT assignee_id, count(*) FROM new_rows
        WHERE assignee_id IS NOT NULL AND status IN ('submitted', 'accepted')
        GROUP BY assignee_id ORDER BY assignee_id
        ON CONFLICT (account_id) DO UPDATE SET open = a.open + EXCLUDED.open;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE assignee_open a SET open = a.open - d.n
        FROM (SELECT assignee_id, count(*) AS n FROM old_rows
              WHERE assignee_id IS NOT NULL AND status IN ('submitted', 'accepted')
              GROUP BY assignee_id ORDER BY assignee_id) d
        WHERE a.account_id = d.assignee_id;
    ELSE
        WITH d AS (
            SELECT assignee_id AS id, 1 AS n FROM new_rows
            WHERE assignee_id IS NOT NULL AND status IN ('submitted', 'accepted')
            UNION ALL
            SELECT assignee_id, -1 FROM old_rows
            WHERE assignee_id IS NOT NULL AND status IN ('submitted', 'accepted')),
        s AS (SELECT id, sum(n)::bigint AS n FROM d GROUP BY id HAVING sum(n) <> 0),
        -- A row to lower exists (it was raised when the suggestion opened);
        -- the CHECK applies to an INSERT's proposed row even when it
        -- conflicts, so only rows to raise may be inserted.
        u AS (UPDATE assignee_open a SET open = a.open + s.n FROM s
              WHERE a.account_id = s.id RETURNING a.account_id)
        INSERT INTO assignee_open AS a (account_id, open)
        SELECT id, n FROM s WHERE n > 0 AND id NOT IN (SELECT account_id FROM u) ORDER BY id
        ON CONFLICT (account_id) DO UPDATE SET open = a.open + EXCLUDED.open;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER suggestions_open_insert AFTER INSERT ON suggestions
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION assignee_open_apply();
CREATE TRIGGER suggestions_open_update AFTER UPDATE ON suggestions
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION assignee_open_apply();
CREATE TRIGGER suggestions_open_delete AFTER DELETE ON suggestions
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION assignee_open_apply();

-- The service reads it; only the trigger (as the owner) writes it.
REVOKE ALL ON assignee_open FROM yijian_app;
GRANT SELECT ON assignee_open TO yijian_app;
REVOKE ALL ON FUNCTION assignee_open_apply() FROM PUBLIC;

-- ---- free-text search ------------------------------------------------------
-- pg_trgm indexes three-character trigrams: a two-character Chinese word
-- (食堂, 电梯) has none, so its LIKE scanned every row. The characters'
-- pairs (bigrams) of the text go into a GIN index instead; a query's
-- bigrams must all be there (the index), then LIKE decides (the recheck).
-- Every string of two or more characters has a bigram, so this serves
-- every search the trigram index served, and two-character ones too.
CREATE FUNCTION text_bigrams(t text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT substr(t, i, 2)), '{}')
    FROM generate_series(1, char_length(t) - 1) i
$$;
DROP INDEX suggestions_text_trgm;
CREATE INDEX suggestions_text_bigrams ON suggestions
    USING gin (text_bigrams(title || ' ' || body));

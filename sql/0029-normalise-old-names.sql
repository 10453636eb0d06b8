-- Names stored before sql/0013 (issue 25): 0013 holds every new or
-- changed name to one spelling, but left older rows as they were, so a
-- unit, portfolio or category named with a full-width space before then
-- still has a look-alike made from the normal spelling (a roster with the
-- plain name finds no match and makes a second one). This renames each
-- such row to its normal spelling where that is safe, once, and keeps a
-- record of each row it renamed or left (name_normalisations):
--  - renamed: nothing else under the same parent (unit) or in the same
--    unit (portfolio, category) has, or would get, that spelling;
--  - kept, look-alike: something does. The two are not merged: a merge
--    would move members, suggestions, assignments and their history from
--    one row to another, which nobody can undo and nobody asked for. The
--    secretary retires the wrong one (停用, with its preview) after moving
--    its members (README.md, the roster section);
--  - kept, separator: a portfolio whose name holds '；', which the normal
--    spelling turns into the roster's separator ';' (two portfolios);
--  - kept, blank: a name of nothing but spaces (no spelling to give it).
-- A category's portfolio (a name, not a key) follows its portfolio:
-- normalised only when no portfolio of the old spelling remains; and as
-- 0013 checks a category's name and portfolio together, both change or
-- neither (the other kept "with its name" or "with its portfolio").
-- Display names of accounts are normalised too (they are not keys).
-- The rules are those of util/text.c (text_normalize); name_normalized is
-- its SQL twin, tested against it in tests/blackbox/database.test.mjs.

CREATE FUNCTION name_normalized(s text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT btrim(regexp_replace(
        translate(regexp_replace(s, '[\u00ad\u200b-\u200d\u2060\ufeff]', '', 'g'),
                  '０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ；／',
                  '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz;/'),
        '[ \u3000\u00a0\u2000-\u200a\u202f\u205f]+', ' ', 'g'), ' ')
$$;

CREATE TABLE name_normalisations (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    object_type text NOT NULL CHECK (object_type IN ('unit', 'portfolio', 'category',
                                                     'category.portfolio', 'account')),
    object_id   bigint NOT NULL,
    before      text NOT NULL,
    after       text NOT NULL,
    outcome     text NOT NULL CHECK (outcome IN ('renamed', 'kept: look-alike',
                                                 'kept: separator', 'kept: blank',
                                                 'kept: with its name',
                                                 'kept: with its portfolio')),
    at          timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON name_normalisations FROM PUBLIC;
REVOKE ALL ON name_normalisations FROM yijian_app;

-- One pass; a second finds nothing left to rename (the kept rows are
-- recorded again only if it is run again by hand).
CREATE FUNCTION normalise_old_names() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    clash boolean;
    why_name text;
    why_port text;
BEGIN
    FOR r IN SELECT id, parent_id, name, name_normalized(name) AS normal
             FROM org_units WHERE NOT name_is_normal(name) ORDER BY id LOOP
        clash := EXISTS (SELECT 1 FROM org_units o WHERE o.id <> r.id
                         AND o.parent_id IS NOT DISTINCT FROM r.parent_id
                         AND (o.name = r.normal OR name_normalized(o.name) = r.normal));
        IF NOT clash AND r.normal <> '' THEN
            UPDATE org_units SET name = r.normal WHERE id = r.id;
        END IF;
        INSERT INTO name_normalisations (object_type, object_id, before, after, outcome)
        VALUES ('unit', r.id, r.name, r.normal,
                CASE WHEN r.normal = '' THEN 'kept: blank' WHEN clash THEN 'kept: look-alike' ELSE 'renamed' END);
    END LOOP;

    FOR r IN SELECT id, unit_id, name, name_normalized(name) AS normal
             FROM portfolios WHERE NOT name_is_normal(name) ORDER BY id LOOP
        clash := EXISTS (SELECT 1 FROM portfolios o WHERE o.id <> r.id AND o.unit_id = r.unit_id
                         AND (o.name = r.normal OR name_normalized(o.name) = r.normal));
        IF position(';' IN r.normal) > 0 THEN
            INSERT INTO name_normalisations (object_type, object_id, before, after, outcome)
            VALUES ('portfolio', r.id, r.name, r.normal, 'kept: separator');
            CONTINUE;
        END IF;
        IF NOT clash AND r.normal <> '' THEN
            UPDATE portfolios SET name = r.normal WHERE id = r.id;
        END IF;
        INSERT INTO name_normalisations (object_type, object_id, before, after, outcome)
        VALUES ('portfolio', r.id, r.name, r.normal,
                CASE WHEN r.normal = '' THEN 'kept: blank' WHEN clash THEN 'kept: look-alike' ELSE 'renamed' END);
    END LOOP;

    -- A category's name and portfolio are checked together (0013): both
    -- are given their normal spelling, or neither.
    FOR r IN SELECT id, unit_id, name, portfolio, name_normalized(name) AS nn,
                    name_normalized(portfolio) AS np
             FROM categories WHERE NOT name_is_normal(name) OR NOT name_is_normal(portfolio)
             ORDER BY id LOOP
        why_name := CASE WHEN name_is_normal(r.name) THEN NULL
            WHEN r.nn = '' THEN 'kept: blank'
            WHEN EXISTS (SELECT 1 FROM categories o WHERE o.id <> r.id AND o.unit_id = r.unit_id
                         AND (o.name = r.nn OR name_normalized(o.name) = r.nn))
                THEN 'kept: look-alike' END;
        why_port := CASE WHEN name_is_normal(r.portfolio) THEN NULL
            WHEN r.np = '' THEN 'kept: blank'
            WHEN EXISTS (SELECT 1 FROM portfolios p WHERE p.name = r.portfolio)
                THEN 'kept: look-alike' END;
        IF why_name IS NULL AND why_port IS NULL THEN
            UPDATE categories SET name = r.nn, portfolio = r.np WHERE id = r.id;
        END IF;
        IF NOT name_is_normal(r.name) THEN
            INSERT INTO name_normalisations (object_type, object_id, before, after, outcome)
            VALUES ('category', r.id, r.name, r.nn, coalesce(why_name, CASE WHEN why_port IS NULL
                    THEN 'renamed' ELSE 'kept: with its portfolio' END));
        END IF;
        IF NOT name_is_normal(r.portfolio) THEN
            INSERT INTO name_normalisations (object_type, object_id, before, after, outcome)
            VALUES ('category.portfolio', r.id, r.portfolio, r.np, coalesce(why_port, CASE WHEN
                    why_name IS NULL THEN 'renamed' ELSE 'kept: with its name' END));
        END IF;
    END LOOP;

    FOR r IN SELECT id, display_name, name_normalized(display_name) AS normal
             FROM accounts WHERE NOT name_is_normal(display_name) ORDER BY id LOOP
        IF r.normal <> '' THEN
            UPDATE accounts SET display_name = r.normal WHERE id = r.id;
        END IF;
        INSERT INTO name_normalisations (object_type, object_id, before, after, outcome)
        VALUES ('account', r.id, r.display_name, r.normal,
                CASE WHEN r.normal = '' THEN 'kept: blank' ELSE 'renamed' END);
    END LOOP;
END $$;
REVOKE ALL ON FUNCTION normalise_old_names() FROM PUBLIC;

SELECT normalise_old_names();

-- Names are stored in one spelling (util/text.h): no full-width or other
-- Unicode space, no zero-width character, no full-width digit, Latin letter,
-- '；' or '／', no run of spaces, nothing to trim. The service normalises
-- every name it is given (the roster import, the API); these checks hold
-- every other writer to the same rule, so that a look-alike unit,
-- portfolio or category cannot be made by an invisible character.
-- NOT VALID: rows written before are left as they are (their history
-- stays); every new or changed row is checked.
CREATE FUNCTION name_is_normal(s text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT s = btrim(s)
       AND position('  ' IN s) = 0
       AND s !~ '[\u3000\u00a0\u2000-\u200d\u202f\u205f\u2060\ufeff\u00ad\uff0f\uff10-\uff19\uff1b\uff21-\uff3a\uff41-\uff5a]'
$$;

ALTER TABLE org_units ADD CONSTRAINT org_units_name_normal CHECK (name_is_normal(name)) NOT VALID;
ALTER TABLE portfolios ADD CONSTRAINT portfolios_name_normal
    CHECK (name_is_normal(name) AND position(';' IN name) = 0) NOT VALID;
ALTER TABLE categories ADD CONSTRAINT categories_name_normal
    CHECK (name_is_normal(name) AND name_is_normal(portfolio)) NOT VALID;
ALTER TABLE accounts ADD CONSTRAINT accounts_display_name_normal
    CHECK (name_is_normal(display_name)) NOT VALID;

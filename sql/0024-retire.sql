-- Retiring (停用) a unit, a portfolio or a category that was made by
-- mistake (issue 25). Nothing is deleted: the suggestions, memberships,
-- assignments and audit rows that name it stay and still show it. A
-- retired item takes nothing new, whoever writes: no new suggestion in a
-- retired unit or category, no new member, sub-unit, portfolio or
-- category in a retired unit, no committee member newly given a retired
-- portfolio, and routing passes over a retired portfolio (the service
-- answers these first, clearly; the rules here hold for every writer). A
-- unit is retired only after its sub-units. A retired item can be brought
-- back (retired_at NULL again): a name stays taken while it is retired.
ALTER TABLE org_units ADD COLUMN retired_at timestamptz;
ALTER TABLE portfolios ADD COLUMN retired_at timestamptz;
ALTER TABLE categories ADD COLUMN retired_at timestamptz;

CREATE FUNCTION refuse_retired(what text, retired boolean) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF retired THEN
        RAISE EXCEPTION '% is retired', what USING ERRCODE = 'check_violation';
    END IF;
END $$;

-- A new suggestion: its unit and its category.
CREATE FUNCTION suggestions_refuse_retired() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refuse_retired('the unit', EXISTS (SELECT 1 FROM org_units
        WHERE id = NEW.unit_id AND retired_at IS NOT NULL));
    PERFORM refuse_retired('the category', EXISTS (SELECT 1 FROM categories
        WHERE id = NEW.category_id AND retired_at IS NOT NULL));
    RETURN NEW;
END $$;
CREATE TRIGGER suggestions_refuse_retired BEFORE INSERT ON suggestions
    FOR EACH ROW EXECUTE FUNCTION suggestions_refuse_retired();

-- Whatever is added to a unit: members, portfolios, categories.
CREATE FUNCTION unit_refuse_retired() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refuse_retired('the unit', EXISTS (SELECT 1 FROM org_units
        WHERE id = NEW.unit_id AND retired_at IS NOT NULL));
    RETURN NEW;
END $$;
CREATE FUNCTION memberships_refuse_retired() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refuse_retired('the unit', EXISTS (SELECT 1 FROM org_units
        WHERE id = NEW.unit_id AND retired_at IS NOT NULL)
        AND NOT EXISTS (SELECT 1 FROM memberships WHERE account_id = NEW.account_id
            AND unit_id = NEW.unit_id AND role = NEW.role));
    RETURN NEW;
END $$;
CREATE TRIGGER memberships_refuse_retired BEFORE INSERT ON memberships
    FOR EACH ROW EXECUTE FUNCTION memberships_refuse_retired();
CREATE TRIGGER portfolios_refuse_retired BEFORE INSERT ON portfolios
    FOR EACH ROW EXECUTE FUNCTION unit_refuse_retired();
CREATE TRIGGER categories_refuse_retired BEFORE INSERT ON categories
    FOR EACH ROW EXECUTE FUNCTION unit_refuse_retired();

CREATE FUNCTION committee_portfolios_refuse_retired() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- (a row that exists already is no new holder: ON CONFLICT DO NOTHING)
    PERFORM refuse_retired('the portfolio', EXISTS (SELECT 1 FROM portfolios
        WHERE id = NEW.portfolio_id AND retired_at IS NOT NULL)
        AND NOT EXISTS (SELECT 1 FROM committee_portfolios
            WHERE account_id = NEW.account_id AND portfolio_id = NEW.portfolio_id));
    RETURN NEW;
END $$;
CREATE TRIGGER committee_portfolios_refuse_retired BEFORE INSERT ON committee_portfolios
    FOR EACH ROW EXECUTE FUNCTION committee_portfolios_refuse_retired();

-- The tree: no sub-unit made, moved or brought back under a retired
-- unit, and no unit retired while a sub-unit of it is in use.
CREATE FUNCTION org_units_refuse_retired() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.parent_id IS NOT NULL AND NEW.retired_at IS NULL
       AND (TG_OP = 'INSERT' OR NEW.parent_id IS DISTINCT FROM OLD.parent_id
            OR OLD.retired_at IS NOT NULL) THEN
        PERFORM refuse_retired('the parent unit', EXISTS (SELECT 1 FROM org_units
            WHERE id = NEW.parent_id AND retired_at IS NOT NULL));
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.retired_at IS NULL AND NEW.retired_at IS NOT NULL
       AND EXISTS (SELECT 1 FROM org_units WHERE parent_id = NEW.id AND retired_at IS NULL) THEN
        RAISE EXCEPTION 'a unit with sub-units in use cannot be retired' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER org_units_refuse_retired BEFORE INSERT OR UPDATE ON org_units
    FOR EACH ROW EXECUTE FUNCTION org_units_refuse_retired();

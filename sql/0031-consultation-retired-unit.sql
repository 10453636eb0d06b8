-- A retired unit (sql/0024) is kept for its history: it neither drafts
-- nor opens a consultation (issue 23). A consultation already open runs
-- to its close and keeps its results.
CREATE FUNCTION consultations_unit_check() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF (TG_OP = 'INSERT' OR (OLD.status = 'draft' AND NEW.status = 'open'))
       AND (SELECT retired_at FROM org_units WHERE id = NEW.unit_id) IS NOT NULL THEN
        RAISE EXCEPTION 'consultation of unit %: the unit is retired', NEW.unit_id
            USING ERRCODE = 'check_violation', HINT = 'retired';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER consultations_unit_check
    BEFORE INSERT OR UPDATE OF status ON consultations
    FOR EACH ROW EXECUTE FUNCTION consultations_unit_check();

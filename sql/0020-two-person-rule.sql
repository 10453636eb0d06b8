-- The two-person rule as a control (issue 22, finding 3): an answer is
-- published only after someone other than its drafter approved it, and
-- that someone may not be an account the drafter created or gave a new
-- activation code within the cooling-off period (a puppet, or a peer taken
-- over by reset). Turning a unit's requires_approval off names who did it,
-- and the waiver does not count for that person's drafts (nor for the
-- drafts of whoever made that person). The rules are here, for every
-- writer; the service checks the same first to answer clearly.

-- Who turned the unit's approval off (NULL while it is on, and for units
-- turned off before this rule: nobody is recorded for those).
ALTER TABLE org_units ADD COLUMN approval_off_by bigint REFERENCES accounts (id);

-- Was account `made` created, or given a new activation code, by `maker`
-- within the cooling-off period? Read from the audit trail, which is
-- insert-only and written in the same transaction as the act. The period
-- is the transaction's setting yijian.approval_cooling_off (seconds; the
-- service sets it from APPROVAL_COOLING_OFF), 14 days for any other
-- writer.
CREATE FUNCTION account_made_by(made bigint, maker bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT made IS NOT NULL AND maker IS NOT NULL AND EXISTS (
        SELECT 1 FROM audit_log l
        WHERE l.object_type = 'account' AND l.object_id = made::text
          AND l.actor_kind = 'account' AND l.actor_id = maker
          AND l.action IN ('account.create', 'account.new_activation_code')
          AND l.at > now() - make_interval(secs => coalesce(
                nullif(current_setting('yijian.approval_cooling_off', true), '')::int, 1209600)))
$$;

-- Turning approval off names who did it; turning it on forgets them.
CREATE FUNCTION org_units_approval_waiver() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.requires_approval THEN
        NEW.approval_off_by := NULL;
    ELSIF OLD.requires_approval AND NEW.approval_off_by IS NULL THEN
        RAISE EXCEPTION 'org unit %: turning requires_approval off must name who does it', NEW.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER org_units_approval_waiver
    BEFORE UPDATE OF requires_approval, approval_off_by ON org_units
    FOR EACH ROW EXECUTE FUNCTION org_units_approval_waiver();

-- An approval is by someone the drafter did not make.
CREATE FUNCTION answers_check_approver() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.approved_by IS NOT NULL AND NEW.approved_by IS DISTINCT FROM OLD.approved_by
       AND account_made_by(NEW.approved_by, NEW.drafted_by) THEN
        RAISE EXCEPTION 'answer of suggestion %: the approver was created or re-activated by the drafter within the cooling-off period',
            NEW.suggestion_id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER answers_check_approver
    BEFORE UPDATE OF approved_by ON answers
    FOR EACH ROW EXECUTE FUNCTION answers_check_approver();

-- Does a draft by `drafter` in unit `unit` need an approval before it is
-- published?
CREATE FUNCTION answer_needs_approval(unit bigint, drafter bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT u.requires_approval
        OR u.approval_off_by = drafter
        OR account_made_by(u.approval_off_by, drafter)
    FROM org_units u WHERE u.id = unit
$$;

-- A suggestion becomes answered only with an answer approved, or one that
-- needs no approval. (Named to fire after suggestions_transition, which
-- refuses a transition that does not exist with its own message.)
CREATE FUNCTION suggestions_check_answered() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    drafter  bigint;
    approver bigint;
BEGIN
    SELECT drafted_by, approved_by INTO drafter, approver FROM answers WHERE suggestion_id = NEW.id;
    IF approver IS NULL AND coalesce(answer_needs_approval(NEW.unit_id, drafter), true) THEN
        RAISE EXCEPTION 'suggestion %: its answer is published only once someone other than its drafter approved it',
            NEW.id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER suggestions_transition_answered
    BEFORE UPDATE OF status ON suggestions
    FOR EACH ROW WHEN (NEW.status = 'answered' AND OLD.status IS DISTINCT FROM 'answered')
    EXECUTE FUNCTION suggestions_check_answered();

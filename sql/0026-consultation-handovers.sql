-- Opinions on a committee member (issue 23, 回避): the words reach the
-- member only through a hand-over by someone else who manages the unit,
-- without any author, and the member's response (整改措施) is approved by
-- someone other than the member. Rules for every writer.

CREATE TABLE consultation_handovers (
    consultation_id bigint NOT NULL,
    subject_id      bigint NOT NULL,
    handed_by       bigint NOT NULL REFERENCES accounts (id),
    handed_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consultation_id, subject_id),
    FOREIGN KEY (consultation_id, subject_id)
        REFERENCES consultation_subjects (consultation_id, account_id),
    -- Nobody hands opinions on themselves to themselves.
    CHECK (handed_by <> subject_id)
);

CREATE TABLE consultation_member_responses (
    consultation_id bigint NOT NULL,
    subject_id      bigint NOT NULL,
    body            text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 5000),
    written_at      timestamptz NOT NULL DEFAULT now(),
    approved_by     bigint REFERENCES accounts (id),
    approved_at     timestamptz,
    PRIMARY KEY (consultation_id, subject_id),
    FOREIGN KEY (consultation_id, subject_id)
        REFERENCES consultation_handovers (consultation_id, subject_id),
    -- The member does not approve their own response.
    CHECK (approved_by IS DISTINCT FROM subject_id),
    CHECK ((approved_by IS NULL) = (approved_at IS NULL))
);
REVOKE DELETE, TRUNCATE ON consultation_handovers, consultation_member_responses FROM yijian_app;

-- A hand-over comes after the close; a handed-over one is not taken back.
CREATE FUNCTION consultation_handovers_check() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'consultation %: a hand-over is not changed', OLD.consultation_id
            USING ERRCODE = 'check_violation';
    END IF;
    IF (SELECT status FROM consultations WHERE id = NEW.consultation_id) IS DISTINCT FROM 'closed' THEN
        RAISE EXCEPTION 'consultation %: opinions are handed over after the close', NEW.consultation_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER consultation_handovers_check
    BEFORE INSERT OR UPDATE ON consultation_handovers
    FOR EACH ROW EXECUTE FUNCTION consultation_handovers_check();

-- An approved response no longer changes; the response stays the member's.
CREATE FUNCTION consultation_member_responses_check() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (OLD.approved_by IS NOT NULL
            OR (NEW.consultation_id, NEW.subject_id) IS DISTINCT FROM (OLD.consultation_id, OLD.subject_id)
            OR (NEW.approved_by IS NOT NULL AND NEW.body IS DISTINCT FROM OLD.body)) THEN
        RAISE EXCEPTION 'consultation %: an approved response is final', OLD.consultation_id
            USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'INSERT' AND NEW.approved_by IS NOT NULL THEN
        RAISE EXCEPTION 'consultation %: a response is written before it is approved', NEW.consultation_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER consultation_member_responses_check
    BEFORE INSERT OR UPDATE ON consultation_member_responses
    FOR EACH ROW EXECUTE FUNCTION consultation_member_responses_check();

-- Consultations (征求意见, issue 23): the committee asks the members of a
-- unit (optionally with its sub-units) a list of questions between two
-- times; each member answers at most once, and may change the answer until
-- the close. The rules every writer must keep are here: what may change in
-- which status, when an answer may be written, by whom, and only one per
-- account. See docs/consultations.md.

CREATE TABLE consultations (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    unit_id          bigint NOT NULL REFERENCES org_units (id),
    kind             text NOT NULL CHECK (kind IN ('life_meeting', 'before_decision', 'blank')),
    title            text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 100 AND title = btrim(title)),
    body             text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 20000),
    include_subunits boolean NOT NULL DEFAULT false,
    answer_mode      text NOT NULL CHECK (answer_mode IN ('named_only', 'anonymous_allowed', 'anonymous_only')),
    opens_at         timestamptz NOT NULL,
    closes_at        timestamptz NOT NULL,
    status           text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'open', 'closed')),
    created_by       bigint NOT NULL REFERENCES accounts (id),
    created_at       timestamptz NOT NULL DEFAULT now(),
    opened_by        bigint REFERENCES accounts (id),
    opened_at        timestamptz,
    closed_at        timestamptz,
    CHECK (closes_at > opens_at),
    CHECK ((status = 'draft') = (opened_at IS NULL)),
    CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);
CREATE INDEX consultations_unit ON consultations (unit_id, id DESC);
CREATE INDEX consultations_open_due ON consultations (closes_at) WHERE status = 'open';

-- The ordered questions. choices: the options of a single or multiple
-- choice question, and nothing else has any.
CREATE TABLE consultation_questions (
    consultation_id bigint NOT NULL REFERENCES consultations (id),
    position        smallint NOT NULL CHECK (position BETWEEN 1 AND 50),
    kind            text NOT NULL CHECK (kind IN ('text', 'single', 'multiple', 'rating', 'member_opinions')),
    prompt          text NOT NULL CHECK (char_length(prompt) BETWEEN 1 AND 500),
    choices         jsonb,
    PRIMARY KEY (consultation_id, position),
    CHECK ((kind IN ('single', 'multiple')) = (choices IS NOT NULL)),
    CHECK (choices IS NULL OR (jsonb_typeof(choices) = 'array'
                               AND jsonb_array_length(choices) BETWEEN 2 AND 20))
);

-- The committee members an opinions question asks about, fixed when the
-- consultation opens (the committee may change while it runs).
CREATE TABLE consultation_subjects (
    consultation_id bigint NOT NULL REFERENCES consultations (id),
    account_id      bigint NOT NULL REFERENCES accounts (id),
    PRIMARY KEY (consultation_id, account_id)
);

-- The answers. account_id is NULL exactly for an anonymous answer, which
-- then carries no time at all; a named one keeps when it was written and
-- last changed. answers: {"<position>": value}, checked against the
-- questions by the service.
CREATE TABLE consultation_answers (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    consultation_id bigint NOT NULL REFERENCES consultations (id),
    account_id      bigint REFERENCES accounts (id),
    anonymous       boolean NOT NULL,
    answers         jsonb NOT NULL CHECK (jsonb_typeof(answers) = 'object'),
    created_at      timestamptz,
    updated_at      timestamptz,
    CHECK (anonymous = (account_id IS NULL)),
    CHECK (anonymous = (created_at IS NULL) AND anonymous = (updated_at IS NULL)),
    -- One named answer per account and consultation.
    UNIQUE (consultation_id, account_id)
);
CREATE INDEX consultation_answers_consultation ON consultation_answers (consultation_id);

-- An answer is not deleted: it is changed until the close, then kept.
REVOKE DELETE, TRUNCATE ON consultation_answers FROM yijian_app;

-- The accounts a consultation asks: every account with a role in its
-- unit, or in a unit below it when it includes the sub-units.
CREATE FUNCTION consultation_audience(cid bigint) RETURNS TABLE (account_id bigint)
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE k AS (SELECT unit_id, include_subunits FROM consultations WHERE id = cid),
    units(id) AS (
        SELECT unit_id FROM k
        UNION SELECT u.id FROM org_units u JOIN units ON u.parent_id = units.id
        WHERE (SELECT include_subunits FROM k))
    SELECT DISTINCT m.account_id FROM memberships m JOIN units ON m.unit_id = units.id
$$;

-- A consultation is created as a draft; while a draft anything may change,
-- afterwards only its status, forwards: draft -> open -> closed.
CREATE FUNCTION consultations_check() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'draft' OR NEW.opened_by IS NOT NULL THEN
            RAISE EXCEPTION 'a consultation is created as a draft'
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END IF;
    IF OLD.status <> 'draft' AND (NEW.unit_id, NEW.kind, NEW.title, NEW.body, NEW.include_subunits,
                                  NEW.answer_mode, NEW.opens_at, NEW.closes_at, NEW.created_by,
                                  NEW.created_at)
            IS DISTINCT FROM (OLD.unit_id, OLD.kind, OLD.title, OLD.body, OLD.include_subunits,
                              OLD.answer_mode, OLD.opens_at, OLD.closes_at, OLD.created_by,
                              OLD.created_at) THEN
        RAISE EXCEPTION 'consultation %: only a draft can be edited', OLD.id
            USING ERRCODE = 'check_violation', HINT = OLD.status;
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status
       AND NOT ((OLD.status, NEW.status) IN (('draft', 'open'), ('open', 'closed'))) THEN
        RAISE EXCEPTION 'consultation %: % -> % is not a transition', OLD.id, OLD.status, NEW.status
            USING ERRCODE = 'check_violation', HINT = OLD.status;
    END IF;
    IF OLD.status = 'draft' AND NEW.status = 'open' AND NEW.opened_by IS NULL THEN
        RAISE EXCEPTION 'consultation %: opening names who opens it', OLD.id
            USING ERRCODE = 'check_violation';
    END IF;
    IF OLD.status <> 'draft' AND (NEW.opened_by, NEW.opened_at) IS DISTINCT FROM (OLD.opened_by, OLD.opened_at) THEN
        RAISE EXCEPTION 'consultation %: it was opened once', OLD.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER consultations_check
    BEFORE INSERT OR UPDATE ON consultations
    FOR EACH ROW EXECUTE FUNCTION consultations_check();
REVOKE DELETE, TRUNCATE ON consultations FROM yijian_app;

-- The questions are the draft's: fixed once it opens.
CREATE FUNCTION consultation_questions_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    cid bigint := CASE WHEN TG_OP = 'DELETE' THEN OLD.consultation_id ELSE NEW.consultation_id END;
BEGIN
    IF (SELECT status FROM consultations WHERE id = cid) IS DISTINCT FROM 'draft'
       OR (TG_OP = 'UPDATE' AND NEW.consultation_id <> OLD.consultation_id) THEN
        RAISE EXCEPTION 'consultation %: only a draft''s questions can change', cid
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;
CREATE TRIGGER consultation_questions_check
    BEFORE INSERT OR UPDATE OR DELETE ON consultation_questions
    FOR EACH ROW EXECUTE FUNCTION consultation_questions_check();

-- The subjects are fixed at opening, in the opening's transaction.
CREATE FUNCTION consultation_subjects_check() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' OR (SELECT opened_at FROM consultations WHERE id = NEW.consultation_id)
                            IS DISTINCT FROM now() THEN
        RAISE EXCEPTION 'consultation %: its subjects are fixed when it opens',
            CASE WHEN TG_OP = 'DELETE' THEN OLD.consultation_id ELSE NEW.consultation_id END
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER consultation_subjects_check
    BEFORE INSERT OR UPDATE OR DELETE ON consultation_subjects
    FOR EACH ROW EXECUTE FUNCTION consultation_subjects_check();

-- An answer is written while the consultation is open, between its opening
-- and closing times, in a mode its answer mode allows, by an account of its
-- audience; it stays with its consultation and its author.
CREATE FUNCTION consultation_answers_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    k consultations%ROWTYPE;
BEGIN
    SELECT * INTO k FROM consultations WHERE id = NEW.consultation_id;
    IF k.status IS DISTINCT FROM 'open' OR now() < k.opens_at OR now() >= k.closes_at THEN
        RAISE EXCEPTION 'consultation %: answers are taken only while it is open', NEW.consultation_id
            USING ERRCODE = 'check_violation', HINT = 'not_open';
    END IF;
    IF (NEW.anonymous AND k.answer_mode = 'named_only')
       OR (NOT NEW.anonymous AND k.answer_mode = 'anonymous_only') THEN
        RAISE EXCEPTION 'consultation %: its answer mode is %', NEW.consultation_id, k.answer_mode
            USING ERRCODE = 'check_violation', HINT = 'mode';
    END IF;
    IF NOT NEW.anonymous AND NOT EXISTS (
            SELECT 1 FROM consultation_audience(NEW.consultation_id) a WHERE a.account_id = NEW.account_id) THEN
        RAISE EXCEPTION 'consultation %: account % is not asked', NEW.consultation_id, NEW.account_id
            USING ERRCODE = 'check_violation', HINT = 'audience';
    END IF;
    IF TG_OP = 'UPDATE' AND (NEW.consultation_id, NEW.account_id, NEW.anonymous, NEW.created_at)
                            IS DISTINCT FROM (OLD.consultation_id, OLD.account_id, OLD.anonymous, OLD.created_at) THEN
        RAISE EXCEPTION 'consultation %: an answer stays whose it is', NEW.consultation_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER consultation_answers_check
    BEFORE INSERT OR UPDATE ON consultation_answers
    FOR EACH ROW EXECUTE FUNCTION consultation_answers_check();

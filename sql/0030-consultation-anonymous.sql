-- Anonymous answers to a consultation (issue 23, docs/consultations.md
-- "Anonymous answers"): one token per member of the audience under the
-- consultation's own VOPRF key, the answer held until the end of its
-- release window like every anonymous act, then written without any
-- account or time, with the hash of its tracking code so that its holder
-- can replace it until the close.

-- The end of the release window holding t (windows of w seconds since
-- 1970-01-01T00:00:00Z, domain/release.c release_window_end); t itself
-- when there is no window.
CREATE FUNCTION consultation_window_end(t timestamptz, w integer) RETURNS timestamptz
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN w <= 0 THEN t
                ELSE to_timestamp((floor(extract(epoch FROM t) / w) + 1) * w) END
$$;

-- release_until: until when the release may still write an anonymous
-- answer that arrived while the consultation was open: the end of the
-- window holding the closing time, set at opening, and brought forward to
-- the end of the window holding the close when it is closed earlier.
ALTER TABLE consultations ADD COLUMN release_until timestamptz;
UPDATE consultations SET release_until = coalesce(closed_at, closes_at) WHERE status <> 'draft';
ALTER TABLE consultations ADD CHECK ((status = 'draft') = (release_until IS NULL));

-- The tracking code's hash of an anonymous answer (tracking_code_hash):
-- what its holder replaces it by. Nothing else ties it to anyone.
ALTER TABLE consultation_answers ADD COLUMN code_hash text UNIQUE
    CHECK (code_hash ~ '^[0-9a-f]{64}$');
ALTER TABLE consultation_answers ADD CHECK (anonymous = (code_hash IS NOT NULL));

-- The one token of each member of the audience: a row says that the
-- account's one token for the consultation was issued, or that it answered
-- with its name without one (then none is issued). No time, no count, no
-- element: the quota is the primary key.
CREATE TABLE consultation_tokens (
    consultation_id bigint NOT NULL REFERENCES consultations (id),
    account_id      bigint NOT NULL REFERENCES accounts (id),
    PRIMARY KEY (consultation_id, account_id)
);
REVOKE ALL ON consultation_tokens FROM yijian_app;
GRANT SELECT, INSERT ON consultation_tokens TO yijian_app;

-- A token only while the consultation is open for anonymous answers, and
-- only to an account of its audience.
CREATE FUNCTION consultation_tokens_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    k consultations%ROWTYPE;
BEGIN
    SELECT * INTO k FROM consultations WHERE id = NEW.consultation_id;
    IF k.status IS DISTINCT FROM 'open' OR now() >= k.closes_at THEN
        RAISE EXCEPTION 'consultation %: tokens only while it is open', NEW.consultation_id
            USING ERRCODE = 'check_violation', HINT = 'not_open';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM consultation_audience(NEW.consultation_id) a
                   WHERE a.account_id = NEW.account_id) THEN
        RAISE EXCEPTION 'consultation %: account % is not asked', NEW.consultation_id, NEW.account_id
            USING ERRCODE = 'check_violation', HINT = 'audience';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER consultation_tokens_check
    BEFORE INSERT ON consultation_tokens
    FOR EACH ROW EXECUTE FUNCTION consultation_tokens_check();

-- The lifecycle of sql/0022, and release_until: set when it opens, never
-- moved later, brought forward only by the close.
CREATE OR REPLACE FUNCTION consultations_check() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'draft' OR NEW.opened_by IS NOT NULL OR NEW.release_until IS NOT NULL THEN
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
    IF OLD.status <> 'draft' AND NEW.release_until IS DISTINCT FROM OLD.release_until
       AND NOT (OLD.status = 'open' AND NEW.status = 'closed'
                AND NEW.release_until <= OLD.release_until) THEN
        RAISE EXCEPTION 'consultation %: its release time moves only forward, at the close', OLD.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;

-- Answers (sql/0022), anonymous ones too: an anonymous answer is written
-- by the release of its window, after its arrival was checked against the
-- consultation's times; the schema lets it in from the opening until
-- release_until, and keeps it with its consultation and its code.
CREATE OR REPLACE FUNCTION consultation_answers_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    k consultations%ROWTYPE;
BEGIN
    SELECT * INTO k FROM consultations WHERE id = NEW.consultation_id;
    IF NEW.anonymous THEN
        IF k.status = 'draft' OR now() < k.opens_at OR now() >= k.release_until THEN
            RAISE EXCEPTION 'consultation %: anonymous answers are released only until %',
                NEW.consultation_id, k.release_until
                USING ERRCODE = 'check_violation', HINT = 'not_open';
        END IF;
    ELSIF k.status IS DISTINCT FROM 'open' OR now() < k.opens_at OR now() >= k.closes_at THEN
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
    IF TG_OP = 'UPDATE' AND (NEW.consultation_id, NEW.account_id, NEW.anonymous, NEW.created_at, NEW.code_hash)
                            IS DISTINCT FROM (OLD.consultation_id, OLD.account_id, OLD.anonymous, OLD.created_at, OLD.code_hash) THEN
        RAISE EXCEPTION 'consultation %: an answer stays whose it is', NEW.consultation_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;

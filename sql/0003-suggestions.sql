-- Suggestions: categories, routing, the status workflow, messages,
-- answers, ratings, co-signs and idempotent submission (DESIGN §2).

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Whether answers need a secretary's approval before the author sees them.
ALTER TABLE org_units ADD COLUMN requires_approval boolean NOT NULL DEFAULT true;

-- Categories belong to a unit and are inherited by every unit below it.
-- The responsible portfolio is named, not referenced: in a child unit the
-- committee member holding the portfolio of that name is responsible.
CREATE TABLE categories (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    unit_id     bigint NOT NULL REFERENCES org_units (id),
    name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 50 AND name = btrim(name)),
    portfolio   text NOT NULL CHECK (char_length(portfolio) BETWEEN 1 AND 50),
    ack_days    int NOT NULL DEFAULT 3 CHECK (ack_days BETWEEN 1 AND 365),
    answer_days int NOT NULL DEFAULT 15 CHECK (answer_days BETWEEN 1 AND 365),
    grace_days  int NOT NULL DEFAULT 7 CHECK (grace_days BETWEEN 0 AND 365),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (answer_days >= ack_days),
    UNIQUE (unit_id, name)
);

CREATE TABLE suggestions (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    public_id       text NOT NULL UNIQUE CHECK (public_id ~ '^S-[0-9A-HJKMNP-TV-Z]{6}$'),
    unit_id         bigint NOT NULL REFERENCES org_units (id),
    category_id     bigint NOT NULL REFERENCES categories (id),
    title           text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 100),
    body            text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 5000),
    -- NULL exactly when anonymous: nothing else ties an anonymous
    -- suggestion to a person.
    author_id       bigint REFERENCES accounts (id),
    anonymous       boolean NOT NULL,
    publish_name    boolean NOT NULL DEFAULT false,
    assignee_id     bigint REFERENCES accounts (id),
    status          text NOT NULL DEFAULT 'submitted'
                    CHECK (status IN ('submitted', 'accepted', 'answered', 'published',
                                      'withdrawn', 'merged')),
    reopened        boolean NOT NULL DEFAULT false,
    merged_into     bigint REFERENCES suggestions (id),
    cosign_count    int NOT NULL DEFAULT 0 CHECK (cosign_count >= 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    ack_due         timestamptz NOT NULL,
    answer_due      timestamptz NOT NULL,
    grace_days      int NOT NULL,
    accepted_at     timestamptz,
    answered_at     timestamptz,
    published_at    timestamptz,
    escalated_to    bigint REFERENCES org_units (id),
    escalated_at    timestamptz,
    escalation_reason text,
    CHECK (anonymous = (author_id IS NULL)),
    CHECK (NOT (anonymous AND publish_name)),
    CHECK ((status = 'merged') = (merged_into IS NOT NULL)),
    CHECK (merged_into IS DISTINCT FROM id)
);
CREATE INDEX suggestions_unit ON suggestions (unit_id, id DESC);
CREATE INDEX suggestions_assignee_open ON suggestions (assignee_id)
    WHERE status IN ('submitted', 'accepted');
CREATE INDEX suggestions_author ON suggestions (author_id, id DESC);
CREATE INDEX suggestions_escalated ON suggestions (escalated_to) WHERE escalated_to IS NOT NULL;
CREATE INDEX suggestions_text_trgm ON suggestions USING gin ((title || ' ' || body) gin_trgm_ops);

-- The workflow, as data: a status may change only along these edges.
CREATE TABLE suggestion_transitions (
    from_status text NOT NULL,
    to_status   text NOT NULL,
    PRIMARY KEY (from_status, to_status)
);
INSERT INTO suggestion_transitions VALUES
    ('submitted', 'accepted'), ('submitted', 'withdrawn'), ('submitted', 'merged'),
    ('accepted', 'answered'), ('answered', 'published'), ('answered', 'accepted');

CREATE FUNCTION suggestions_check_transition() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Setting the status it already has is a transition too, and not one
    -- the workflow has (accepting twice is refused, not ignored).
    IF NOT EXISTS (SELECT 1 FROM suggestion_transitions
                   WHERE from_status = OLD.status AND to_status = NEW.status) THEN
        RAISE EXCEPTION 'suggestion %: % -> % is not a transition', OLD.public_id, OLD.status, NEW.status
            USING ERRCODE = 'check_violation', HINT = OLD.status;
    END IF;
    -- Reopening (answered -> accepted) happens once, and marks it.
    IF OLD.status = 'answered' AND NEW.status = 'accepted' THEN
        IF OLD.reopened OR NOT NEW.reopened THEN
            RAISE EXCEPTION 'suggestion % can be reopened only once', OLD.public_id
                USING ERRCODE = 'check_violation', HINT = OLD.status;
        END IF;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER suggestions_transition
    BEFORE UPDATE OF status ON suggestions
    FOR EACH ROW EXECUTE FUNCTION suggestions_check_transition();

-- Every (re)assignment with its reason; the newest row is the current one.
CREATE TABLE assignments (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    suggestion_id bigint NOT NULL REFERENCES suggestions (id),
    assignee_id   bigint REFERENCES accounts (id),
    unit_id       bigint NOT NULL REFERENCES org_units (id),
    reason        text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 500),
    assigned_by   bigint REFERENCES accounts (id),
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX assignments_assignee ON assignments (assignee_id, created_at DESC);

CREATE TABLE messages (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    suggestion_id bigint NOT NULL REFERENCES suggestions (id),
    author_kind   text NOT NULL CHECK (author_kind IN ('submitter', 'committee', 'system')),
    -- NULL for an anonymous submitter and for system messages.
    author_id     bigint REFERENCES accounts (id),
    visibility    text NOT NULL CHECK (visibility IN ('submitter', 'internal')),
    body          text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 5000),
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (visibility = 'submitter' OR author_kind = 'committee'),
    CHECK (author_kind <> 'committee' OR author_id IS NOT NULL)
);
CREATE INDEX messages_suggestion ON messages (suggestion_id, id);

CREATE TABLE answers (
    suggestion_id bigint PRIMARY KEY REFERENCES suggestions (id),
    decision      text NOT NULL CHECK (decision IN ('adopted', 'partly_adopted', 'not_adopted', 'noted')),
    reason        text CHECK (char_length(reason) BETWEEN 1 AND 2000),
    body          text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 5000),
    drafted_by    bigint NOT NULL REFERENCES accounts (id),
    drafted_at    timestamptz NOT NULL DEFAULT now(),
    approved_by   bigint REFERENCES accounts (id),
    approved_at   timestamptz,
    CHECK (decision <> 'not_adopted' OR reason IS NOT NULL),
    -- Approval is by someone else.
    CHECK (approved_by IS DISTINCT FROM drafted_by),
    CHECK ((approved_by IS NULL) = (approved_at IS NULL))
);

-- One rating per answer round (0, and 1 after a reopen).
CREATE TABLE ratings (
    suggestion_id bigint NOT NULL REFERENCES suggestions (id),
    round         smallint NOT NULL CHECK (round IN (0, 1)),
    rating        text NOT NULL CHECK (rating IN ('satisfied', 'basically_satisfied', 'unsatisfied')),
    rated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (suggestion_id, round)
);

CREATE TABLE cosigns (
    suggestion_id bigint NOT NULL REFERENCES suggestions (id),
    account_id    bigint NOT NULL REFERENCES accounts (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (suggestion_id, account_id)
);

-- A retried POST with the same key returns the first answer. scope is
-- 'account:<id>' for a signed-in caller.
CREATE TABLE idempotency_keys (
    scope        text NOT NULL CHECK (char_length(scope) <= 80),
    key          text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 200),
    request_hash text NOT NULL,
    status       int,
    response     jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);

-- The workflow is the schema's, not the service's to change.
REVOKE ALL ON suggestion_transitions FROM yijian_app;
GRANT SELECT ON suggestion_transitions TO yijian_app;

-- A suggestion starts at the start: no writer inserts one further along.
CREATE FUNCTION suggestions_check_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status <> 'submitted' OR NEW.reopened OR NEW.merged_into IS NOT NULL
       OR NEW.escalated_to IS NOT NULL OR NEW.cosign_count <> 0 THEN
        RAISE EXCEPTION 'a suggestion is created as submitted, and nothing else'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER suggestions_insert
    BEFORE INSERT ON suggestions
    FOR EACH ROW EXECUTE FUNCTION suggestions_check_insert();

-- The co-sign count follows the co-signs, whoever writes them.
CREATE FUNCTION cosigns_count() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE suggestions SET cosign_count = cosign_count + CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE -1 END
    WHERE id = CASE WHEN TG_OP = 'INSERT' THEN NEW.suggestion_id ELSE OLD.suggestion_id END;
    RETURN NULL;
END
$$;
CREATE TRIGGER cosigns_count AFTER INSERT OR DELETE ON cosigns
    FOR EACH ROW EXECUTE FUNCTION cosigns_count();

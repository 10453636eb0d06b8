-- Accounts, sign-in and the organisation tree they belong to
-- (DESIGN §2 "Org unit", "Account").

CREATE TABLE org_units (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    parent_id  bigint REFERENCES org_units (id),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 100 AND name = btrim(name)
                                    AND position('/' IN name) = 0),
    level      text NOT NULL CHECK (level IN ('committee', 'general_branch', 'branch', 'group')),
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (parent_id IS DISTINCT FROM id)
);
CREATE UNIQUE INDEX org_units_name_per_parent ON org_units (coalesce(parent_id, 0), name);

-- The tree stays a tree whoever writes it: a unit may not become its own
-- ancestor.
CREATE FUNCTION org_units_refuse_cycle() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.parent_id IS NOT NULL AND EXISTS (
        WITH RECURSIVE up(id) AS (
            SELECT NEW.parent_id
            UNION
            SELECT u.parent_id FROM org_units u JOIN up ON u.id = up.id
            WHERE u.parent_id IS NOT NULL)
        SELECT 1 FROM up WHERE id = NEW.id) THEN
        RAISE EXCEPTION 'org unit % cannot move under its own descendant', NEW.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER org_units_no_cycle
    BEFORE UPDATE OF parent_id ON org_units
    FOR EACH ROW EXECUTE FUNCTION org_units_refuse_cycle();

CREATE TABLE accounts (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    login         text NOT NULL CHECK (length(login) BETWEEN 1 AND 64 AND login = btrim(login)),
    display_name  text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
    password_hash text CHECK (password_hash LIKE '$argon2id$%'),
    is_admin      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    activated_at  timestamptz,
    CHECK ((password_hash IS NULL) = (activated_at IS NULL))
);
CREATE UNIQUE INDEX accounts_login_unique ON accounts (lower(login));

-- One live code per account; only its hash is kept.
CREATE TABLE activation_codes (
    account_id bigint PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    code_hash  bytea NOT NULL CHECK (length(code_hash) = 32),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

CREATE TABLE sessions (
    token_hash   bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    account_id   bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);
CREATE INDEX sessions_account ON sessions (account_id);

-- Failed sign-ins per login and per hashed client address, for back-off.
CREATE TABLE login_throttle (
    key             text PRIMARY KEY CHECK (length(key) <= 100),
    failures        int NOT NULL CHECK (failures > 0),
    last_failure_at timestamptz NOT NULL,
    locked_until    timestamptz NOT NULL
);

CREATE TABLE memberships (
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    unit_id    bigint NOT NULL REFERENCES org_units (id),
    role       text NOT NULL CHECK (role IN ('member', 'committee', 'secretary')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, unit_id, role)
);
CREATE INDEX memberships_unit ON memberships (unit_id, role);

-- Portfolios (分工) are data per unit, not an enum in code.
CREATE TABLE portfolios (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    unit_id bigint NOT NULL REFERENCES org_units (id),
    name    text NOT NULL CHECK (length(name) BETWEEN 1 AND 50 AND name = btrim(name)),
    UNIQUE (unit_id, name)
);

CREATE TABLE committee_portfolios (
    account_id   bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    portfolio_id bigint NOT NULL REFERENCES portfolios (id) ON DELETE CASCADE,
    PRIMARY KEY (account_id, portfolio_id)
);

-- The audit trail may now name accounts.
ALTER TABLE audit_log ADD FOREIGN KEY (actor_id) REFERENCES accounts (id);

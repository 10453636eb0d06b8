-- Foundation: the service's group role, default privileges, and the
-- insert-only audit log (DESIGN §2 "Audit log", §5 "Two database roles").
-- Runs as the schema owner, in one transaction, under the migration lock.

-- The service logs in as a role that is a member of yijian_app; all
-- privileges are granted to the group, never to a login role by name.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'yijian_app') THEN
        CREATE ROLE yijian_app NOLOGIN;
    END IF;
END
$$;

REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO yijian_app;
GRANT SELECT ON schema_migrations TO yijian_app;

-- Tables made by later migrations (by this same owner) are readable and
-- writable by the service unless a migration takes a right back.
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO yijian_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO yijian_app;

CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor_kind  text NOT NULL CHECK (actor_kind IN ('account', 'anonymous', 'system')),
    actor_id    bigint,
    action      text NOT NULL CHECK (action ~ '^[a-z_]+(\.[a-z_]+)+$'),
    object_type text NOT NULL CHECK (object_type ~ '^[a-z_]+$'),
    object_id   text,
    change      jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(change) = 'object'),
    request_id  text CHECK (length(request_id) <= 64),
    -- An account id exactly when an account acted; an anonymous actor
    -- carries nothing that could tell two requests apart.
    CHECK ((actor_kind = 'account') = (actor_id IS NOT NULL)),
    CHECK (actor_kind <> 'anonymous' OR request_id IS NULL)
);
CREATE INDEX audit_log_object ON audit_log (object_type, object_id);

-- Insert-only, for everyone, the owner included.
CREATE FUNCTION audit_log_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is insert-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();

REVOKE ALL ON audit_log FROM yijian_app;
GRANT SELECT, INSERT ON audit_log TO yijian_app;

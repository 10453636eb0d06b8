/* The statement table. The comment above each entry says who uses it. */
#include "db/statements.h"

const struct stmt_def stmt_defs[STMT__COUNT] = {
    /* routes/health.c: readyz */
    [STMT_SCHEMA_VERSION] = { "schema_version",
        "SELECT coalesce(max(version), 0) FROM schema_migrations", 0, 1 },

    /* domain/audit.c: the one audit writer. $5 is JSON text. */
    [STMT_AUDIT_INSERT] = { "audit_insert",
        "INSERT INTO audit_log (actor_kind, actor_id, action, object_type, object_id, change, request_id) "
        "VALUES ($1, $2::bigint, $3, $4, $5, $6::jsonb, $7)", 7, 1 },

    /* db/migrate.c: serialise concurrent migrators (the key is fixed). */
    [STMT_MIGRATION_LOCK] = { "migration_lock",
        "SELECT pg_advisory_lock(7162352481)", 0, 0 },
    [STMT_MIGRATION_UNLOCK] = { "migration_unlock",
        "SELECT pg_advisory_unlock(7162352481)", 0, 0 },
    [STMT_MIGRATION_APPLIED] = { "migration_applied",
        "SELECT version, name, checksum FROM schema_migrations ORDER BY version", 0, 0 },
    [STMT_MIGRATION_RECORD] = { "migration_record",
        "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1::int, $2, $3)", 3, 0 },

    /* cli.c create-admin */
    [STMT_ACCOUNT_INSERT] = { "account_insert",
        "INSERT INTO accounts (login, display_name, is_admin) VALUES ($1, $2, $3::boolean) "
        "RETURNING id", 3, 1 },
    [STMT_ACTIVATION_UPSERT] = { "activation_upsert",
        "INSERT INTO activation_codes (account_id, code_hash, expires_at) "
        "VALUES ($1::bigint, decode($2, 'hex'), now() + make_interval(secs => $3::int)) "
        "ON CONFLICT (account_id) DO UPDATE SET code_hash = EXCLUDED.code_hash, "
        "expires_at = EXCLUDED.expires_at, used_at = NULL", 3, 1 },

    /* routes/auth.c activate: marks the code used only when it matches,
     * is unused and unexpired; returns the account id. */
    [STMT_ACTIVATION_CLAIM] = { "activation_claim",
        "UPDATE activation_codes c SET used_at = now() FROM accounts a "
        "WHERE a.id = c.account_id AND lower(a.login) = lower($1) "
        "AND c.code_hash = decode($2, 'hex') AND c.used_at IS NULL AND c.expires_at > now() "
        "RETURNING a.id", 2, 1 },
    [STMT_ACCOUNT_SET_PASSWORD] = { "account_set_password",
        "UPDATE accounts SET password_hash = $2, activated_at = coalesce(activated_at, now()) "
        "WHERE id = $1::bigint RETURNING id, login, display_name, is_admin", 2, 1 },

    /* routes/auth.c login */
    [STMT_ACCOUNT_BY_LOGIN] = { "account_by_login",
        "SELECT id, login, display_name, is_admin, password_hash FROM accounts "
        "WHERE lower(login) = lower($1)", 1, 1 },
    /* domain/session.c, routes/auth.c me */
    [STMT_ACCOUNT_BY_ID] = { "account_by_id",
        "SELECT id, login, display_name, is_admin FROM accounts WHERE id = $1::bigint", 1, 1 },

    /* domain/session.c */
    [STMT_SESSION_INSERT] = { "session_insert",
        "INSERT INTO sessions (token_hash, account_id, expires_at) "
        "VALUES (decode($1, 'hex'), $2::bigint, now() + make_interval(secs => $3::int)) "
        "RETURNING to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')", 3, 1 },
    /* Renews on use, at most once a minute so that reads stay cheap. */
    [STMT_SESSION_TOUCH] = { "session_touch",
        "WITH s AS (SELECT token_hash, account_id, expires_at FROM sessions "
        "  WHERE token_hash = decode($1, 'hex') AND revoked_at IS NULL AND expires_at > now()), "
        "u AS (UPDATE sessions SET expires_at = now() + make_interval(secs => $2::int), last_used_at = now() "
        "  WHERE token_hash = (SELECT token_hash FROM s) "
        "  AND last_used_at < now() - interval '1 minute' RETURNING 1) "
        "SELECT account_id FROM s", 2, 1 },
    [STMT_SESSION_REVOKE] = { "session_revoke",
        "UPDATE sessions SET revoked_at = now() WHERE token_hash = decode($1, 'hex') "
        "AND revoked_at IS NULL RETURNING account_id", 1, 1 },

    /* routes/auth.c login back-off: one row per throttled key (a login or
     * a hashed address); returns seconds still to wait. */
    [STMT_THROTTLE_GET] = { "throttle_get",
        "SELECT greatest(0, ceil(extract(epoch FROM locked_until - now())))::int "
        "FROM login_throttle WHERE key = $1", 1, 1 },
    [STMT_THROTTLE_FAIL] = { "throttle_fail",
        "INSERT INTO login_throttle AS t (key, failures, last_failure_at, locked_until) "
        "VALUES ($1, 1, now(), now()) "
        "ON CONFLICT (key) DO UPDATE SET "
        "failures = CASE WHEN t.last_failure_at < now() - interval '1 hour' THEN 1 ELSE t.failures + 1 END, "
        "last_failure_at = now(), "
        "locked_until = CASE WHEN (CASE WHEN t.last_failure_at < now() - interval '1 hour' THEN 1 "
        "  ELSE t.failures + 1 END) >= $2::int "
        "  THEN now() + make_interval(secs => least(900, 2 ^ least(10, t.failures + 1 - $2::int))::int * 5) "
        "  ELSE now() END", 2, 1 },
    [STMT_THROTTLE_CLEAR] = { "throttle_clear",
        "DELETE FROM login_throttle WHERE key = $1", 1, 1 },

    /* routes/auth.c me */
    [STMT_MEMBERSHIPS_OF_ACCOUNT] = { "memberships_of_account",
        "SELECT u.id, u.name, "
        "  array_to_json(array_agg(DISTINCT m.role ORDER BY m.role))::text, "
        "  coalesce((SELECT json_agg(p.name ORDER BY p.name) FROM committee_portfolios cp "
        "    JOIN portfolios p ON p.id = cp.portfolio_id "
        "    WHERE cp.account_id = $1::bigint AND p.unit_id = u.id), '[]')::text "
        "FROM memberships m JOIN org_units u ON u.id = m.unit_id "
        "WHERE m.account_id = $1::bigint GROUP BY u.id, u.name ORDER BY u.id", 1, 1 },
};

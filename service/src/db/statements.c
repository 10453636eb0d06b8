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

    /* domain/accounts.c */
    [STMT_ACCOUNT_INSERT] = { "account_insert",
        "INSERT INTO accounts (login, display_name, is_admin) VALUES ($1, $2, $3::boolean) "
        "RETURNING id", 3, 1 },
    /* domain/accounts.c: a new code replaces any earlier one */
    [STMT_ACTIVATION_UPSERT] = { "activation_upsert",
        "INSERT INTO activation_codes (account_id, code_hash, expires_at) "
        "VALUES ($1::bigint, decode($2, 'hex'), now() + make_interval(secs => $3::int)) "
        "ON CONFLICT (account_id) DO UPDATE SET code_hash = EXCLUDED.code_hash, "
        "expires_at = EXCLUDED.expires_at, used_at = NULL "
        "RETURNING to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')", 3, 1 },

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

    /* domain/accounts.c (roster import: a changed name) */
    [STMT_ACCOUNT_SET_DISPLAY_NAME] = { "account_set_display_name",
        "UPDATE accounts SET display_name = $2 WHERE id = $1::bigint AND display_name <> $2 "
        "RETURNING id", 2, 1 },

    /* routes/units.c: the whole tree, assembled in C (units are few) */
    [STMT_UNITS_ALL] = { "units_all",
        "SELECT id, parent_id, name, level FROM org_units ORDER BY id", 0, 1 },
    [STMT_UNIT_BY_ID] = { "unit_by_id",
        "SELECT id, parent_id, name, level FROM org_units WHERE id = $1::bigint", 1, 1 },
    /* domain/roster.c: find a unit by its path, one step at a time */
    [STMT_UNIT_BY_PARENT_NAME] = { "unit_by_parent_name",
        "SELECT id, parent_id, name, level FROM org_units "
        "WHERE parent_id IS NOT DISTINCT FROM $1::bigint AND name = $2", 2, 1 },
    /* domain/units.c */
    [STMT_UNIT_INSERT] = { "unit_insert",
        "INSERT INTO org_units (parent_id, name, level) VALUES ($1::bigint, $2, $3) "
        "RETURNING id, parent_id, name, level", 3, 1 },
    /* routes/units.c rename and move: $3 says whether parent_id changes */
    [STMT_UNIT_UPDATE] = { "unit_update",
        "UPDATE org_units SET name = coalesce($2, name), "
        "parent_id = CASE WHEN $3::boolean THEN $4::bigint ELSE parent_id END "
        "WHERE id = $1::bigint RETURNING id, parent_id, name, level", 4, 1 },

    /* domain/authz.c: everything a decision about (account, unit) needs, in
     * one round trip: admin flag, whether the unit exists, the roles held in
     * the unit itself, and whether the account is secretary of the unit or
     * of any unit above it. */
    [STMT_AUTHZ_UNIT] = { "authz_unit",
        "WITH RECURSIVE up(id) AS ("
        "  SELECT id FROM org_units WHERE id = $2::bigint "
        "  UNION SELECT u.parent_id FROM org_units u JOIN up ON u.id = up.id "
        "  WHERE u.parent_id IS NOT NULL) "
        "SELECT coalesce((SELECT is_admin FROM accounts WHERE id = $1::bigint), false), "
        "  EXISTS (SELECT 1 FROM org_units WHERE id = $2::bigint), "
        "  coalesce((SELECT json_agg(role ORDER BY role) FROM memberships "
        "    WHERE account_id = $1::bigint AND unit_id = $2::bigint), '[]')::text, "
        "  EXISTS (SELECT 1 FROM memberships m JOIN up ON m.unit_id = up.id "
        "    WHERE m.account_id = $1::bigint AND m.role = 'secretary')", 2, 1 },
    /* domain/authz.c: may $1 manage account $2 (secretary above one of
     * $2's units)? */
    [STMT_AUTHZ_MANAGES_ACCOUNT] = { "authz_manages_account",
        "WITH RECURSIVE up(id) AS ("
        "  SELECT unit_id FROM memberships WHERE account_id = $2::bigint "
        "  UNION SELECT u.parent_id FROM org_units u JOIN up ON u.id = up.id "
        "  WHERE u.parent_id IS NOT NULL) "
        "SELECT EXISTS (SELECT 1 FROM memberships m JOIN up ON m.unit_id = up.id "
        "  WHERE m.account_id = $1::bigint AND m.role = 'secretary')", 2, 1 },

    /* domain/memberships.c: roles are passed as a JSON array of text */
    [STMT_MEMBERSHIP_ROLES] = { "membership_roles",
        "SELECT coalesce(json_agg(role ORDER BY role), '[]')::text FROM memberships "
        "WHERE account_id = $1::bigint AND unit_id = $2::bigint", 2, 1 },
    [STMT_MEMBERSHIP_DELETE_OTHER_ROLES] = { "membership_delete_other_roles",
        "DELETE FROM memberships WHERE account_id = $1::bigint AND unit_id = $2::bigint "
        "AND role NOT IN (SELECT jsonb_array_elements_text($3::jsonb))", 3, 1 },
    [STMT_MEMBERSHIP_ADD] = { "membership_add",
        "INSERT INTO memberships (account_id, unit_id, role) "
        "SELECT $1::bigint, $2::bigint, r FROM jsonb_array_elements_text($3::jsonb) r "
        "ON CONFLICT DO NOTHING", 3, 1 },
    /* routes/units.c members list, cursor = last account id seen */
    [STMT_MEMBERS_OF_UNIT] = { "members_of_unit",
        "SELECT a.id, a.login, a.display_name, json_agg(m.role ORDER BY m.role)::text, "
        "  coalesce((SELECT json_agg(p.name ORDER BY p.name) FROM committee_portfolios cp "
        "    JOIN portfolios p ON p.id = cp.portfolio_id "
        "    WHERE cp.account_id = a.id AND p.unit_id = $1::bigint), '[]')::text "
        "FROM memberships m JOIN accounts a ON a.id = m.account_id "
        "WHERE m.unit_id = $1::bigint AND a.id > $2::bigint "
        "GROUP BY a.id ORDER BY a.id LIMIT $3::int", 3, 1 },

    /* routes/units.c, domain/memberships.c */
    [STMT_PORTFOLIOS_OF_UNIT] = { "portfolios_of_unit",
        "SELECT id, name FROM portfolios WHERE unit_id = $1::bigint ORDER BY name", 1, 1 },
    [STMT_PORTFOLIO_INSERT] = { "portfolio_insert",
        "INSERT INTO portfolios (unit_id, name) VALUES ($1::bigint, $2) RETURNING id, name", 2, 1 },
    /* domain/roster.c: a portfolio named in a roster exists afterwards */
    [STMT_PORTFOLIO_ENSURE] = { "portfolio_ensure",
        "INSERT INTO portfolios (unit_id, name) SELECT $1::bigint, n "
        "FROM jsonb_array_elements_text($2::jsonb) n ON CONFLICT DO NOTHING RETURNING id, name", 2, 1 },
    [STMT_PORTFOLIOS_COUNT_NAMED] = { "portfolios_count_named",
        "SELECT count(*) FROM portfolios WHERE unit_id = $1::bigint "
        "AND name IN (SELECT jsonb_array_elements_text($2::jsonb))", 2, 1 },
    [STMT_COMMITTEE_PORTFOLIOS_OF] = { "committee_portfolios_of",
        "SELECT coalesce(json_agg(p.name ORDER BY p.name), '[]')::text "
        "FROM committee_portfolios cp JOIN portfolios p ON p.id = cp.portfolio_id "
        "WHERE cp.account_id = $1::bigint AND p.unit_id = $2::bigint", 2, 1 },
    [STMT_COMMITTEE_PORTFOLIOS_DELETE_OTHERS] = { "committee_portfolios_delete_others",
        "DELETE FROM committee_portfolios cp USING portfolios p "
        "WHERE cp.portfolio_id = p.id AND cp.account_id = $1::bigint AND p.unit_id = $2::bigint "
        "AND p.name NOT IN (SELECT jsonb_array_elements_text($3::jsonb))", 3, 1 },
    [STMT_COMMITTEE_PORTFOLIOS_ADD] = { "committee_portfolios_add",
        "INSERT INTO committee_portfolios (account_id, portfolio_id) "
        "SELECT $1::bigint, p.id FROM portfolios p WHERE p.unit_id = $2::bigint "
        "AND p.name IN (SELECT jsonb_array_elements_text($3::jsonb)) ON CONFLICT DO NOTHING", 3, 1 },
};

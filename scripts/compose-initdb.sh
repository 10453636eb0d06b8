#!/usr/bin/env bash
# Run once by the postgres:15 image (/docker-entrypoint-initdb.d/) when its
# volume is empty: creates the roles and privileges that scripts/pg.sh
# creates for the private cluster, with passwords, since docker-compose.yml
# connects over TCP:
#   yijian_owner  LOGIN CREATEROLE, owns database yijian, runs the migrations
#   yijian_app    NOLOGIN, holds the service's privileges
#   yijian        LOGIN, member of yijian_app: the service connects as it
# The image has already created database yijian (POSTGRES_DB).
set -euo pipefail

: "${YIJIAN_OWNER_PASSWORD:?YIJIAN_OWNER_PASSWORD must be set (docker-compose.yml passes it)}"
: "${YIJIAN_PASSWORD:?YIJIAN_PASSWORD must be set (docker-compose.yml passes it)}"
for v in YIJIAN_OWNER_PASSWORD YIJIAN_PASSWORD; do
    if [ "${!v}" = change-me ]; then
        echo "compose-initdb.sh: WARNING: $v is the default 'change-me'; set a real password" >&2
    fi
done

# Passwords go in as psql variables (:'name' quotes them as literals), never
# spliced into the SQL text by the shell.
psql -X -q -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
    -v owner_pw="$YIJIAN_OWNER_PASSWORD" -v app_pw="$YIJIAN_PASSWORD" <<'SQL'
SET client_min_messages = warning;
SELECT format('CREATE ROLE yijian_owner LOGIN CREATEROLE PASSWORD %L', :'owner_pw')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'yijian_owner') \gexec
SELECT 'CREATE ROLE yijian_app NOLOGIN'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'yijian_app') \gexec
SELECT format('CREATE ROLE yijian LOGIN PASSWORD %L', :'app_pw')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'yijian') \gexec
GRANT yijian_app TO yijian;
-- The service's sessions log nothing below FATAL: the service gets each
-- error back itself, and PostgreSQL's log must not date or describe an
-- anonymous request (docs/deployment.md).
ALTER ROLE yijian SET log_min_messages = 'fatal';
SELECT 'CREATE DATABASE yijian'
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'yijian') \gexec
-- The owner of the database also owns its schema public (PG15:
-- pg_database_owner), so it can create the tables; the service role cannot.
ALTER DATABASE yijian OWNER TO yijian_owner;
REVOKE ALL ON DATABASE yijian FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE yijian TO yijian_app;
SQL
echo "compose-initdb.sh: roles yijian_owner, yijian_app, yijian and database yijian ready" >&2

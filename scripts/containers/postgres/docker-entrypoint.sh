#!/usr/bin/env bash
# Entrypoint of the postgres:15 stand-in (see Dockerfile beside). Follows the
# official image's documented behaviour:
#   - arguments starting with '-' are options to postgres;
#   - started as root, it fixes the ownership of PGDATA and the socket
#     directory and re-executes itself as postgres;
#   - when PGDATA holds no cluster: initdb with POSTGRES_USER (default
#     postgres), POSTGRES_PASSWORD and POSTGRES_INITDB_ARGS; pg_hba lets
#     every host in with POSTGRES_HOST_AUTH_METHOD (default scram-sha-256);
#     a temporary server on the Unix socket only (so nothing outside sees
#     a half-made database) creates POSTGRES_DB and runs
#     /docker-entrypoint-initdb.d/* in name order (*.sh executed when
#     executable and sourced otherwise, *.sql and *.sql.gz fed to psql);
#   - VAR_FILE may stand for POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB,
#     POSTGRES_INITDB_ARGS (the value is read from that file);
#   - PGPORT sets the port (default 5432), for the server and the clients.
set -Eeo pipefail

file_env() { # VAR [DEFAULT]
    local var=$1 fileVar="${1}_FILE" def=${2:-} val
    if [ -n "${!var:-}" ] && [ -n "${!fileVar:-}" ]; then
        echo >&2 "error: both $var and $fileVar are set (but are exclusive)"
        exit 1
    fi
    val=$def
    if [ -n "${!var:-}" ]; then
        val=${!var}
    elif [ -n "${!fileVar:-}" ]; then
        val=$(<"${!fileVar}")
    fi
    export "$var"="$val"
    unset "$fileVar"
}

if [ "${1:0:1}" = '-' ]; then
    set -- postgres "$@"
fi

if [ "$1" != postgres ]; then
    exec "$@"
fi

if [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chmod 00700 "$PGDATA"
    chmod 03775 /var/run/postgresql
    find "$PGDATA" \! -user postgres -exec chown postgres '{}' +
    find /var/run/postgresql \! -user postgres -exec chown postgres '{}' +
    exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi

file_env POSTGRES_USER postgres
file_env POSTGRES_PASSWORD
file_env POSTGRES_DB "$POSTGRES_USER"
file_env POSTGRES_INITDB_ARGS
: "${POSTGRES_HOST_AUTH_METHOD:=}"
export PGPORT=${PGPORT:-5432}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
        cat >&2 <<'MSG'
Error: Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD to a non-empty value for the
       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".
       (Or POSTGRES_HOST_AUTH_METHOD=trust to allow all connections
       without a password: not recommended.)
MSG
        exit 1
    fi
    mkdir -p "$PGDATA"
    chmod 00700 "$PGDATA"

    # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of options
    initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
        $POSTGRES_INITDB_ARGS

    auth=${POSTGRES_HOST_AUTH_METHOD:-$(postgres -C password_encryption -D "$PGDATA")}
    printf '\nhost all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"

    # Temporary server: Unix socket only.
    export PGPASSWORD=$POSTGRES_PASSWORD
    pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p $PGPORT" -w start

    psql_init=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
    if [ "$POSTGRES_DB" != postgres ]; then
        db_exists=$("${psql_init[@]}" --dbname postgres -tAc \
            "SELECT 1 FROM pg_database WHERE datname = '${POSTGRES_DB//\'/\'\'}'")
        if [ -z "$db_exists" ]; then
            "${psql_init[@]}" --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db" ;'
        fi
    fi

    echo
    for f in /docker-entrypoint-initdb.d/*; do
        [ -e "$f" ] || continue
        case $f in
            *.sh)
                if [ -x "$f" ]; then
                    echo "$0: running $f"
                    "$f"
                else
                    echo "$0: sourcing $f"
                    # shellcheck disable=SC1090
                    . "$f"
                fi
                ;;
            *.sql)    echo "$0: running $f"; "${psql_init[@]}" --dbname "$POSTGRES_DB" -f "$f" ;;
            *.sql.gz) echo "$0: running $f"; gunzip -c "$f" | "${psql_init[@]}" --dbname "$POSTGRES_DB" ;;
            *)        echo "$0: ignoring $f" ;;
        esac
        echo
    done

    pg_ctl -D "$PGDATA" -m fast -w stop
    unset PGPASSWORD
    echo
    echo 'PostgreSQL init process complete; ready for start up.'
    echo
else
    echo
    echo 'PostgreSQL Database directory appears to contain a database; Skipping initialization'
    echo
fi

exec "$@"

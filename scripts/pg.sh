#!/usr/bin/env bash
# A private PostgreSQL 15 cluster in a directory, reached only through a
# Unix socket in DIR/run (no TCP), for `make run` (var/pg) and for tests
# (a throwaway cluster per run).
#
# Usage:
#   scripts/pg.sh start DIR            create (first time) and start; no-op if running
#   scripts/pg.sh stop DIR [MODE]      stop (MODE fast, or immediate to simulate a
#                                      crash); no error if not running / no cluster
#   scripts/pg.sh status DIR           exit 0 if running, 3 if not
#   scripts/pg.sh env DIR              print `export DATABASE_URL=...` and
#                                      `export DATABASE_OWNER_URL=...` lines (for eval)
#   scripts/pg.sh url DIR service|owner|super
#                                      print one libpq conninfo
#   scripts/pg.sh psql DIR [ARGS...]   psql as superuser postgres on db yijian
#   scripts/pg.sh psql-as ROLE DIR [ARGS...]
#                                      psql as ROLE on db yijian
#
# Layout: DIR/data (cluster), DIR/run (socket), DIR/log/postgres.log,
# DIR/.initialized (initdb + configuration done), DIR/.bootstrapped (roles
# and database created). A first run interrupted before a marker is redone.
#
# Roles: yijian_owner (LOGIN CREATEROLE, owns database yijian, runs the
# migrations), yijian_app (NOLOGIN, gets the service's privileges), yijian
# (LOGIN, member of yijian_app: the service connects as it).
#
# PostgreSQL refuses to run as root: as root, DIR belongs to the system
# user yijian-pg and the server runs as it (runuser); otherwise it runs as
# the calling user. Authentication is `trust`, and only the owner of the
# socket (and root) can connect to it (unix_socket_permissions = 0700).
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PG_USER=yijian-pg
PORT=5432
DB=yijian

# Settings from the caller's environment must not redirect our psql/pg_ctl
# to another server or cluster.
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGSERVICE PGSERVICEFILE PGDATA

prog=${0##*/}
die() { echo "$prog: $*" >&2; exit 1; }
usage() {
    sed -n '6,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}
is_root() { [ "$(id -u)" -eq 0 ]; }

# Absolute DIR, restricted to characters that need no quoting in
# postgresql.conf, in libpq conninfo strings and in the printed shell
# `export` lines.
set_dir() {
    [ -n "${1:-}" ] || usage
    DIR=$(realpath -m -- "$1")
    [[ $DIR =~ ^/[A-Za-z0-9._/+@%:=~-]*$ ]] ||
        die "DIR '$DIR' may only contain letters, digits and ._/+@%:=~- (no spaces, quotes, commas)"
    DATA=$DIR/data
    RUN=$DIR/run
    LOG=$DIR/log/postgres.log
}

conninfo() { # ROLE
    echo "host=$RUN port=$PORT dbname=$DB user=$1"
}

# Who runs the server: as root, the system user yijian-pg (or, for an
# existing cluster, whoever owns its data directory); else the caller.
pg_owner() {
    if [ -d "$DATA" ]; then stat -c %U -- "$DATA"; else echo "$PG_USER"; fi
}

# Run a PostgreSQL server-side program as the cluster's user. As root,
# from / so that the tools do not complain about an unreadable cwd.
# fd 9 (the start lock) is closed: a postmaster inheriting it would hold
# the lock for its whole life.
as_pg() {
    if is_root; then
        (cd / && runuser -u "$RUNAS" -- "$@" 9<&-)
    else
        "$@" 9<&-
    fi
}

pgctl() { as_pg "$PGBIN/pg_ctl" -D "$DATA" "$@"; }

# Running: pg_ctl status finds the PID of postmaster.pid alive, and that
# PID is a postgres process, not a zombie (a killed server that nobody
# reaped, common in containers whose PID 1 does not reap) nor a reused PID.
is_running() {
    [ -f "$DATA/PG_VERSION" ] || return 1
    if is_root; then
        RUNAS=$(pg_owner)
        [ "$RUNAS" != root ] || return 1
        id -u "$RUNAS" >/dev/null 2>&1 || return 1
    fi
    pgctl status >/dev/null 2>&1 || return 1
    local pid state comm
    pid=$(head -n 1 -- "$DATA/postmaster.pid" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$pid/status" 2>/dev/null) || return 1
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
    [ "$state" != Z ] && [[ $comm == postgres* ]]
}

show_log_tail() {
    if [ -r "$LOG" ]; then
        echo "--- last lines of $LOG ---" >&2
        tail -n 20 -- "$LOG" >&2 || true
    fi
}

ensure_pg_user() {
    id -u "$PG_USER" >/dev/null 2>&1 && return 0
    useradd --system --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin "$PG_USER" ||
        die "could not create system user $PG_USER"
}

# As root, yijian-pg must be able to reach DIR: every parent directory
# needs search (x) permission for it.
check_parents_traversable() {
    local d=$DIR parents=() bad
    while [ "$d" != / ]; do
        d=$(dirname -- "$d")
        parents=("$d" "${parents[@]}")
    done
    # shellcheck disable=SC2016 # $d expands in the inner sh
    bad=$(cd / && runuser -u "$PG_USER" -- sh -c \
        'for d do [ -x "$d" ] || { printf "%s" "$d"; exit 0; }; done' sh "${parents[@]}")
    if [ -n "$bad" ]; then
        die "directory '$bad' (mode $(stat -c %A -- "$bad"), owner $(stat -c %U -- "$bad")) is not searchable by user $PG_USER, which runs PostgreSQL because PostgreSQL refuses to run as root. Fix: chmod o+x '$bad', or choose a DIR whose parents are world-searchable (e.g. DIR=\$(mktemp -d) itself, not a subdirectory of it)."
    fi
}

# Everything under DIR belongs to the cluster's user (files created by
# root here, e.g. markers or a root-made DIR, are handed over).
fix_owner() {
    is_root || return 0
    find "$DIR" \( ! -user "$PG_USER" -o ! -group "$PG_USER" \) \
        -exec chown -h "$PG_USER:$PG_USER" {} + ||
        die "could not chown $DIR to $PG_USER"
}

init_cluster() {
    # No .initialized marker: a previous initdb may have been cut short.
    if [ -e "$DATA" ]; then
        echo "$prog: removing unfinished cluster in $DATA" >&2
        rm -rf -- "$DATA"
    fi
    mkdir -p -- "$DIR/log" "$RUN"
    chmod 0700 "$RUN"
    fix_owner

    local locale_opt=--no-locale
    # C.UTF-8: byte-order collation like C, but character classes, upper()
    # and lower() know non-ASCII letters. Built into Debian's glibc.
    if locale -a 2>/dev/null | grep -qix 'c\.utf-\{0,1\}8'; then
        locale_opt=--locale=C.UTF-8
    fi
    # --no-sync: initdb's own final flush of ~40 MB is most of its time;
    # the server itself runs with fsync on.
    if ! as_pg "$PGBIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 \
            "$locale_opt" --no-sync --no-instructions >"$DIR/log/initdb.log" 2>&1; then
        cat "$DIR/log/initdb.log" >&2 || true
        die "initdb failed for $DATA"
    fi

    cat >>"$DATA/postgresql.conf" <<EOF

# ---- added by scripts/pg.sh ----
listen_addresses = ''                  # no TCP: Unix socket only
port = $PORT
unix_socket_directories = '$RUN'
unix_socket_permissions = 0700         # only the cluster's user (and root)
fsync = on
timezone = 'UTC'
log_timezone = 'UTC'
log_line_prefix = '%m [%p] %q%u@%d '
include_if_exists = 'yijian-logging.conf'
EOF
    touch "$DIR/.initialized"
    fix_owner
}

bootstrap() {
    # Idempotent; the marker is written only after every statement passed.
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$RUN" -p "$PORT" -U postgres -d postgres <<'EOF' ||
SET client_min_messages = warning;
SELECT 'CREATE ROLE yijian_owner LOGIN CREATEROLE'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'yijian_owner') \gexec
SELECT 'CREATE ROLE yijian_app NOLOGIN'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'yijian_app') \gexec
SELECT 'CREATE ROLE yijian LOGIN'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'yijian') \gexec
GRANT yijian_app TO yijian;
SELECT 'CREATE DATABASE yijian OWNER yijian_owner'
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'yijian') \gexec
REVOKE ALL ON DATABASE yijian FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE yijian TO yijian_app;
EOF
        die "could not create the roles and database yijian (see $LOG)"
    touch "$DIR/.bootstrapped"
    fix_owner
}

# What PostgreSQL may write to its log (docs/deployment.md): nothing that
# could date or describe an anonymous request. No statement text (not with
# an error either), no durations, lock waits or connections; errors terse,
# without the DETAIL that names a key's value. The service role's own
# sessions log nothing below FATAL (logging_role below): the service gets
# each error back and logs what it may itself. Rewritten at every start,
# so that a cluster made before these settings gets them too.
write_logging_conf() {
    cat >"$DATA/yijian-logging.conf" <<'EOF'
# written by scripts/pg.sh at every start: edits are lost
log_statement = 'none'
log_min_error_statement = 'panic'
log_min_duration_statement = -1
log_duration = off
log_lock_waits = off
log_connections = off
log_disconnections = off
log_error_verbosity = 'terse'
log_autovacuum_min_duration = -1
log_temp_files = -1
log_checkpoints = off
EOF
    grep -q "^include_if_exists = 'yijian-logging.conf'" "$DATA/postgresql.conf" ||
        echo "include_if_exists = 'yijian-logging.conf'" >>"$DATA/postgresql.conf"
}

# The service role's sessions: log_min_messages is a superuser's setting,
# so the service cannot lower it again. Idempotent; run at every start.
logging_role() {
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$RUN" -p "$PORT" -U postgres -d postgres \
        -c "ALTER ROLE yijian SET log_min_messages = 'fatal'" >/dev/null ||
        die "could not set the logging of role yijian (see $LOG)"
}

cmd_start() {
    [ -x "$PGBIN/initdb" ] ||
        die "$PGBIN/initdb not found: install postgresql-15 (scripts/setup.sh does)"
    # A Unix socket path is at most 107 bytes: DIR/run/.s.PGSQL.5432
    [ $((${#RUN} + 14)) -le 107 ] ||
        die "DIR '$DIR' is too long for a Unix socket path ($RUN/.s.PGSQL.$PORT must be at most 107 bytes): use a shorter DIR"
    # Parents created here must be searchable by yijian-pg even under a
    # strict umask.
    (umask 022 && mkdir -p -- "$DIR") || die "cannot create $DIR"

    if ! is_root; then
        local owner
        owner=$(stat -c %U -- "$DIR")
        [ "$owner" = "$(id -un)" ] ||
            die "$DIR belongs to $owner (a cluster made as root belongs to $PG_USER): start it as root, or use another DIR"
    fi

    # Serialise concurrent starts of the same DIR.
    exec 9<"$DIR" || die "cannot open $DIR"
    flock 9

    if is_running; then
        [ -e "$DIR/.bootstrapped" ] || { bootstrap; logging_role; }
        return 0
    fi

    if is_root; then
        ensure_pg_user
        RUNAS=$PG_USER
        check_parents_traversable
        fix_owner
    fi
    chmod 0700 "$DIR"

    [ -e "$DIR/.initialized" ] || init_cluster

    # Not running (checked above), so lock files left by a crash are stale:
    # PostgreSQL would refuse to start if their PID is a zombie or has been
    # reused by another process.
    rm -f -- "$DATA/postmaster.pid" "$RUN/.s.PGSQL.$PORT.lock" "$RUN/.s.PGSQL.$PORT"
    mkdir -p -- "$DIR/log" "$RUN"
    write_logging_conf
    fix_owner

    if ! pgctl -l "$LOG" -w -t 60 -s start >/dev/null; then
        show_log_tail
        die "PostgreSQL did not start in $DATA"
    fi
    [ -e "$DIR/.bootstrapped" ] || bootstrap
    logging_role
}

cmd_stop() {
    local mode=${1:-fast}
    case $mode in fast|immediate) ;; *) die "stop mode must be fast or immediate, not $mode" ;; esac
    is_running || return 0
    if ! pgctl -m "$mode" -w -t 60 -s stop >/dev/null; then
        show_log_tail
        die "PostgreSQL in $DATA did not stop"
    fi
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
    start)  [ $# -eq 1 ] || usage; set_dir "$1"; cmd_start ;;
    stop)   [ $# -ge 1 ] && [ $# -le 2 ] || usage; set_dir "$1"; cmd_stop "${2:-fast}" ;;
    status) [ $# -eq 1 ] || usage; set_dir "$1"; is_running || exit 3 ;;
    env)
        [ $# -eq 1 ] || usage; set_dir "$1"
        echo "export DATABASE_URL='$(conninfo yijian)'"
        echo "export DATABASE_OWNER_URL='$(conninfo yijian_owner)'"
        ;;
    url)
        [ $# -eq 2 ] || usage; set_dir "$1"
        case $2 in
            service) conninfo yijian ;;
            owner)   conninfo yijian_owner ;;
            super)   conninfo postgres ;;
            *) die "unknown role kind '$2' (service, owner or super)" ;;
        esac
        ;;
    psql)
        [ $# -ge 1 ] || usage; set_dir "$1"; shift
        exec "$PGBIN/psql" -X -v ON_ERROR_STOP=1 -h "$RUN" -p "$PORT" -U postgres -d "$DB" "$@"
        ;;
    psql-as)
        [ $# -ge 2 ] || usage; role=$1; set_dir "$2"; shift 2
        exec "$PGBIN/psql" -X -v ON_ERROR_STOP=1 -h "$RUN" -p "$PORT" -U "$role" -d "$DB" "$@"
        ;;
    -h|--help|help) usage ;;
    *) usage ;;
esac

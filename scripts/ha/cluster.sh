#!/usr/bin/env bash
# A highly available PostgreSQL 15 on one machine, for tests and trials:
# pg_auto_failover's monitor, a primary and a synchronous secondary, each
# a cluster in DIR listening on 127.0.0.1 (docs/deployment.md, "A highly
# available database", says how the same is laid out on three machines).
#
# Usage:
#   scripts/ha/cluster.sh start DIR [BASE_PORT]   create (first time) and start; the
#                                                 monitor on BASE_PORT (default 54400),
#                                                 the nodes on BASE_PORT+1 and +2
#   scripts/ha/cluster.sh stop DIR                stop the keepers and their PostgreSQL
#   scripts/ha/cluster.sh url DIR service|owner   the multi-host conninfo yijian uses
#   scripts/ha/cluster.sh state DIR               pg_autoctl show state
#   scripts/ha/cluster.sh primary DIR             name, port and postmaster PID of the primary
#   scripts/ha/cluster.sh psql DIR [ARGS...]      psql as superuser on the primary, db yijian
#   scripts/ha/cluster.sh kill-primary DIR        the primary's machine lost: SIGKILL of its
#                                                 keeper (pg_autoctl) and of its postmaster;
#                                                 prints the name of the node killed
#   scripts/ha/cluster.sh rejoin DIR NAME         restart NAME's keeper (it rejoins as secondary)
#
# PostgreSQL and pg_autoctl refuse to run as root: as root, DIR belongs to
# the system user yijian-pg (scripts/setup.sh creates it) and everything
# runs as that user. Unix sockets go to DIR/sock (PG_REGRESS_SOCK_DIR,
# which pg_autoctl honours), not /var/run/postgresql. Authentication is `trust` from 127.0.0.1 only: for a
# test on one machine, never for a real deployment.
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PG_USER=yijian-pg
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGSERVICE PGSERVICEFILE PGDATA

prog=${0##*/}
die() { echo "$prog: $*" >&2; exit 1; }
usage() { sed -n '6,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
is_root() { [ "$(id -u)" -eq 0 ]; }

set_dir() {
    [ -n "${1:-}" ] || usage
    DIR=$(realpath -m -- "$1")
    [[ $DIR =~ ^/[A-Za-z0-9._/+@%:=~-]*$ ]] || die "DIR may only contain letters, digits and ._/+@%:=~-"
}

as_pg() {
    if is_root; then
        (cd / && runuser -u "$PG_USER" -- env PATH="$PGBIN:$PATH" XDG_CONFIG_HOME="$DIR/config" \
            XDG_DATA_HOME="$DIR/share" XDG_RUNTIME_DIR="$DIR/run" PG_REGRESS_SOCK_DIR="$DIR/sock" PGHOST="$DIR/sock" "$@")
    else
        env PATH="$PGBIN:$PATH" XDG_CONFIG_HOME="$DIR/config" XDG_DATA_HOME="$DIR/share" \
            XDG_RUNTIME_DIR="$DIR/run" PG_REGRESS_SOCK_DIR="$DIR/sock" PGHOST="$DIR/sock" "$@"
    fi
}

ports() {
    BASE=$(cat "$DIR/base_port")
    MON_PORT=$BASE
    P1=$((BASE + 1))
    P2=$((BASE + 2))
}

monitor_uri() {
    echo "postgres://autoctl_node@127.0.0.1:$MON_PORT/pg_auto_failover?sslmode=disable"
}

# Runs `pg_autoctl run` for one node in the background, detached, its
# output in DIR/log/NAME.log; the PID goes to DIR/run/NAME.pid.
run_keeper() { # NAME
    local name=$1
    as_pg bash -c "nohup pg_autoctl run --pgdata '$DIR/$name' >>'$DIR/log/$name.log' 2>&1 </dev/null & echo \$! >'$DIR/run/$name.pid'"
}

keeper_running() { # NAME
    local pidf=$DIR/run/$1.pid
    [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null
}

wait_for() { # SECONDS DESCRIPTION COMMAND...
    local secs=$1 what=$2
    shift 2
    for ((i = 0; i < secs * 5; i++)); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    die "$what did not happen within $secs s (logs in $DIR/log)"
}

state() {
    as_pg pg_autoctl show state --pgdata "$DIR/monitor" 2>/dev/null
}

both_ready() {
    local s
    s=$(state) || return 1
    grep -q ' primary *| *primary' <<<"$s" && grep -q ' secondary *| *secondary' <<<"$s"
}

# pg_autoctl runs initdb as the user it runs as, so the clusters'
# superuser is that user (yijian-pg as root, else the caller).
superuser() { if is_root; then echo "$PG_USER"; else id -un; fi; }

psql_at() { # PORT ARGS...
    local port=$1
    shift
    as_pg "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$(superuser)" "$@"
}

primary_port() {
    ports
    for p in $P1 $P2; do
        if [ "$(psql_at "$p" -d postgres -Atc 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ]; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

# The monitor decides faster than by default (which suits real machines
# and networks: docs/deployment.md): a node is declared unhealthy after
# about 3 s without answering instead of 20 s, and a primary that cannot
# be reached is given up on after 3 s instead of 30 s. Only for this
# machine, where nothing but a killed process can make a node silent.
tune_monitor() {
    psql_at "$MON_PORT" -d pg_auto_failover <<'EOF'
ALTER SYSTEM SET pgautofailover.health_check_period = 1000;
ALTER SYSTEM SET pgautofailover.health_check_timeout = 1000;
ALTER SYSTEM SET pgautofailover.health_check_max_retries = 1;
ALTER SYSTEM SET pgautofailover.health_check_retry_delay = 500;
ALTER SYSTEM SET pgautofailover.node_considered_unhealthy_timeout = 3000;
ALTER SYSTEM SET pgautofailover.primary_demote_timeout = 3000;
ALTER SYSTEM SET pgautofailover.startup_grace_period = 3000;
SELECT pg_reload_conf();
EOF
}

# The roles and database of yijian (as scripts/pg.sh makes them), and the
# logging settings that keep anonymous acts out of PostgreSQL's log
# (docs/deployment.md). On the primary; the secondary gets them by
# replication (roles, database) and by its base backup (ALTER SYSTEM).
bootstrap() {
    psql_at "$P1" -d postgres <<'EOF'
SET client_min_messages = warning;
SELECT 'CREATE ROLE yijian_owner LOGIN CREATEROLE'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'yijian_owner') \gexec
SELECT 'CREATE ROLE yijian_app NOLOGIN'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'yijian_app') \gexec
SELECT 'CREATE ROLE yijian LOGIN'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'yijian') \gexec
GRANT yijian_app TO yijian;
ALTER DATABASE yijian OWNER TO yijian_owner;
REVOKE ALL ON DATABASE yijian FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE yijian TO yijian_app;
ALTER ROLE yijian SET log_min_messages = 'fatal';
ALTER SYSTEM SET log_statement = 'none';
ALTER SYSTEM SET log_min_error_statement = 'panic';
ALTER SYSTEM SET log_min_duration_statement = -1;
ALTER SYSTEM SET log_lock_waits = off;
ALTER SYSTEM SET log_connections = off;
ALTER SYSTEM SET log_disconnections = off;
ALTER SYSTEM SET log_error_verbosity = 'terse';
SELECT pg_reload_conf();
EOF
}

# yijian and psql reach the nodes over 127.0.0.1; pg_autoctl's own rules
# cover replication and the monitor.
allow_local() { # NAME
    local hba=$DIR/$1/pg_hba.conf
    grep -q '^host all all 127.0.0.1/32 trust' "$hba" || echo 'host all all 127.0.0.1/32 trust' >>"$hba"
}

cmd_start() {
    set_dir "${1:-}"
    local base=${2:-54400}
    mkdir -p "$DIR"
    [ -f "$DIR/base_port" ] || echo "$base" >"$DIR/base_port"
    ports
    mkdir -p "$DIR/log" "$DIR/run" "$DIR/config" "$DIR/share" "$DIR/sock"
    if is_root; then
        id "$PG_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_USER"
        chown -R "$PG_USER:" "$DIR"
    fi
    chmod 700 "$DIR/run"
    # PG_REGRESS_SOCK_DIR (as_pg) puts the Unix sockets in DIR/sock.
    local common=(--hostname 127.0.0.1 --listen 127.0.0.1 --auth trust --no-ssl --pgctl "$PGBIN/pg_ctl")

    if [ ! -f "$DIR/monitor/PG_VERSION" ]; then
        as_pg pg_autoctl create monitor --pgdata "$DIR/monitor" --pgport "$MON_PORT" "${common[@]}" \
            >>"$DIR/log/create-monitor.log" 2>&1 || die "could not create the monitor (see $DIR/log/create-monitor.log)"
    fi
    keeper_running monitor || run_keeper monitor
    wait_for 60 "the monitor accepting connections" psql_at "$MON_PORT" -d pg_auto_failover -c 'SELECT 1'

    if [ ! -f "$DIR/node1/PG_VERSION" ]; then
        as_pg pg_autoctl create postgres --pgdata "$DIR/node1" --pgport "$P1" --name node1 \
            --dbname yijian --monitor "$(monitor_uri)" "${common[@]}" \
            >>"$DIR/log/create-node1.log" 2>&1 || die "could not create node1 (see $DIR/log/create-node1.log)"
        allow_local node1
    fi
    keeper_running node1 || run_keeper node1
    wait_for 90 "node1 accepting connections" psql_at "$P1" -d postgres -c 'SELECT 1'
    if [ ! -f "$DIR/.bootstrapped" ]; then
        wait_for 90 "node1 becoming primary" bash -c "[ \"\$(PGBIN=$PGBIN '$0' primary-port '$DIR')\" = $P1 ]"
        bootstrap
        touch "$DIR/.bootstrapped"
    fi

    if [ ! -f "$DIR/node2/PG_VERSION" ]; then
        as_pg pg_autoctl create postgres --pgdata "$DIR/node2" --pgport "$P2" --name node2 \
            --dbname yijian --monitor "$(monitor_uri)" "${common[@]}" \
            >>"$DIR/log/create-node2.log" 2>&1 || die "could not create node2 (see $DIR/log/create-node2.log)"
        allow_local node2
    fi
    keeper_running node2 || run_keeper node2
    wait_for 180 "a primary and a secondary" both_ready
    # Once both run: a node that starts slowly on a busy machine is not
    # declared failed while it is being set up.
    tune_monitor >/dev/null
    state
}

cmd_stop() {
    set_dir "${1:-}"
    [ -d "$DIR" ] || return 0
    for n in node2 node1 monitor; do
        [ -d "$DIR/$n" ] || continue
        as_pg pg_autoctl stop --pgdata "$DIR/$n" >/dev/null 2>&1 || true
    done
    for n in node2 node1 monitor; do
        local pidf=$DIR/run/$n.pid
        [ -f "$pidf" ] || continue
        for ((i = 0; i < 100; i++)); do kill -0 "$(cat "$pidf")" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$(cat "$pidf")" 2>/dev/null || true
        rm -f "$pidf"
    done
}

cmd_url() {
    set_dir "${1:-}"
    ports
    local role
    case "${2:-}" in
    service) role=yijian ;;
    owner) role=yijian_owner ;;
    *) usage ;;
    esac
    echo "host=127.0.0.1,127.0.0.1 port=$P1,$P2 dbname=yijian user=$role target_session_attrs=read-write connect_timeout=2"
}

cmd_primary() {
    set_dir "${1:-}"
    ports
    local port
    port=$(primary_port) || die "no primary answers"
    local name=node1
    [ "$port" = "$P2" ] && name=node2
    echo "$name $port $(head -1 "$DIR/$name/postmaster.pid")"
}

# Every process of a keeper's tree, the keeper first (so that nothing is
# left to restart the others).
keeper_tree() { # PID
    echo "$1"
    local c
    for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do keeper_tree "$c"; done
}

cmd_kill_primary() {
    set_dir "${1:-}"
    ports
    local port name
    port=$(primary_port) || die "no primary answers"
    name=node1
    [ "$port" = "$P2" ] && name=node2
    local pids
    pids=$(keeper_tree "$(cat "$DIR/run/$name.pid")")
    local pm
    pm=$(head -1 "$DIR/$name/postmaster.pid")
    # shellcheck disable=SC2086 # one PID a word
    kill -KILL $pids "$pm" 2>/dev/null || true
    rm -f "$DIR/run/$name.pid"
    echo "$name"
}

cmd_rejoin() {
    set_dir "${1:-}"
    local name=${2:-}
    [ "$name" = node1 ] || [ "$name" = node2 ] || usage
    ports
    keeper_running "$name" || run_keeper "$name"
    wait_for 180 "a primary and a secondary again" both_ready
}

cmd=${1:-}
shift || true
case "$cmd" in
start) cmd_start "$@" ;;
stop) cmd_stop "$@" ;;
url) cmd_url "$@" ;;
state) set_dir "${1:-}"; state ;;
primary) cmd_primary "$@" ;;
kill-primary) cmd_kill_primary "$@" ;;
rejoin) cmd_rejoin "$@" ;;
primary-port) set_dir "${1:-}"; primary_port ;;
psql) set_dir "${1:-}"; shift; ports; psql_at "$(primary_port)" -d yijian "$@" ;;
*) usage ;;
esac

#!/usr/bin/env bash
# What `make run` calls after scripts/setup.sh and the build: runs
# build/yijian serve in the foreground of the terminal until Ctrl-C.
#
# Usage: scripts/run.sh [EXTRA SERVE ARGS...]
#
# Without DATABASE_URL it starts (creating it the first time) a private
# PostgreSQL cluster in var/pg and points DATABASE_URL/DATABASE_OWNER_URL
# at it; the cluster is stopped again on exit if this script started it.
# Every other variable of the environment (LISTEN, ...) reaches the service
# as it is.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

die() { echo "run.sh: $*" >&2; exit 1; }

bin=build/yijian
[ -x "$bin" ] || die "$bin not found or not executable: build it first (make run does)"

# var/ must be searchable by yijian-pg when run as root (see pg.sh).
(umask 022 && mkdir -p var)

# The master key that seals the secrets in the database (token keys):
# created once, readable by this user only, and kept with the cluster's
# data. Losing it makes the stored secrets unreadable. A MASTER_KEY or
# MASTER_KEY_FILE set by the caller wins.
if [ -z "${MASTER_KEY:-}" ] && [ -z "${MASTER_KEY_FILE:-}" ]; then
    key=var/master.key
    if [ ! -e "$key" ]; then
        echo "creating a master key in $key (mode 0600)"
        (umask 077 && od -An -v -tx1 -N32 /dev/urandom | tr -d ' \n' >"$key.tmp" &&
            echo >>"$key.tmp" && mv "$key.tmp" "$key") || die "could not create $key"
    fi
    export MASTER_KEY_FILE=$root/$key
fi

pg_dir=var/pg
we_started_pg=0
if [ -z "${DATABASE_URL:-}" ]; then
    echo "starting private PostgreSQL in $pg_dir (first run creates it)"
    # A cluster that was already running (e.g. started by hand) is left
    # running on exit.
    scripts/pg.sh status "$pg_dir" || we_started_pg=1
    scripts/pg.sh start "$pg_dir"
    eval "$(scripts/pg.sh env "$pg_dir")"
fi

stop_pg() {
    if [ "$we_started_pg" -eq 1 ]; then
        scripts/pg.sh stop "$pg_dir" || echo "run.sh: could not stop PostgreSQL in $pg_dir" >&2
    fi
}

svc=
# shellcheck disable=SC2317 # called through trap
on_signal() {
    trap '' INT TERM
    if [ -n "$svc" ]; then
        kill -TERM "$svc" 2>/dev/null || true
        wait "$svc" 2>/dev/null || true
    fi
    stop_pg
    exit 0
}
trap on_signal INT TERM

# In the background so that this shell can take Ctrl-C (SIGINT) and turn
# it into a SIGTERM for the service (a background job of a script ignores
# SIGINT itself), then stop the cluster.
"$bin" serve "$@" &
svc=$!

echo "yijian is serving on http://${LISTEN:-127.0.0.1:8080} (Ctrl-C stops it)"

status=0
wait "$svc" || status=$?
# Here the service exited by itself (a signal would have run on_signal).
trap - INT TERM
echo "run.sh: yijian exited with status $status" >&2
stop_pg
exit "$status"

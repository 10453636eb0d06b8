#!/usr/bin/env bash
# `make bench`: submission throughput with the audit sealer on and off
# (issue 6: sealing on must stay within 5% of sealing off).
#
# Starts a throwaway PostgreSQL cluster (scripts/pg.sh: Unix socket only,
# fsync on) in a temporary directory, builds a world through the CLI and the
# API (bench/world.mjs: N branches with a secretary each, one member in all
# of them) and keeps a copy of that database as a template. Each run starts
# from a fresh copy of it (submission gets slower as suggestions pile up,
# so runs on a growing database would not compare), starts the release
# binary on 127.0.0.1, warms up for 3 s, then runs wrk with
# bench/submit.lua (POST /v1/suggestions, spread over the branches) for
# BENCH_SECONDS; runs alternate SEAL_INTERVAL=1 (on) and SEAL_INTERVAL=0
# (off) as on, off, off, on, ... After an "on" run the sealer must catch up
# and verify-audit must report the chain intact. Prints req/s of every run,
# the means and the ratio; exits 1 when sealing on is more than 5% below
# sealing off.
#
# Environment: BENCH_SECONDS (20), BENCH_ROUNDS (2: four runs),
# BENCH_CONNECTIONS (32), BENCH_WRK_THREADS (2), BENCH_UNITS (8),
# BENCH_HTTP_THREADS (4), YIJIAN_BIN (build/yijian, built by `make bench`).
set -euo pipefail
cd "$(dirname "$0")/.."

RUN_SECONDS=${BENCH_SECONDS:-20}
ROUNDS=${BENCH_ROUNDS:-2}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
WRK_THREADS=${BENCH_WRK_THREADS:-2}
UNIT_COUNT=${BENCH_UNITS:-8}
HTTP_THREADS=${BENCH_HTTP_THREADS:-4}
BIN=${YIJIAN_BIN:-build/yijian}
THRESHOLD=0.95

die() { echo "bench: $*" >&2; exit 1; }

if ! command -v wrk >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then
        echo "bench: installing wrk (apt-get)" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wrk >/dev/null ||
            die "could not install wrk"
    else
        die "wrk is missing: sudo apt-get install wrk"
    fi
fi
command -v node >/dev/null 2>&1 || die "node is missing (make setup installs it)"
[ -x "$BIN" ] || die "$BIN is missing: make build/yijian"

dir=$(mktemp -d "${TMPDIR:-/tmp}/yijian-bench-XXXXXX")
chmod 755 "$dir" # as root, the cluster's own user must reach it
svc_pid=
cleanup() {
    if [ -n "$svc_pid" ]; then
        kill -TERM "$svc_pid" 2>/dev/null || true
        wait "$svc_pid" 2>/dev/null || true
    fi
    scripts/pg.sh stop "$dir" >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

scripts/pg.sh start "$dir" >/dev/null
eval "$(scripts/pg.sh env "$dir")"
export MASTER_KEY_FILE=$dir/master.key
(umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$MASTER_KEY_FILE" && echo >>"$MASTER_KEY_FILE")
export HTTP_THREADS LOG_LEVEL=warn
sql() { scripts/pg.sh psql "$dir" -At -c "$1"; }
unsealed() {
    sql "select count(*) from audit_log l where not exists (select 1 from audit_chain c where c.audit_id = l.id)"
}

url=
runs=0
start_service() { # SEAL_INTERVAL
    runs=$((runs + 1))
    local log=$dir/service-$runs.log
    SEAL_INTERVAL=$1 LISTEN=127.0.0.1:0 LOG_LEVEL=info "$BIN" serve 2>"$log" &
    svc_pid=$!
    url=
    for _ in $(seq 1 100); do
        url=$(sed -n 's/.*"msg":"listening","url":"\([^"]*\)".*/\1/p' "$log" | head -n1)
        [ -n "$url" ] && return 0
        kill -0 "$svc_pid" 2>/dev/null || break
        sleep 0.1
    done
    cat "$log" >&2
    die "the service did not start"
}
stop_service() {
    kill -TERM "$svc_pid"
    wait "$svc_pid" || die "the service exited with status $?"
    svc_pid=
}

wait_sealed() {
    for _ in $(seq 1 600); do
        [ "$(unsealed)" = 0 ] && return 0
        sleep 0.2
    done
    die "the sealer did not catch up within 120 s"
}

# ---- the world ------------------------------------------------------------------
"$BIN" migrate
code=$("$BIN" create-admin bench-admin 管理员)
start_service 1
eval "$(node bench/world.mjs "$url" bench-admin "$code" "$UNIT_COUNT")"
export BENCH_TOKEN BENCH_UNITS BENCH_CATEGORY
wait_sealed
stop_service
admin_sql() { scripts/pg.sh psql "$dir" -d postgres -q -At -c "$1"; }
admin_sql "CREATE DATABASE yijian_bench_template TEMPLATE yijian"
# A fresh copy of the template, with the database rights pg.sh gives.
reset_db() {
    admin_sql "DROP DATABASE yijian"
    admin_sql "CREATE DATABASE yijian TEMPLATE yijian_bench_template OWNER yijian_owner"
    admin_sql "REVOKE ALL ON DATABASE yijian FROM PUBLIC"
    admin_sql "GRANT CONNECT, TEMPORARY ON DATABASE yijian TO yijian_app"
}

# ---- the runs -------------------------------------------------------------------
echo "yijian bench: POST /v1/suggestions, $CONNECTIONS connections, $WRK_THREADS wrk threads," \
     "${RUN_SECONDS}s per run after 3s of warm-up, $UNIT_COUNT units, HTTP_THREADS=$HTTP_THREADS," \
     "$(nproc) CPUs, $(psql --version | head -n1), fsync $(sql 'show fsync')"
on_sum=0
off_sum=0
run() { # on|off
    local interval=0
    [ "$1" = on ] && interval=1
    reset_db
    start_service "$interval"
    wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d3s -s bench/submit.lua "$url/v1/suggestions" >/dev/null
    local out result rps behind verified=
    out=$(wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${RUN_SECONDS}s" -s bench/submit.lua "$url/v1/suggestions")
    result=$(grep '^RESULT' <<<"$out") || die "wrk printed no result: $out"
    behind=$(unsealed)
    case "$result" in *" non2xx=0 errors=0 "*) ;; *) die "requests failed: $result" ;; esac
    rps=$(sed -n 's/.* rps=\([0-9.]*\) .*/\1/p' <<<"$result")
    if [ "$1" = on ]; then
        # The sealer kept up for real: everything sealed, and the chain verifies.
        wait_sealed
        verified=$("$BIN" verify-audit | head -n1)
        case "$verified" in intact*) ;; *) die "the chain does not verify: $verified" ;; esac
        verified="; then $verified"
        on_sum=$(awk "BEGIN { print $on_sum + $rps }")
    else
        off_sum=$(awk "BEGIN { print $off_sum + $rps }")
    fi
    printf '  sealing %-3s %8.1f req/s  %s  unsealed at the end: %s%s\n' "$1" "$rps" \
        "$(sed -n 's/.*\(p50_ms=[0-9.]* p99_ms=[0-9.]*\).*/\1/p' <<<"$result")" "$behind" "$verified"
    stop_service
}
for r in $(seq 1 "$ROUNDS"); do
    if [ $((r % 2)) -eq 1 ]; then run on; run off; else run off; run on; fi
done

awk -v on="$on_sum" -v off="$off_sum" -v n="$ROUNDS" -v t="$THRESHOLD" 'BEGIN {
    on /= n; off /= n; ratio = on / off
    printf "sealing on:  %.1f req/s (mean of %d runs)\n", on, n
    printf "sealing off: %.1f req/s (mean of %d runs)\n", off, n
    verdict = "within 5%"
    if (ratio < t) verdict = "MORE THAN 5% SLOWER"
    printf "ratio on/off: %.3f (%+.1f%%): %s\n", ratio, (ratio - 1) * 100, verdict
    if (ratio < t) exit 1
}'

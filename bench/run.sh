#!/usr/bin/env bash
# `make bench` (issue 10): yijian measured against the limits of the machine
# it runs on, in one run, on one throwaway PostgreSQL cluster; results and
# what they mean are in docs/performance.md.
#
#  1. A cluster (scripts/pg.sh; fsync and synchronous_commit on), the
#     schema, an organisation built through the CLI and the API
#     (bench/world.mjs: 50 branches with a secretary each), then data written
#     straight into the real schema (bench/load.sql: 2,000 accounts,
#     BENCH_SUGGESTIONS suggestions with Chinese text, threads, answers,
#     audit rows), 24 bulletins published through the CLI, sessions for
#     every account, anonymity tokens fetched by `yijian member login`.
#  2. The limits: (a) bench/hello.c, libmicrohttpd answering a fixed
#     200-byte JSON body with the service's thread settings; (b) pgbench
#     -M prepared running, for each endpoint, the service's own statements
#     (bench/stmts.c prints them from db/statements.c) pipelined into one
#     round trip, with as many clients as the service has database
#     connections; (c) bench/h2g.c, one ristretto255 hash-to-group plus one
#     scalar multiplication.
#  3. The cases, each with `wrk -t2 -c64` (a warm-up of 2 s, then
#     BENCH_SECONDS): healthz, a bulletin, a suggestion read by its
#     unit's secretary, the secretary's assignee=me list, named and
#     anonymous submission, token issuance; sealing on against off; RSS
#     with 1,000 idle keep-alive connections; and the scale case (10,000
#     against BENCH_SCALE suggestions: read and list p50, two-character
#     search p50).
#     And GET /v1/stats over a tree of 10,000 units, 1,000 deep
#     (bench/stats-tree.sh, on a cluster of its own; runnable alone).
#  4. One table: req/s, p50, p99, the limit, the ratio, the target, pass.
#     Exit 1 when a target is missed.
#
# Environment: BENCH_QUICK=1 (a smoke run: 5 s cases, 10,000 suggestions,
# scale 10,000 -> 100,000), BENCH_SECONDS (15), BENCH_SUGGESTIONS (100000),
# BENCH_SCALE (1000000; 0 skips the scale case), BENCH_HTTP_THREADS (4),
# BENCH_BEFORE (a commit: the before/after case; empty skips it),
# BENCH_BEFORE_BIN (that commit's binary, built already),
# BENCH_WRK_TIMEOUT (10s), BENCH_KEEP=1 (keep the cluster directory), BENCH_SCALE_ONLY=1 (with
# BENCH_SUGGESTIONS=0: only the scale case), YIJIAN_BIN (build/yijian).
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then
    SECS=${BENCH_SECONDS:-5}; N=${BENCH_SUGGESTIONS:-10000}; SCALE=${BENCH_SCALE:-100000}
else
    SECS=${BENCH_SECONDS:-15}; N=${BENCH_SUGGESTIONS:-100000}; SCALE=${BENCH_SCALE:-1000000}
fi
SMALL=10000
HTTP_THREADS=${BENCH_HTTP_THREADS:-4}
# What the before/after case compares this binary with: the commit
# BENCH_BEFORE, or by default this tree (HEAD) without the commit
# BENCH_BEFORE_REVERT (the change that took the workflow's writes to a few
# round trips, issue 21), reverted in a copy. The "before" binary runs on
# this one's database, so it must know every migration this one has (an
# older commit refuses to start); a reverted copy always does. Both empty:
# no such case.
BEFORE=${BENCH_BEFORE-}
REVERT=${BENCH_BEFORE_REVERT-76d684d}
# A request not answered within BENCH_WRK_TIMEOUT counts as an error (and
# an error fails the run); wrk's own default of 2 s failed whole runs on a
# machine loaded by others, where the p99 of a write passed 2 s.
WRK="wrk -t2 -c64 --latency --timeout ${BENCH_WRK_TIMEOUT:-10s}"
BIN=${YIJIAN_BIN:-build/yijian}
HELLO=build/bench/hello H2G=build/bench/h2g STMTS=build/bench/stmts
UNITS=50 BULLETINS=24 SEARCH_WORD=食堂

die() { echo "bench: $*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
for tool in wrk pgbench node python3 curl; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (scripts/packages.txt; make setup)"
done
for b in "$BIN" $HELLO $H2G $STMTS; do [ -x "$b" ] || die "$b is missing: make bench builds it"; done

dir=$(mktemp -d "${TMPDIR:-/tmp}/yijian-bench-XXXXXX")
chmod 755 "$dir"
# A copy: a rebuild during the run must not change the binary half-way.
cp "$BIN" "$dir/yijian" && BIN=$dir/yijian
svc_pid= hello_pid= idle_pid=
cleanup() {
    for p in $idle_pid $hello_pid $svc_pid; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    scripts/pg.sh stop "$dir" >/dev/null 2>&1 || true
    if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "bench: kept $dir" >&2; else rm -rf "$dir"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

results=$dir/results # case|rps|p50|p99|limit name|limit|ratio|target|verdict
: >"$results"
record() { echo "$*" >>"$results"; }

# ---- the cluster ------------------------------------------------------------
say "cluster in $dir (fsync on, synchronous_commit on)"
scripts/pg.sh start "$dir" >/dev/null
super() { scripts/pg.sh psql "$dir" -q -At "$@"; }
super -d postgres -c "ALTER SYSTEM SET fsync = on" -c "ALTER SYSTEM SET synchronous_commit = on" \
    -c "ALTER SYSTEM SET shared_buffers = '256MB'" -c "ALTER SYSTEM SET max_wal_size = '4GB'" \
    -c "ALTER SYSTEM SET checkpoint_timeout = '15min'"
scripts/pg.sh stop "$dir" >/dev/null && scripts/pg.sh start "$dir" >/dev/null
eval "$(scripts/pg.sh env "$dir")"
RUNDIR=$dir/run
export MASTER_KEY_FILE=$dir/master.key
(umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$MASTER_KEY_FILE" && echo >>"$MASTER_KEY_FILE")
# Every connection comes from 127.0.0.1 (wrk's 64, the 1,000 idle ones of
# the memory case), as it would through a reverse proxy: no per-address cap.
export HTTP_THREADS LOG_LEVEL=warn TOKEN_QUOTA=1000 MAX_CONNECTIONS=1200 CONNECTION_TIMEOUT=120 \
    MAX_CONNECTIONS_PER_IP=0
sql() { super -c "$1"; }

# A case measured in several runs: each appends its "rps p50 p99" line to
# $dir/runs-NAME (keep); a figure is the mean of a column over the runs.
keep() { [ -n "$2" ] || die "a run of $1 printed nothing"; echo "$2" >>"$dir/runs-$1"; } # NAME LINE
mean_of() { awk -v c="$2" '{ s += $c } END { printf "%.2f", s / NR }' "$dir/runs-$1"; } # NAME COLUMN
runs_of() { awk '{ print $1 }' "$dir/runs-$1" | paste -sd ' '; }

url=
start_service() { # SEAL_INTERVAL
    local log=$dir/service.log
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
    [ -n "$svc_pid" ] || return 0
    kill -TERM "$svc_pid"
    wait "$svc_pid" || die "the service exited with status $?"
    svc_pid=
}
unsealed() { sql "SELECT count(*) FROM audit_log l WHERE NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.audit_id = l.id)"; }
wait_sealed() {
    local left
    for _ in $(seq 1 1800); do
        left=$(unsealed)
        [ "$left" = 0 ] && return 0
        sleep 1
    done
    die "the sealer did not catch up ($left rows left)"
}
# Databases: yijian is what the service uses; templates keep a state to
# start from again (FILE_COPY: no WAL for the copy).
admin_sql() { super -d postgres -c "$1"; }
save_db() { admin_sql "DROP DATABASE IF EXISTS $1"; admin_sql "CREATE DATABASE $1 TEMPLATE yijian STRATEGY FILE_COPY"; }
restore_db() {
    admin_sql "DROP DATABASE yijian"
    admin_sql "CREATE DATABASE yijian TEMPLATE $1 OWNER yijian_owner STRATEGY FILE_COPY"
    admin_sql "REVOKE ALL ON DATABASE yijian FROM PUBLIC"
    admin_sql "GRANT CONNECT, TEMPORARY ON DATABASE yijian TO yijian_app"
}

# ---- the world --------------------------------------------------------------
say "schema and organisation (CLI and API)"
"$BIN" migrate >/dev/null 2>&1 || "$BIN" migrate
code=$("$BIN" create-admin bench-admin 管理员)
start_service 1
anon_members=$(( SECS * 400 / 1000 + 2 ))
eval "$(node bench/world.mjs "$url" bench-admin "$code" "$UNITS" "$anon_members")"
export BENCH_TOKEN BENCH_UNITS BENCH_CATEGORY
unit1=${BENCH_UNITS%%,*}
# pgbench picks a unit and its secretary by offset: check they are contiguous.
[ "$(sql "SELECT count(*) FROM org_units u JOIN memberships m ON m.unit_id = u.id AND m.role = 'secretary'
          WHERE u.parent_id = $BENCH_ROOT AND m.account_id - $BENCH_SECRETARY_ID = u.id - $unit1
          AND u.id - $unit1 BETWEEN 0 AND $((UNITS - 1))")" = "$UNITS" ] ||
    die "units and secretaries are not numbered alike; bench/run.sh relies on it"

say "anonymity tokens of $anon_members members (yijian member login, TOKEN_QUOTA=1000)"
tokens=$dir/tokens.txt
: >"$tokens"
for login in $BENCH_ANON_LOGINS; do
    # 64 at most a sign-in: 16 sign-ins take the member's quota of 1,000.
    for _ in $(seq 1 16); do
        YIJIAN_PASSWORD=$BENCH_PASSWORD "$BIN" member --url "$url" --state "$dir/m-$login" login "$login" --tokens 64 >/dev/null 2>"$dir/member.log" ||
            { cat "$dir/member.log" >&2; die "yijian member login $login failed"; }
    done
    node -e '
        const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
        for (const t of (Array.isArray(j) ? j : j.tokens)) console.log(`${t.key_id} ${t.input} ${t.output}`);
    ' "$dir/m-$login/tokens.json" >>"$tokens"
done
say "$(wc -l <"$tokens") tokens"
# Issuance is measured for the root unit, which every account may address
# (tokens are bound to a unit).
key_id=$(curl -fsS "$url/v1/tokens/keys?unit=$BENCH_ROOT" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);console.log((j.current||j.keys[0]).key_id)})')
stop_service

say "loading $N suggestions, 2,000 accounts (bench/load.sql)"
t0=$(date +%s)
load() { # COUNT
    super -v n="$1" -v root="$BENCH_ROOT" -v cat="$BENCH_CATEGORY" -v admin="$BENCH_ADMIN_ID" \
        -f bench/load.sql | sed -u 's/^/    /' >&2
}
save_db bench_world # before any suggestion: the scale case starts here
load "$N"
say "loaded in $(( $(date +%s) - t0 )) s"

# Sessions for every member account (the token issuance case takes each
# one's quota in turn): tokens made here, their BLAKE2b hashes stored as
# the service stores them (domain/session.c).
sessions=$dir/sessions.txt
python3 - "$sessions" >"$dir/sessions.sql" <<'EOF'
import base64, hashlib, os, sys
with open(sys.argv[1], "w") as out:
    print("CREATE TEMP TABLE t (n int, h text);\nCOPY t FROM STDIN;")
    for n in range(2000):
        tok = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
        out.write(tok + "\n")
        print(f"{n}\t{hashlib.blake2b(tok.encode(), digest_size=32).hexdigest()}")
    print("\\.")
    print("INSERT INTO sessions (token_hash, account_id, expires_at) SELECT decode(t.h, 'hex'), a.id, now() + interval '1 day' "
          "FROM t JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM accounts WHERE login LIKE 'bench-m-%') a ON a.n = t.n;")
EOF
super -f "$dir/sessions.sql"
# The first tokens, one for each member account there is, are the ones stored.
members=$(sql "SELECT count(*) FROM accounts WHERE login LIKE 'bench-m-%'")
head -n "$members" "$sessions" >"$sessions.valid" && mv "$sessions.valid" "$sessions"

# What pgbench needs besides the service's statements: the suggestions the
# read case picks from (those of branch 1, which its secretary sees), and
# the public id the service would draw, from a random number.
super <<EOF
CREATE SCHEMA bench;
CREATE TABLE bench.ids AS SELECT row_number() OVER (ORDER BY id) AS n, id, public_id
  FROM suggestions WHERE unit_id = $unit1;
ALTER TABLE bench.ids ADD PRIMARY KEY (n);
-- as bench/load.sql numbers its rows, far beyond any row it loaded
CREATE FUNCTION bench.pid(x bigint) RETURNS text LANGUAGE sql IMMUTABLE AS \$f\$
  SELECT 'S-' || string_agg(substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ',
                 (((x * 387420489) % 1073741824) >> (5 * k) & 31)::int + 1, 1), '' ORDER BY k DESC)
  FROM generate_series(0, 5) k \$f\$;
CREATE SEQUENCE bench.seq START 100000000;
GRANT USAGE ON SCHEMA bench TO yijian_app;
GRANT SELECT ON bench.ids TO yijian_app;
GRANT USAGE, SELECT ON SEQUENCE bench.seq TO yijian_app;
EOF
nids=$(sql "SELECT count(*) FROM bench.ids")
sql "SELECT '/v1/suggestions/' || public_id FROM bench.ids ORDER BY random()" >"$dir/suggestion-paths.txt"

start_service 1
say "publishing $BULLETINS bulletins (yijian publish) and sealing the audit rows"
# (in as many branches as have answered suggestions waiting; a smaller
# load has fewer)
for unit in $(sql "SELECT unit_id FROM suggestions WHERE status = 'answered' GROUP BY unit_id ORDER BY unit_id LIMIT $BULLETINS"); do
    "$BIN" publish "$unit" >/dev/null 2>>"$dir/publish.log" || { cat "$dir/publish.log" >&2; die "publish $unit failed"; }
done
bulletin=$(sql "SELECT max(id) FROM bulletins")
t0=$(date +%s)
wait_sealed
say "sealed $(sql "SELECT count(*) FROM audit_chain") rows in $(( $(date +%s) - t0 )) s"
stop_service
sql "VACUUM ANALYZE" >/dev/null
save_db bench_loaded

# ---- helpers for the runs ---------------------------------------------------
# wrk: a warm-up, then the measured run; prints "rps p50 p99 requests".
measure() { # URL SCRIPT [wrk args...]
    local target=$1 script=$2; shift 2
    BENCH_TOKENS=${WARM_TOKENS:-${BENCH_TOKENS:-}} BENCH_PATHS=${WARM_PATHS:-${BENCH_PATHS:-}} \
        $WRK -d2s -s "$script" "$@" "$target" >/dev/null
    local out result
    out=$($WRK -d"${SECS}s" -s "$script" "$@" "$target")
    result=$(grep '^RESULT' <<<"$out") || die "wrk printed no result: $out"
    case "$result" in *" non2xx=0 errors=0 "*) ;; *) die "requests failed: $result" ;; esac
    awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
         END { print v["rps"], v["p50_ms"], v["p99_ms"], v["requests"] }' <<<"$result"
}
# pgbench with as many clients as the service has database connections,
# and the session settings the service's connections have (db/db.c: generic
# plans, no JIT), so that the plans are the same.
pgb() { # SCRIPT-FILE [-D ...]; prints tps
    local f=$1; shift
    local out
    out=$(PGOPTIONS="-c plan_cache_mode=force_generic_plan -c jit=off" pgbench -n -M prepared -c "$HTTP_THREADS" -j 2 -T "$SECS" -h "$RUNDIR" -U yijian yijian -f "$f" "$@" 2>&1) ||
        { echo "$out" >&2; die "pgbench $f failed"; }
    sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out"
}
# A pgbench script: the named statements in one pipeline, one round trip.
pipeline() { # FILE then lines of "NAME ARGS..." on stdin; \set lines pass through
    local f=$1 line
    : >"$f"
    local started=0
    while IFS= read -r line; do
        [ -z "$line" ] && continue
        if [[ $line == \\* ]]; then echo "$line" >>"$f"; continue; fi
        if [ $started = 0 ]; then echo '\startpipeline' >>"$f"; started=1; fi
        if [[ $line == SQL:* ]]; then echo "${line#SQL:};" >>"$f"; continue; fi
        # shellcheck disable=SC2086 # the arguments are words
        eval "$STMTS $line" >>"$f"
    done
    echo '\endpipeline' >>"$f"
}
rowc() { # name rps p50 p99 limitname limit target(min ratio, or "-")
    local name=$1 rps=$2 p50=$3 p99=$4 lname=$5 limit=$6 target=$7
    local ratio=- verdict=-
    if [ "$limit" != - ]; then
        ratio=$(awk -v a="$rps" -v b="$limit" 'BEGIN { printf "%.2f", a / b }')
        verdict=$(awk -v r="$ratio" -v t="$target" 'BEGIN { print (r >= t ? "pass" : "FAIL") }')
    fi
    case $limit in -|*[!0-9.]*) ;; *) limit=$(awk -v l="$limit" 'BEGIN { printf "%.2f", l }') ;; esac
    record "$name|$rps|$p50|$p99|$lname|$limit|$ratio|≥ $target|$verdict"
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# ---- the table --------------------------------------------------------------
print_table() {
    echo
    echo "yijian bench, $(date -u +%Y-%m-%dT%H:%MZ): $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)),"
    echo "  $(psql --version | head -n1), fsync $(sql 'show fsync'), synchronous_commit $(sql 'show synchronous_commit'),"
    echo "  HTTP_THREADS=$HTTP_THREADS (DB pool the same; pgbench -c $HTTP_THREADS), wrk -t2 -c64, ${SECS} s a case after 2 s of warm-up,"
    echo "  $N suggestions loaded; scale case 10,000 → $SCALE"
    echo
    awk -F'|' 'BEGIN { printf "%-38s %9s %8s %8s %-12s %9s %6s %-12s %s\n", "case", "req/s", "p50 ms", "p99 ms", "limit", "", "ratio", "target", ""
                       failed = 0; total = 0 }
        { printf "%-38s %9s %8s %8s %-12s %9s %6s %-12s %s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9
          if ($9 == "pass" || $9 == "FAIL") total++
          if ($9 == "FAIL") failed++ }
        END { printf "\n%d of %d targets met\n", total - failed, total; exit failed > 0 }' "$results"
}

# BENCH_SCALE_ONLY=1 (with BENCH_SUGGESTIONS=0): the scale case alone.
if [ "${BENCH_SCALE_ONLY:-0}" != 1 ]; then
# ---- the limits -------------------------------------------------------------
hello_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
hello_run() { # prints "rps p50 p99"
    $HELLO "$hello_port" >/dev/null &
    hello_pid=$!
    sleep 0.3
    local r
    r=$(measure "http://127.0.0.1:$hello_port/" bench/wrk/get.lua)
    kill -TERM "$hello_pid"; wait "$hello_pid" || true; hello_pid=
    echo "$r"
}
h2g_us=$($H2G time 20000 | sed -n 's/^h2g_us=\([0-9.]*\).*/\1/p')
say "one hash-to-group + scalar multiplication: $h2g_us µs"

# The HTTP cases against limit (a), in the order limit, healthz, bulletin,
# bulletin, healthz, limit, twice, and each figure the mean of its four
# runs: the machine is shared, limit (a) alone moved by 20% within one such
# sequence, and a drift over the minutes then counts alike.
start_service 1
say "limit (a), GET /healthz, GET /v1/bulletins/$bulletin (four times each, ABCCBA ABCCBA)"
# Each run's "rps p50 p99" goes to runs-h (limit), runs-a (healthz) or
# runs-b (bulletin); a figure is the mean of a column over its runs.
: >"$dir/runs-h"; : >"$dir/runs-a"; : >"$dir/runs-b"
for c in h a b b a h h a b b a h; do
    case $c in
        h) line=$(hello_run) ;;
        a) line=$(measure "$url/healthz" bench/wrk/get.lua) ;;
        b) line=$(measure "$url/v1/bulletins/$bulletin" bench/wrk/get.lua) ;;
    esac
    keep "$c" "$line"
done
http_rps=$(mean_of h 1) bulletin_rps=$(mean_of b 1)
record "limit (a): libmicrohttpd, 200-byte JSON|$http_rps|$(mean_of h 2)|$(mean_of h 3)|runs|$(runs_of h)|-|-|-"
rowc "GET /healthz" "$(mean_of a 1)" "$(mean_of a 2)" "$(mean_of a 3)" "(a)" "$http_rps" 0.8
rowc "GET /v1/bulletins/{id}" "$bulletin_rps" "$(mean_of b 2)" "$(mean_of b 3)" "(a)" "$http_rps" 0.7
say "limit (a) $(runs_of h); healthz $(runs_of a); bulletin $(runs_of b) req/s"
# A bulletin is kilobytes, limit (a) 200 bytes: the same bare handler with
# a body of the bulletin's size shows how much of the gap is the size alone
# (what the kernel and libmicrohttpd take to move those bytes). Shown, not
# a target: the target stays the ratio to (a) above.
bulletin_bytes=$(curl -fsS "$url/v1/bulletins/$bulletin" | wc -c)
read -r hb hbp50 hbp99 _ < <(HELLO_BODY_BYTES=$bulletin_bytes hello_run)
record "limit (a'): the same, ${bulletin_bytes}-byte body|$hb|$hbp50|$hbp99|÷ (a)|$http_rps|$(awk -v a="$hb" -v b="$http_rps" 'BEGIN { printf "%.2f", a / b }')|-|-"
record "  bulletin ÷ (a')|$bulletin_rps|-|-|(a')|$hb|$(awk -v a="$bulletin_rps" -v b="$hb" 'BEGIN { printf "%.2f", a / b }')|-|-"
say "limit (a') with a ${bulletin_bytes}-byte body: $hb req/s"

sec_hash=$(python3 -c 'import hashlib,sys; print(hashlib.blake2b(sys.argv[1].encode(), digest_size=32).hexdigest())' "$BENCH_SECRETARY_TOKEN")
member_hash=$(python3 -c 'import hashlib,sys; print(hashlib.blake2b(sys.argv[1].encode(), digest_size=32).hexdigest())' "$BENCH_TOKEN")
member_id=$(sql "SELECT id FROM accounts WHERE login = 'bench-member'")
ttl=2592000
# The thread of one suggestion, as domain/suggestion_view.c detail_json reads it.
detail() { # PUBLIC-ID-EXPR: the thread's reads (domain/suggestion_view.c THREAD_STMTS)
    printf '%s\n' "thread_messages \"$1\"" "thread_answer \"$1\"" "thread_ratings \"$1\"" "suggestion_history \"$1\""
}
pipeline "$dir/get.sql" <<EOF
\\set i random(1, $nids)
suggestion_view :hash :ttl "(SELECT public_id FROM bench.ids WHERE n = :i)"
$(detail '(SELECT public_id FROM bench.ids WHERE n = :i)')
EOF
say "GET /v1/suggestions/{id} as the secretary of the unit; pgbench $(basename "$dir/get.sql")"
read -r rps p50 p99 _ < <(BENCH_PATHS=$dir/suggestion-paths.txt measure "$url/" bench/wrk/get.lua \
    -H "Authorization: Bearer $BENCH_SECRETARY_TOKEN")
lim=$(pgb "$dir/get.sql" -D hash="$sec_hash" -D ttl=$ttl -D acct="$BENCH_SECRETARY_ID" -D unit="$unit1")
rowc "GET /v1/suggestions/{id}" "$rps" "$p50" "$p99" "(b)" "$lim" 0.6
get_rps=$rps

pipeline "$dir/list.sql" <<EOF
suggestions_list_assigned :hash :ttl 9223372036854775807 NULL NULL NULL true false NULL 20 false
EOF
say "GET /v1/suggestions?assignee=me"
read -r rps p50 p99 _ < <(measure "$url/v1/suggestions?assignee=me" bench/wrk/get.lua \
    -H "Authorization: Bearer $BENCH_SECRETARY_TOKEN")
lim=$(pgb "$dir/list.sql" -D hash="$sec_hash" -D ttl=$ttl -D acct="$BENCH_SECRETARY_ID")
rowc "GET /v1/suggestions?assignee=me" "$rps" "$p50" "$p99" "(b)" "$lim" 0.6
list_rps=$rps

# ---- token issuance -----------------------------------------------------------
say "POST /v1/tokens/issue, 10 blinded elements"
BENCH_ISSUE_BODY=$(printf '{"key_id":"%s","unit_id":%s,"blinded":%s}' "$key_id" "$BENCH_ROOT" "$($H2G blinded 10)")
export BENCH_ISSUE_BODY BENCH_SESSIONS=$sessions
$WRK -d2s -s bench/wrk/issue.lua "$url/v1/tokens/issue" >/dev/null
c0=$(cpu_ticks "$svc_pid")
out=$($WRK -d"${SECS}s" -s bench/wrk/issue.lua "$url/v1/tokens/issue")
c1=$(cpu_ticks "$svc_pid")
result=$(grep '^RESULT' <<<"$out")
case "$result" in *" non2xx=0 errors=0 "*) ;; *) die "token issuance failed: $result" ;; esac
read -r rps p50 p99 nreq < <(awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
     END { print v["rps"], v["p50_ms"], v["p99_ms"], v["requests"] }' <<<"$result")
hz=$(getconf CLK_TCK)
tok_us=$(awk -v c=$((c1 - c0)) -v hz="$hz" -v n="$nreq" 'BEGIN { printf "%.1f", c / hz / (n * 10) * 1e6 }')
verdict=$(awk -v r="$rps" 'BEGIN { print (r >= 300 ? "pass" : "FAIL") }')
record "POST /v1/tokens/issue (10)|$rps|$p50|$p99|-|300 req/s|-|≥ 300 req/s|$verdict"
cpu_ratio=$(awk -v a="$tok_us" -v b="$h2g_us" 'BEGIN { printf "%.2f", a / b }')
verdict=$(awk -v r="$cpu_ratio" 'BEGIN { print (r <= 3 ? "pass" : "FAIL") }')
record "  CPU per token (µs, service)|$tok_us|-|-|(c) µs|$h2g_us|$cpu_ratio|≤ 3|$verdict"

# ---- memory -----------------------------------------------------------------
say "RSS with 1,000 idle keep-alive connections"
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$svc_pid/status"; }
rss0=$(rss)
python3 bench/idle.py "${url#http://}" 1000 >"$dir/idle.out" 2>&1 &
idle_pid=$!
for _ in $(seq 1 300); do grep -q '^open' "$dir/idle.out" 2>/dev/null && break; sleep 0.1; done
grep -q '^open 1000' "$dir/idle.out" || die "could not open 1,000 connections: $(cat "$dir/idle.out")"
sleep 1
rss1=$(rss)
kill -TERM "$idle_pid"; wait "$idle_pid" 2>/dev/null || true; idle_pid=
rss_mb=$(awk -v k="$rss1" 'BEGIN { printf "%.1f", k / 1024 }')
verdict=$(awk -v k="$rss1" 'BEGIN { print (k < 64 * 1024 ? "pass" : "FAIL") }')
record "RSS, 1,000 idle connections (MB)|$rss_mb|-|-|before (MB)|$(awk -v k="$rss0" 'BEGIN { printf "%.1f", k / 1024 }')|-|< 64 MB|$verdict"
stop_service

# ---- submission: named (sealing on and off), anonymous --------------------------
pid_new="bench.pid(nextval('bench.seq'))" pid_expr="(SELECT bench.pid(currval('bench.seq')))"
pipeline "$dir/submit.sql" <<EOF
\\set u random(0, $((UNITS - 1)))
\\set unit :unit0 + :u
\\set sec :sec0 + :u
\\set k random(1, 2000000000)
session_authz :hash :ttl 0
SQL:BEGIN
idempotency_claim "'account:' || :acct" "'pgb-' || :client_id || '-' || :k" :rhash
idempotency_get "'account:' || :acct" "'pgb-' || :client_id || '-' || :k"
category_for_unit :unit :cat
submit_unit_allowed :acct :unit
routing_lock :unit
route_committee_for_category :unit :cat
route_secretary :unit
suggestion_insert "$pid_new" :unit :cat :title :body :acct false false :sec 3 15 7
assignment_insert "(SELECT currval('suggestions_id_seq'))" :sec :unit :reason NULL false
audit_insert "'account'" :acct "'suggestion.submit'" "'suggestion'" "$pid_expr" :change "'pgbench'"
idempotency_store "'account:' || :acct" "'pgb-' || :client_id || '-' || :k" 201 :stored
suggestion_view_account :acct "$pid_expr"
$(detail "$pid_expr")
SQL:COMMIT
EOF
pipeline "$dir/anon.sql" <<EOF
\\set k random(1, 2000000000)
secret_get :secret
category_for_unit :unit :cat
SQL:BEGIN
idempotency_claim "'token:' || md5(:client_id || '-' || :k)" "'pgb-' || :client_id || '-' || :k" :rhash
token_spend "md5(:client_id || '-' || :k || 'a') || md5(:client_id || '-' || :k || 'b')"
routing_lock :unit
route_committee :unit "'纪检'"
route_secretary :unit
suggestion_insert "$pid_new" :unit :cat :title :body NULL true false :sec 3 15 7
assignment_insert "(SELECT currval('suggestions_id_seq'))" :sec :unit :reason NULL true
tracking_insert "md5(:client_id || '-' || :k || 'c') || md5(:client_id || '-' || :k || 'd')" "(SELECT currval('suggestions_id_seq'))"
audit_insert "'anonymous'" NULL "'suggestion.submit'" "'suggestion'" "$pid_expr" :change NULL
idempotency_store "'token:' || md5(:client_id || '-' || :k)" "'pgb-' || :client_id || '-' || :k" 201 :stored
suggestion_view_account NULL "$pid_expr"
$(detail "$pid_expr")
SQL:COMMIT
EOF
title='关于食堂饭菜价格的建议'
body='食堂饭菜价格偏高，建议公开成本，听取职工意见。'
reason='secretary: no committee member holds portfolio "纪检"'
change='{"after":{"assignee_id":3,"category_id":2,"publish_name":false,"routing":"secretary: no committee member holds portfolio \"纪检\"","status":"submitted","title":"关于食堂饭菜价格的建议","unit_id":3}}'
stored='{"id":"S-000000","status":"submitted"}'
rhash=$(printf %064d 0)
secret_name=$(sql "SELECT name FROM secrets WHERE name LIKE 'token%' ORDER BY name DESC LIMIT 1")
common_d=(-D ttl=$ttl -D cat="$BENCH_CATEGORY" -D title="$title" -D body="$body" -D reason="$reason"
          -D change="$change" -D stored="$stored" -D rhash="$rhash")

# Sealing on against off: sixteen slices of one copy of the data, in the
# order on off off on, four times, so that a drift of the machine (the
# disk's fsync time wanders by more than the 5% the target allows from one
# 15-s run to the next) counts alike for both. One slice's throughput
# scatters by about 8% around its kind's mean (docs/performance.md): eight
# of each keep the mean's own scatter near 3%, below the 5% to be seen.
# Every slice starts with all audit rows sealed: after each, the sealer
# catches up outside the measurement, so an "on" slice pays for sealing its
# own rows and nothing else. The chain is verified at the end. Every slice
# also starts vacuumed, analysed and just after a checkpoint: otherwise
# autovacuum (each slice adds ~6,000 suggestions and ~12,000 audit rows,
# so its thresholds are crossed every few slices) and the checkpoint that
# checkpoint_timeout brings land inside random slices, on either side, and
# the full-page images that follow a checkpoint cost one slice and not the
# next; the slices' scatter then drowned the 5% to be seen.
: >"$dir/runs-on"; : >"$dir/runs-off"
SLICE=$(( SECS / 2 > 5 ? SECS / 2 : 5 ))
submit_slice() { # on|off|warm-up (the warm-up seals, see below)
    start_service "$([ "$1" = off ] && echo 0 || echo 1)"
    local line
    line=$(SECS=$SLICE measure "$url/v1/suggestions" bench/wrk/submit.lua)
    stop_service
    [ "$1" = warm-up ] || keep "$1" "$line"
    say "  named submission, sealing $1: $(echo "$line" | awk '{ print $1 " req/s, p50 " $2 " ms" }')"
    start_service 1
    wait_sealed
    stop_service
    sql "VACUUM (ANALYZE)" >/dev/null
    sql "CHECKPOINT" >/dev/null
}
say "POST /v1/suggestions named: sealing on and off in sixteen ${SLICE}-s slices ((on off off on) × 4) after one to warm up"
restore_db bench_loaded
# (A first slice, not counted, warms the fresh copy's buffers: the slices
# after a copy ran faster one after the other for about a minute. It runs
# with the sealer on, so that as many "on" slices as "off" ones follow a
# slice after which the sealer caught up on a whole slice's rows.)
for s in warm-up on off off on on off off on on off off on on off off on; do submit_slice "$s"; done
"$BIN" verify-audit | head -n1 | grep -q '^intact' || die "the audit chain does not verify after the slices"
on_rps=$(mean_of on 1) off_rps=$(mean_of off 1)
say "  slices on: $(runs_of on); off: $(runs_of off) req/s"
restore_db bench_loaded # the same rows the service started from
lim=$(pgb "$dir/submit.sql" "${common_d[@]}" -D hash="$member_hash" -D acct="$member_id" \
      -D unit0="$unit1" -D sec0="$BENCH_SECRETARY_ID")
rowc "POST /v1/suggestions named" "$on_rps" "$(mean_of on 2)" "$(mean_of on 3)" "(b)" "$lim" 0.5
rowc "  sealing on ÷ sealing off" "$on_rps" - - "off" "$off_rps" 0.95

say "POST /v1/suggestions anonymous, a fresh token each"
restore_db bench_loaded
start_service 1
head -n 1000 "$tokens" >"$dir/tokens-warm.txt"
tail -n +1001 "$tokens" >"$dir/tokens-run.txt"
read -r rps p50 p99 _ < <(WARM_TOKENS=$dir/tokens-warm.txt BENCH_TOKENS=$dir/tokens-run.txt BENCH_UNIT=$unit1 \
    measure "$url/v1/suggestions" bench/wrk/anon.lua)
stop_service
restore_db bench_loaded
lim=$(pgb "$dir/anon.sql" "${common_d[@]}" -D unit="$unit1" -D sec="$BENCH_SECRETARY_ID" -D secret="$secret_name")
rowc "POST /v1/suggestions anonymous" "$rps" "$p50" "$p99" "(b)" "$lim" 0.4
anon_rps=$rps

# ---- (b*): the ideal SQL for the same work ----------------------------------
# Not the service's statements but the least a database can do for the
# case, with the same clients (pgbench -c HTTP_THREADS, Unix socket, the
# service's session settings): a read is one row by its primary key; a
# submission is one durable single-statement write, a data-modifying CTE
# inserting the suggestion (its indexes and triggers all running) and its
# audit row, committed on its own (synchronous_commit on). Each case's
# ratio to it is printed under the case, beside its ratio to (b).
restore_db bench_loaded
read -r lo hi < <(sql "SELECT min(id), max(id) FROM suggestions" | tr '|' ' ')
printf '%s\n' "\\set id random($lo, $hi)" 'SELECT * FROM suggestions WHERE id = :id;' \
    >"$dir/ideal-read.sql"
printf '%s\n' '\set u random(0, :units - 1)' '\set unit :unit0 + :u' '\set sec :sec0 + :u' \
    "WITH s AS (INSERT INTO suggestions (public_id, unit_id, category_id, title, body, author_id, anonymous, publish_name, assignee_id, ack_due, answer_due, grace_days) VALUES (bench.pid(nextval('bench.seq')), :unit, :cat, :title, :body, :acct, false, false, :sec, now() + interval '3 days', now() + interval '15 days', 7) RETURNING public_id) INSERT INTO audit_log (actor_kind, actor_id, action, object_type, object_id, change, request_id, at) SELECT 'account', :acct, 'suggestion.submit', 'suggestion', s.public_id, :change::jsonb, 'pgbench', clock_timestamp() FROM s;" \
    >"$dir/ideal-write.sql"
say "(b*) ideal read: one row by its primary key; pgbench"
ideal_read=$(pgb "$dir/ideal-read.sql")
say "(b*) ideal write: a suggestion and its audit row in one durable statement; pgbench"
ideal_write=$(pgb "$dir/ideal-write.sql" "${common_d[@]}" -D acct="$member_id" -D units="$UNITS" \
              -D unit0="$unit1" -D sec0="$BENCH_SECRETARY_ID")
restore_db bench_loaded
rowc "  GET /v1/suggestions/{id} ÷ (b*)" "$get_rps" - - "(b*) read" "$ideal_read" 0.15
rowc "  GET …?assignee=me ÷ (b*)" "$list_rps" - - "(b*) read" "$ideal_read" 0.15
rowc "  POST named ÷ (b*)" "$on_rps" - - "(b*) write" "$ideal_write" 0.25
rowc "  POST anonymous ÷ (b*)" "$anon_rps" - - "(b*) write" "$ideal_write" 0.2

# ---- before and after: the binary of BENCH_BEFORE against this one ------------
# Named submission and accept, the same data for both (a fresh copy each
# run), in the order before, after, after, before, so that a drift of the
# machine counts alike; each figure the mean of its two runs. The accept
# case takes, as the secretary of branch 1, suggestions just submitted to
# them (ACCEPTS of them, added straight into the data), each once.
if [ -n "$BEFORE" ] || [ -n "$REVERT" ]; then
    before_bin=${BENCH_BEFORE_BIN:-}
    label=${BEFORE:-HEAD without $REVERT}
    if [ -z "$before_bin" ]; then
        say "before: building the binary of $label"
        mkdir -p "$dir/before"
        if [ -n "$BEFORE" ]; then
            git archive "$BEFORE" | tar -x -C "$dir/before"
        else
            git archive HEAD | tar -x -C "$dir/before"
            git diff "$REVERT" "$REVERT~1" | (cd "$dir/before" && git apply) ||
                die "$REVERT does not revert cleanly on HEAD: set BENCH_BEFORE or BENCH_BEFORE_REVERT"
        fi
        ln -s "$PWD/web/node_modules" "$dir/before/web/node_modules"
        nice make -C "$dir/before" -s -j2 build/yijian >"$dir/before.log" 2>&1 ||
            { cat "$dir/before.log" >&2; die "could not build $label"; }
        before_bin=$dir/before/build/yijian
    fi
    restore_db bench_loaded
    ACCEPTS=$(( SECS * 4000 + 8000 ))
    super -v n="$ACCEPTS" -v unit="$unit1" -v cat="$BENCH_CATEGORY" -v sec="$BENCH_SECRETARY_ID" \
          -v acct="$member_id" >/dev/null <<'SQL'
INSERT INTO suggestions (public_id, unit_id, category_id, title, body, author_id, anonymous,
                         publish_name, assignee_id, ack_due, answer_due, grace_days)
SELECT bench.pid(nextval('bench.seq')), :unit, :cat, '关于食堂饭菜价格的建议', '食堂饭菜价格偏高，建议公开成本。',
       :acct, false, false, :sec, now() + interval '3 days', now() + interval '15 days', 7
FROM generate_series(1, :n);
SQL
    sql "VACUUM ANALYZE suggestions" >/dev/null
    sql "SELECT '/v1/suggestions/' || public_id || '/accept' FROM suggestions
         WHERE unit_id = $unit1 AND status = 'submitted' AND assignee_id = $BENCH_SECRETARY_ID
         ORDER BY id DESC LIMIT $ACCEPTS" >"$dir/accept-all.txt"
    save_db bench_accept
    head -n 8000 "$dir/accept-all.txt" >"$dir/accept-warm.txt"
    tail -n +8001 "$dir/accept-all.txt" >"$dir/accept-run.txt"
    : >"$dir/runs-submit-before"; : >"$dir/runs-submit-after"
    : >"$dir/runs-accept-before"; : >"$dir/runs-accept-after"
    after_bin=$BIN
    for which in before after after before; do
        if [ "$which" = before ]; then BIN=$before_bin; else BIN=$after_bin; fi
        restore_db bench_accept
        start_service 1
        keep "submit-$which" "$(measure "$url/v1/suggestions" bench/wrk/submit.lua)"
        keep "accept-$which" "$(WARM_PATHS=$dir/accept-warm.txt BENCH_PATHS=$dir/accept-run.txt \
            BENCH_TOKEN=$BENCH_SECRETARY_TOKEN measure "$url/" bench/wrk/accept.lua)"
        stop_service
        say "  $which: submission $(tail -n1 "$dir/runs-submit-$which" | cut -d' ' -f1), accept $(tail -n1 "$dir/runs-accept-$which" | cut -d' ' -f1) req/s"
    done
    BIN=$after_bin
    restore_db bench_loaded
    for c in submit accept; do
        name=$([ $c = submit ] && echo "POST /v1/suggestions named" || echo "POST …/accept")
        rowc "$name, before ($label)" "$(mean_of "$c-before" 1)" "$(mean_of "$c-before" 2)" "$(mean_of "$c-before" 3)" - - -
        rowc "$name, after" "$(mean_of "$c-after" 1)" "$(mean_of "$c-after" 2)" "$(mean_of "$c-after" 3)" "before" "$(mean_of "$c-before" 1)" 1
    done
fi

# The table so far (the scale case takes long; this much is not lost).
print_table >&2 || true
fi

# ---- scale ------------------------------------------------------------------
if [ "$SCALE" -gt 0 ]; then
    restore_db bench_world
    search_paths=$dir/search.txt
    echo "/v1/suggestions?q=$(python3 -c 'import urllib.parse,sys; print(urllib.parse.quote(sys.argv[1]))' "$SEARCH_WORD")" >"$search_paths"
    scale_at() { # COUNT: sets sr, sl, ss (read, list and search p50); not in a subshell
                 # (the service it starts must be stopped by this shell)
        sql "SELECT '/v1/suggestions/' || public_id FROM suggestions WHERE unit_id = $unit1 ORDER BY random() LIMIT 5000" >"$dir/scale-paths.txt"
        start_service 0
        local out
        out=$(BENCH_PATHS=$dir/scale-paths.txt measure "$url/" bench/wrk/get.lua -H "Authorization: Bearer $BENCH_SECRETARY_TOKEN") || die "scale: read failed"
        read -r _ sr _ _ <<<"$out"
        out=$(measure "$url/v1/suggestions?assignee=me" bench/wrk/get.lua -H "Authorization: Bearer $BENCH_SECRETARY_TOKEN") || die "scale: list failed"
        read -r _ sl _ _ <<<"$out"
        out=$(BENCH_PATHS=$search_paths measure "$url/" bench/wrk/get.lua -H "Authorization: Bearer $BENCH_SECRETARY_TOKEN") || die "scale: search failed"
        read -r _ ss _ _ <<<"$out"
        say "  p50: read $sr ms, list $sl ms, search $ss ms"
        stop_service
    }
    # The sessions of the world template are those of world.mjs: the
    # secretary's is there.
    say "scale: $SMALL suggestions"
    load "$SMALL"
    scale_at "$SMALL"
    r_small=$sr l_small=$sl s_small=$ss
    say "scale: $SCALE suggestions (adding $((SCALE - SMALL)))"
    t0=$(date +%s)
    load $((SCALE - SMALL))
    say "loaded in $(( $(date +%s) - t0 )) s"
    scale_at "$SCALE"
    r_big=$sr l_big=$sl s_big=$ss
    grow() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'; }
    g=$(grow "$r_small" "$r_big")
    record "scale: read p50 ${SMALL} → ${SCALE}|-|$r_big|-|p50 at $SMALL|$r_small|$g|≤ 2×|$(awk -v g="$g" 'BEGIN { print (g <= 2 ? "pass" : "FAIL") }')"
    g=$(grow "$l_small" "$l_big")
    record "scale: list p50 ${SMALL} → ${SCALE}|-|$l_big|-|p50 at $SMALL|$l_small|$g|≤ 2×|$(awk -v g="$g" 'BEGIN { print (g <= 2 ? "pass" : "FAIL") }')"
    record "scale: search “$SEARCH_WORD” p50 at $SCALE|-|$s_big|-|at $SMALL|$s_small|-|< 50 ms|$(awk -v s="$s_big" 'BEGIN { print (s < 50 ? "pass" : "FAIL") }')"
fi

# ---- statistics of a deep tree (issue 22) -------------------------------------
say "GET /v1/stats at 10,000 units, depth 1,000 (bench/stats-tree.sh, a cluster of its own)"
stats_line=$(YIJIAN_BIN=$BIN bench/stats-tree.sh) || true
say "  $stats_line"
stats_p50=$(sed -n 's/.*: p50 \([0-9.]*\) ms.*/\1/p' <<<"$stats_line")
stats_verdict=$(sed -n 's/.*: \(pass\|FAIL\)$/\1/p' <<<"$stats_line")
record "GET /v1/stats, 10,000 units, depth 1,000|-|${stats_p50:--}|-|-|-|-|p50 < 300 ms|${stats_verdict:-FAIL}"

# ---- the table --------------------------------------------------------------
print_table

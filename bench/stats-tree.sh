#!/usr/bin/env bash
# The statistics of a deep tree (issue 22, finding 5), part of `make bench`
# and runnable alone: GET /v1/stats used to build the closure of the
# subtree (quadratic in its depth: 4.9 s for a chain of 1,000 units); it
# now walks the subtree once. On a throwaway cluster: 10,000 units, a chain
# of 1,000 under one root and 9,000 groups hung along it, with suggestions
# at every tenth unit of the chain; then GET /v1/stats?unit=ROOT, one at a
# time (BENCH_STATS_RUNS, 20) and eight at once, by a member of the deepest
# unit. Prints one line per figure and a verdict; exits 1 when the p50 of
# the single requests is not under BENCH_STATS_BOUND_MS (300) or eight at
# once take more than 8 times that.
#
# Environment: YIJIAN_BIN (build/yijian), BENCH_KEEP=1 (keep the cluster).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${YIJIAN_BIN:-build/yijian}
RUNS=${BENCH_STATS_RUNS:-20}
BOUND=${BENCH_STATS_BOUND_MS:-300}
DEPTH=1000 UNITS=10000
die() { echo "stats-tree: $*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
[ -x "$BIN" ] || die "$BIN is missing (make build/yijian)"

dir=$(mktemp -d "${TMPDIR:-/tmp}/yijian-stats-XXXXXX")
chmod 755 "$dir"
cp "$BIN" "$dir/yijian" && BIN=$dir/yijian
svc_pid=
cleanup() {
    [ -n "$svc_pid" ] && { kill -TERM "$svc_pid" 2>/dev/null || true; wait "$svc_pid" 2>/dev/null || true; }
    scripts/pg.sh stop "$dir" >/dev/null 2>&1 || true
    if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "stats-tree: kept $dir" >&2; else rm -rf "$dir"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

scripts/pg.sh start "$dir" >/dev/null
eval "$(scripts/pg.sh env "$dir")"
export MASTER_KEY_FILE=$dir/master.key LOG_LEVEL=warn
(umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$MASTER_KEY_FILE" && echo >>"$MASTER_KEY_FILE")
super() { scripts/pg.sh psql "$dir" -q -At "$@"; }

"$BIN" migrate >/dev/null
code=$("$BIN" create-admin stats-admin 管理员)

say "a tree of $UNITS units, $DEPTH deep"
# Straight into the schema as the superuser: the API would take minutes
# to build it (and its limits refuse such a tree, which is the point: the
# statistics must stay fast for whatever the tree already is).
super <<SQL
CREATE TEMP TABLE chain (n int PRIMARY KEY, id bigint);
DO \$\$
DECLARE p bigint; cat bigint; acc bigint;
BEGIN
    INSERT INTO org_units (name, level) VALUES ('统计根', 'committee') RETURNING id INTO p;
    INSERT INTO chain VALUES (0, p);
    FOR i IN 1..$DEPTH - 1 LOOP
        INSERT INTO org_units (name, level, parent_id) VALUES ('层' || i, 'group', p) RETURNING id INTO p;
        INSERT INTO chain VALUES (i, p);
    END LOOP;
END
\$\$;
INSERT INTO org_units (name, level, parent_id)
SELECT '组' || g, 'group', c.id FROM generate_series(1, $UNITS - $DEPTH) g
JOIN chain c ON c.n = g % $DEPTH;
SQL
[ "$(super -c 'SELECT count(*) FROM org_units')" = "$UNITS" ] || die "the tree was not built"
root=$(super -c "SELECT id FROM org_units WHERE name = '统计根'")
deepest=$(super -c "SELECT id FROM org_units WHERE name = '层$((DEPTH - 1))'")

log=$dir/service.log
LISTEN=127.0.0.1:0 LOG_LEVEL=info "$BIN" serve 2>"$log" &
svc_pid=$!
url=
for _ in $(seq 1 100); do
    url=$(sed -n 's/.*"msg":"listening","url":"\([^"]*\)".*/\1/p' "$log" | head -n1)
    [ -n "$url" ] && break
    sleep 0.1
done
[ -n "$url" ] || { cat "$log" >&2; die "the service did not start"; }
post() { curl -fsS -H 'Content-Type: application/json' "$@"; }
json() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)[process.argv[1]]))' "$1"; }
pw='a long bench password'
post -d "{\"login\":\"stats-admin\",\"code\":\"$code\",\"password\":\"$pw\"}" "$url/v1/auth/activate" >/dev/null
admin=$(post -d "{\"login\":\"stats-admin\",\"password\":\"$pw\"}" "$url/v1/auth/login" | json token)

# A member of the deepest unit, and a category at the root with suggestions
# addressed to every tenth unit of the chain (the member may address them all).
mcode=$(post -H "Authorization: Bearer $admin" -d "{\"login\":\"deep\",\"display_name\":\"深处\",\"unit_id\":$deepest,\"roles\":[\"member\"]}" "$url/v1/accounts" | json activation_code)
post -d "{\"login\":\"deep\",\"code\":\"$mcode\",\"password\":\"$pw\"}" "$url/v1/auth/activate" >/dev/null
member=$(post -d "{\"login\":\"deep\",\"password\":\"$pw\"}" "$url/v1/auth/login" | json token)
post -H "Authorization: Bearer $admin" -d '{"name":"统计"}' "$url/v1/org-units/$root/portfolios" >/dev/null
cat=$(post -H "Authorization: Bearer $admin" -d '{"name":"统计类","portfolio":"统计"}' "$url/v1/org-units/$root/categories" | json id)
say "suggestions at every tenth unit of the chain"
for n in $(seq 0 10 $((DEPTH - 1))); do
    u=$(super -c "SELECT id FROM org_units WHERE name = '$([ "$n" = 0 ] && echo 统计根 || echo "层$n")'")
    post -H "Authorization: Bearer $member" -d "{\"unit_id\":$u,\"category_id\":$cat,\"title\":\"第${n}层的意见\",\"body\":\"正文\"}" "$url/v1/suggestions" >/dev/null
done

one() { curl -fsS -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $member" "$url/v1/stats?unit=$root"; }
one >/dev/null # warm
say "GET /v1/stats?unit=ROOT, $RUNS times one at a time"
times=$(for _ in $(seq 1 "$RUNS"); do one; done | sort -n)
p50=$(awk '{ a[NR] = $1 * 1000 } END { printf "%.1f", a[int((NR + 1) / 2)] }' <<<"$times")
max=$(awk '{ m = $1 * 1000 } END { printf "%.1f", m }' <<<"$times")
say "eight at once"
t0=$(date +%s%N)
pids=()
for _ in $(seq 1 8); do one >/dev/null & pids+=($!); done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done # not the service
eight=$(( ($(date +%s%N) - t0) / 1000000 ))
rows=$(curl -fsS -H "Authorization: Bearer $member" "$url/v1/stats?unit=$root" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).units.length))')

verdict=pass
awk -v p="$p50" -v b="$BOUND" 'BEGIN { exit !(p < b) }' || verdict=FAIL
[ "$eight" -lt $((BOUND * 8)) ] && [ "$failed" = 0 ] || verdict=FAIL
echo "stats: $UNITS units, depth $DEPTH, $rows rows: p50 $p50 ms, max $max ms (of $RUNS); eight at once $eight ms ($failed failed); bound p50 < $BOUND ms, eight < $((BOUND * 8)) ms: $verdict"
[ "$verdict" = pass ]

#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz/ (`make fuzz-bins`) and runs
# each: first over its committed seeds (tests/fuzz/corpus/<name>/), then
# mutating them until the time or the number of executions is used up.
# What a run discovers is kept in build/fuzz/corpus/<name>/ for the next
# run. A crash, sanitizer report, leak, timeout (5 s per input) or
# out-of-memory input (2 GiB) is saved in build/fuzz/crashes/<name>/ and
# fails the harness. Prints one line per harness and ends with
# "fuzz: N passed, N failed"; exits 1 when any failed. See docs/hardening.md.
#
# Usage: scripts/fuzz.sh [HARNESS...]       (default: every tests/fuzz/*.c)
#   FUZZ_SECONDS=60   seconds per harness, the seeds included
#   FUZZ_RUNS=N       stop after N executions instead, however long it takes
#   FUZZ_JOBS=1       harnesses run at the same time (one core each)
#   FUZZ_FRESH=1      start from the seeds alone and keep nothing found
#   FUZZ_TIMEOUT=5    seconds one input may take before it counts as a hang
#                     (more on a machine so loaded that a process can stall)
#   FUZZ_LOGS=DIR     logs and verdicts (build/fuzz/logs); runs at the same
#                     time in one checkout need different ones
# Replay a finding: build/fuzz/<name> build/fuzz/crashes/<name>/<file>
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
runs=${FUZZ_RUNS:-}
jobs=${FUZZ_JOBS:-1}
fresh=${FUZZ_FRESH:-0}
logs=${FUZZ_LOGS:-build/fuzz/logs}

die() { echo "fuzz.sh: $*" >&2; exit 2; }
[[ $seconds =~ ^[0-9]+$ ]] && [ "$seconds" -gt 0 ] || die "FUZZ_SECONDS must be a positive integer"
[ -z "$runs" ] || [[ $runs =~ ^[0-9]+$ ]] || die "FUZZ_RUNS must be a positive integer"
[[ $jobs =~ ^[0-9]+$ ]] && [ "$jobs" -gt 0 ] || die "FUZZ_JOBS must be a positive integer"

if [ $# -gt 0 ]; then
    names=("$@")
else
    names=()
    for src in tests/fuzz/*.c; do
        n=${src##*/}
        names+=("${n%.c}")
    done
fi
for n in "${names[@]}"; do
    [ -f "tests/fuzz/$n.c" ] || die "no harness tests/fuzz/$n.c"
done

# The longest input each harness is given: a little past every limit the
# code under test enforces, no more (longer inputs only run slower).
max_len() {
    case $1 in
        router) echo 1024 ;;   # paths: 511 bytes fit the route buffer
        utf8) echo 1024 ;;
        validate) echo 8192 ;; # room for jansson's nesting limit (2048)
        tokens | codes) echo 256 ;; # 43-character elements, 64-byte proofs
        redeem) echo 1024 ;;   # a token object, a tracking code
        roster) echo 16384 ;;
        *) echo 4096 ;;
    esac
}

mkdir -p "$logs"
if ! ${MAKE:-make} --no-print-directory fuzz-bins >"$logs/build.log" 2>&1; then
    echo "--- building the harnesses failed (full log: $logs/build.log):"
    tail -n 30 "$logs/build.log"
    echo "fuzz: 0 passed, ${#names[@]} failed"
    exit 1
fi

# Fixed sanitizer settings: a caller's (scripts/test.sh sets its own for
# the service) must not change what counts as a finding here.
export ASAN_OPTIONS=detect_leaks=1:symbolize=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
unset LSAN_OPTIONS

# Runs harness $1 and writes its one-line verdict to $logs/$1.result.
run_one() {
    local name=$1 log="$logs/$1.log" crashes="build/fuzz/crashes/$1/"
    local seeds="tests/fuzz/corpus/$name" work
    mkdir -p "$crashes" "$seeds"
    if [ "$fresh" = 1 ]; then
        work=$(mktemp -d -p build/fuzz)
    else
        work="build/fuzz/corpus/$name"
        mkdir -p "$work"
    fi
    local args=(-max_len="$(max_len "$name")" -timeout="${FUZZ_TIMEOUT:-5}" -rss_limit_mb=2048
                -print_final_stats=1 -artifact_prefix="$crashes")
    [ -f "tests/fuzz/$name.dict" ] && args+=(-dict="tests/fuzz/$name.dict")
    local watchdog=()
    if [ -n "$runs" ]; then
        args+=(-runs="$runs")
    else
        args+=(-max_total_time="$seconds")
        # libFuzzer stops by itself; this only catches a harness that hangs
        # outside an input (its -timeout covers the inputs).
        watchdog=(timeout --kill-after=10 $((seconds * 2 + 120)))
    fi
    local start end rc
    start=$(date +%s%N)
    "${watchdog[@]}" "build/fuzz/$name" "${args[@]}" "$work" "$seeds" >"$log" 2>&1
    rc=$?
    end=$(date +%s%N)
    [ "$fresh" = 1 ] && rm -rf "$work"

    local execs rate secs artifact verdict
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
    secs=$(( (end - start) / 1000000000 ))
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n1)
    if [ "$rc" -eq 0 ] && [ -z "$artifact" ]; then
        verdict="pass  no crash, leak, timeout or OOM"
    else
        local kind=${artifact##*/}
        kind=${kind%%-*}
        verdict="FAIL  ${kind:-exit status $rc}: ${artifact:-see $log}"
    fi
    printf '  %-9s %10s runs %6s s %8s/s   %s\n' "$name" "${execs:-?}" "$secs" "${rate:-?}" \
        "$verdict" >"$logs/$name.result"
}

for name in "${names[@]}"; do
    rm -f "$logs/$name.result"
    if [ "$jobs" -gt 1 ]; then
        while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
            wait -n
        done
        run_one "$name" &
    else
        run_one "$name"
        cat "$logs/$name.result"
    fi
done
wait

passed=0
failed=0
for name in "${names[@]}"; do
    [ "$jobs" -gt 1 ] && cat "$logs/$name.result"
    if grep -q '  pass  ' "$logs/$name.result" 2>/dev/null; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        [ -f "$logs/$name.result" ] || echo "  $name: no result (see $logs/$name.log)"
    fi
done
for name in "${names[@]}"; do
    grep -q '  FAIL  ' "$logs/$name.result" 2>/dev/null || continue
    echo "--- $name (full log: $logs/$name.log):"
    grep -m1 -A12 -E '^==[0-9]+==ERROR|check failed|^SUMMARY|ALARM|out-of-memory' \
        "$logs/$name.log" | head -n 20
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# `make test` (no argument): on the release build, the include-direction
# and rows checks, the C unit tests and the OpenAPI lint; then, side by
# side, the black-box HTTP tests (with the log check) and the browser
# tests of the web client.
# `make asan-test` (argument "asan"): on the AddressSanitizer +
# UndefinedBehaviorSanitizer build, the unit tests, the black-box suite
# with its log check, and a short run of every fuzzing harness — kept out
# of `make test` so that it stays under 12 minutes on 2 cores; CI runs both.
# Each ends with one line: "N passed, N failed".
# The builds they need are made first by the Makefile.
set -uo pipefail
cd "$(dirname "$0")/.."

log_dir=build/test-logs
mkdir -p "$log_dir"

# Each suite's line goes to stdout and, as "passed failed", to $counts
# (set per group below), so that groups running side by side can be added
# up when all have finished.
counts=/dev/null
record() { # suite passed failed
    printf '  %-34s %4d passed, %d failed\n' "$1" "$2" "$3"
    echo "$2 $3" >>"$counts"
}

# cmocka prints "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s), ...".
# A binary that dies without its summary counts as one failure.
run_unit() { # flavour dir
    local flavour=$1 dir=$2 bin name out p f
    for bin in $(find "$dir" -type f -perm -u+x | sort); do
        name=${bin#"$dir"/}
        out="$log_dir/unit-$flavour-${name//\//-}.log"
        "$bin" >"$out" 2>&1
        local rc=$?
        p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\./\1/p' "$out" | tail -n1)
        f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s).*/\1/p' "$out" | tail -n1)
        p=${p:-0}
        f=${f:-0}
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
        [ "$f" -ne 0 ] && { echo "--- $name ($flavour) failed:"; tail -n 30 "$out"; }
        record "unit $name ($flavour)" "$p" "$f"
    done
}

# node --test with the TAP reporter ends with "# pass N" / "# fail N".
# The files run TEST_JOBS at a time (default 3): each starts its own
# PostgreSQL cluster and service on free ports, and most of a file's time
# is spent waiting (release windows, timers, restarts), not computing.
# TEST_JOBS=1 runs them one by one. The longest files start first, so
# that the last to finish is not one that started late: SLOW_FIRST lists
# them (longest first, as measured in a clean run; docs/performance.md),
# the others follow in name order. The order changes nothing but the time.
SLOW_FIRST="insider-anonymity release-window notifications insider-consultation
suggestions insider member-cli consultation-anonymous consultations faults audit"
blackbox_files() {
    local name f
    for name in $SLOW_FIRST; do
        [ -f "tests/blackbox/$name.test.mjs" ] && echo "tests/blackbox/$name.test.mjs"
    done
    for f in tests/blackbox/*.test.mjs; do
        case " $(echo $SLOW_FIRST) " in *" $(basename "$f" .test.mjs) "*) continue ;; esac
        echo "$f"
    done
}
# Every service's stderr goes to $log_dir/service-logs/FLAVOUR/, with the
# secrets the tests saw (tests/blackbox/lib/secrets.mjs) for run_logcheck.
run_blackbox() { # flavour binary
    local flavour=$1 bin=$2 out="$log_dir/blackbox-$1.log" p f jobs=${TEST_JOBS:-3}
    rm -rf "$log_dir/service-logs/$flavour"
    YIJIAN_BIN=$bin YIJIAN_SERVICE_LOGS="$log_dir/service-logs/$flavour" \
        node --test --test-reporter=tap --test-concurrency="$jobs" $(blackbox_files) >"$out" 2>&1
    local rc=$?
    p=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$out" | tail -n1)
    f=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$out" | tail -n1)
    p=${p:-0}
    f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    if [ "$f" -ne 0 ]; then
        echo "--- black-box ($flavour) failures (full log: $out):"
        grep -n -B2 -A25 '^not ok\|^    not ok\|^        not ok' "$out" | head -n 200
    fi
    record "black-box ($flavour)" "$p" "$f"
}

# The logs of the black-box run just made must hold none of the secrets
# it saw, no trace of an anonymous request and no client address
# (tests/blackbox/lib/logcheck.mjs): one pass or failure per kind.
run_logcheck() { # flavour
    local out="$log_dir/logcheck-$1.log" p f
    node tests/blackbox/lib/logcheck.mjs "$log_dir/service-logs/$1" >"$out" 2>&1
    local rc=$?
    p=$(sed -n 's/^logcheck: \([0-9]*\) passed, [0-9]* failed$/\1/p' "$out" | tail -n1)
    f=$(sed -n 's/^logcheck: [0-9]* passed, \([0-9]*\) failed$/\1/p' "$out" | tail -n1)
    p=${p:-0}
    f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    [ "$f" -ne 0 ] && { echo "--- secrets in the service logs ($1, full log: $out):"; head -n 40 "$out"; }
    record "log secrets ($1)" "$p" "$f"
}

# scripts/fuzz.sh: each libFuzzer harness runs its seeds, then mutates
# them for TEST_FUZZ_SECONDS (default 6); one pass per harness that finds
# no crash, leak or hang. Nothing it finds is kept between runs.
run_fuzz() {
    local out="$log_dir/fuzz.log" secs=${TEST_FUZZ_SECONDS:-6} p f
    FUZZ_SECONDS=$secs FUZZ_FRESH=1 FUZZ_RUNS= FUZZ_LOGS="$log_dir/fuzz" scripts/fuzz.sh \
        >"$out" 2>&1
    local rc=$?
    p=$(sed -n 's/^fuzz: \([0-9]*\) passed, [0-9]* failed$/\1/p' "$out" | tail -n1)
    f=$(sed -n 's/^fuzz: [0-9]* passed, \([0-9]*\) failed$/\1/p' "$out" | tail -n1)
    p=${p:-0}
    f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    [ "$f" -ne 0 ] && { echo "--- fuzz failures (full log: $out):"; tail -n 40 "$out"; }
    record "fuzz ($secs s per harness)" "$p" "$f"
}

# The web client in Debian's chromium (tests/e2e, playwright-core), on the
# release build only: the browser is what takes the time, and the service's
# side of the same requests runs under the sanitizers in `make asan-test`.
run_e2e() {
    local out="$log_dir/e2e.log" p f
    YIJIAN_BIN=build/yijian node --test --test-reporter=tap --test-concurrency=1 \
        tests/e2e/ >"$out" 2>&1
    local rc=$?
    p=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$out" | tail -n1)
    f=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$out" | tail -n1)
    p=${p:-0}
    f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    if [ "$f" -ne 0 ]; then
        echo "--- browser tests failures (full log: $out; screenshots: tests/e2e/out/):"
        grep -n -B2 -A25 '^not ok' "$out" | head -n 120
    fi
    record "browser (web client)" "$p" "$f"
}

# The include-direction rule of docs/architecture.md ("Layers"): one pass
# per source file whose includes all run downwards.
run_includes() {
    local out="$log_dir/includes.log" p f
    scripts/check-includes.sh >"$out" 2>&1
    local rc=$?
    p=$(sed -n 's/^includes: \([0-9]*\) passed, [0-9]* failed$/\1/p' "$out" | tail -n1)
    f=$(sed -n 's/^includes: [0-9]* passed, \([0-9]*\) failed$/\1/p' "$out" | tail -n1)
    p=${p:-0}
    f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    [ "$f" -ne 0 ] && { echo "--- includes that run the wrong way (full log: $out):"; head -n 40 "$out"; }
    record "include direction" "$p" "$f"
}

# Rows as types (docs/architecture.md): only db/ reads a PGresult, and
# each file of routes/ stays under 600 lines.
run_rows() {
    local out="$log_dir/rows.log" p f
    scripts/check-rows.sh >"$out" 2>&1
    local rc=$?
    p=$(sed -n 's/^rows: \([0-9]*\) passed, [0-9]* failed$/\1/p' "$out" | tail -n1)
    f=$(sed -n 's/^rows: [0-9]* passed, \([0-9]*\) failed$/\1/p' "$out" | tail -n1)
    p=${p:-0}
    f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    [ "$f" -ne 0 ] && { echo "--- rows read outside db/, or files too long (full log: $out):"; head -n 40 "$out"; }
    record "rows through db/rows.h" "$p" "$f"
}

run_lint() {
    local out="$log_dir/openapi-lint.log"
    if tests/node_modules/.bin/redocly lint --config redocly.yaml api-spec/openapi.yaml \
        >"$out" 2>&1; then
        record "openapi lint" 1 0
    else
        echo "--- openapi lint:"
        cat "$out"
        record "openapi lint" 0 1
    fi
}

# group NAME FUNCTION...: runs the functions one after another with their
# output in $log_dir/group-NAME.out and their counts in $log_dir/group-NAME.counts.
group() {
    local name=$1
    shift
    counts="$log_dir/group-$name.counts"
    : >"$counts"
    local t0 fn
    t0=$(date +%s)
    for fn in "$@"; do $fn; done >"$log_dir/group-$name.out" 2>&1
    echo "  ($name: $(( $(date +%s) - t0 )) s)" >>"$log_dir/group-$name.out"
}

sanitizers() {
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=86}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
}

release_suites() {
    run_blackbox release build/yijian
    run_logcheck release
}

# The browser: CPU-bound work beside the black-box suite, which mostly waits.
other_suites() {
    run_e2e
}

# The fuzzers last: their options are their own (scripts/fuzz.sh).
asan_suites() {
    (
        sanitizers
        run_unit asan build/asan/tests/unit
        run_blackbox asan build/asan/yijian
        run_logcheck asan
    )
    run_fuzz
}

# total GROUP...: adds up the groups' counts, prints the last line and
# fails when anything failed.
total() {
    local total_pass=0 total_fail=0 p f g
    for g in "$@"; do
        while read -r p f; do
            total_pass=$((total_pass + p))
            total_fail=$((total_fail + f))
        done <"$log_dir/group-$g.counts"
    done
    echo "== took $(( $(date +%s) - start )) s"
    echo "$total_pass passed, $total_fail failed"
    [ "$total_fail" -eq 0 ]
}

start=$(date +%s)
if [ "${1:-}" = asan ]; then
    echo "== AddressSanitizer + UndefinedBehaviorSanitizer build: unit, black-box, logs; fuzz"
    group asan asan_suites
    cat "$log_dir/group-asan.out"
    total asan
    exit
fi

# The quick checks first, then the release build's black-box suite beside
# the browser suite. Each suite inside a group
# still runs alone. TEST_SERIAL=1 runs the two groups one after the other.
echo "== checks, unit tests (release build), OpenAPI lint"
group quick run_includes run_rows "run_unit release build/tests/unit" run_lint
cat "$log_dir/group-quick.out"
echo "== release build: black-box, logs  |  browser"
if [ -n "${TEST_SERIAL:-}" ]; then
    group release release_suites
    group other other_suites
else
    group release release_suites &
    group other other_suites &
    wait
fi
echo "== release build: black-box, logs"
cat "$log_dir/group-release.out"
echo "== browser"
cat "$log_dir/group-other.out"
total quick release other

#!/usr/bin/env bash
# Runs one black-box test (a file, and a name pattern within it) N times in
# a row and stops at the first failure; prints how many passed. For a test
# suspected of failing rarely:
#   YIJIAN_BIN=build/yijian tests/blackbox/loop.sh 50 tests/blackbox/faults.test.mjs \
#       'postgres_immediate_restart_under_load'
# Each run's TAP output goes to build/test-logs/loop/RUN.log.
set -uo pipefail
[ $# -eq 3 ] || { echo "usage: $0 N FILE NAME-PATTERN" >&2; exit 2; }
n=$1 file=$2 pattern=$3
out=build/test-logs/loop
mkdir -p "$out"
for ((i = 1; i <= n; i++)); do
    start=$(date +%s)
    if ! node --test --test-reporter=tap --test-concurrency=1 --test-name-pattern="$pattern" \
        "$file" >"$out/$i.log" 2>&1 || ! grep -q '^# pass [1-9]' "$out/$i.log"; then
        echo "loop: run $i of $n FAILED after $((i - 1)) passes (log: $out/$i.log)"
        exit 1
    fi
    echo "loop: run $i of $n passed in $(($(date +%s) - start)) s"
done
echo "loop: $n of $n passed"

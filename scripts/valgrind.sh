#!/usr/bin/env bash
# Runs black-box test files against the release binary under valgrind
# memcheck (every `yijian` the tests start: serve and the one-shot
# commands), then reads valgrind's logs. Not part of `make test` (it is
# many times slower); `make valgrind` runs it on every file, or
#   scripts/valgrind.sh tests/blackbox/http.test.mjs ...
# Ends with "valgrind: N processes, N with errors" and exits 1 when any
# process had a memory error or a definite/indirect leak. Test failures
# are reported apart: timing checks may not hold at valgrind's speed.
set -uo pipefail
cd "$(dirname "$0")/.."

command -v valgrind >/dev/null || {
    echo "valgrind not found: apt-get install valgrind (not in scripts/packages.txt: make test does not need it)" >&2
    exit 1
}
out=build/valgrind
logs=$out/logs
rm -rf "$logs"
mkdir -p "$logs"
make --no-print-directory build/yijian >/dev/null || exit 1

# A wrapper that the tests start instead of the binary (YIJIAN_BIN).
cat >"$out/yijian" <<EOF
#!/bin/sh
exec valgrind --tool=memcheck --error-exitcode=99 --leak-check=full \\
    --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \\
    --num-callers=30 --log-file=$PWD/$logs/%p.log $PWD/build/yijian "\$@"
EOF
chmod +x "$out/yijian"

files=("$@")
[ ${#files[@]} -gt 0 ] || files=(tests/blackbox/)
start=$(date +%s)
YIJIAN_BIN=$out/yijian node --test --test-reporter=tap --test-concurrency=1 "${files[@]}" \
    >"$out/tests.log" 2>&1
p=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$out/tests.log" | tail -n1)
f=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$out/tests.log" | tail -n1)
echo "tests under valgrind: ${p:-0} passed, ${f:-0} failed ($(( $(date +%s) - start )) s; $out/tests.log)"
[ "${f:-0}" -eq 0 ] || grep -n '^not ok\|^    not ok' "$out/tests.log" | head -n 20

n=0 bad=0
for log in "$logs"/*.log; do
    [ -e "$log" ] || continue
    n=$((n + 1))
    errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$log" | tail -n1)
    if [ -z "$errors" ]; then
        # No summary: the process was killed (SIGKILL by a test), or is
        # still running; its errors so far are still in the log.
        errors=$(grep -c '^==[0-9]*== \(Invalid\|Conditional\|Use of uninit\|Mismatched\|Syscall param\)' "$log")
    fi
    if [ "${errors:-0}" -ne 0 ]; then
        bad=$((bad + 1))
        echo "--- $log: $errors errors"
        grep -m1 -A3 '^==[0-9]*== Command:' "$log"
        grep -A12 '^==[0-9]*== \(Invalid\|Conditional\|Use of\|Mismatched\|Syscall\|[0-9,]* bytes in [0-9,]* blocks are \(definitely\|indirectly\)\)' "$log" | head -n 40
    fi
done
echo "valgrind: $n processes, $bad with errors"
[ "$bad" -eq 0 ]

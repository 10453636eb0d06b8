#!/usr/bin/env bash
# `make ha-test`: the failover test (tests/ha/ha-test.mjs) and the restore
# test (tests/ha/restore-test.mjs), one after the other; the last line adds
# up their `N passed, N failed` lines. YIJIAN_BIN chooses the binary
# (default build/yijian).
set -uo pipefail

cd "$(dirname "$(dirname "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")")")"

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
start=$(date +%s)
total_p=0 total_f=0 status=0
for t in ha-test restore-test; do
    echo "== tests/ha/$t.mjs"
    rc=0
    node "tests/ha/$t.mjs" 2>&1 | tee "$out/$t.log" || rc=$?
    counts=$(sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\1 \2/p' "$out/$t.log" | tail -n 1)
    read -r p f <<<"${counts:-0 0}"
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    [ "$rc" -eq 0 ] || status=1
    total_p=$((total_p + p))
    total_f=$((total_f + f))
done
echo "== make ha-test took $(($(date +%s) - start)) s"
echo "$total_p passed, $total_f failed"
exit "$status"

#!/usr/bin/env bash
# Rows as types (docs/architecture.md, "Rows as types"): only db/ reads a
# PGresult; everything else reads rows through db/rows.h by column name.
# One check per file of service/src outside db/: no PGresult, no PQ*
# call, no <libpq-fe.h>; and each file of routes/ stays under 600 lines.
# Files still to be converted (or split) are listed in scripts/check-rows.todo, which
# may only shrink: a listed file that no longer needs it fails too, so the
# list is kept true. Ends with "rows: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

root=${CHECK_ROWS_ROOT:-service/src}
todo_file=${CHECK_ROWS_TODO:-scripts/check-rows.todo}
declare -A todo=()
if [ -f "$todo_file" ]; then
    while IFS= read -r line; do
        line=${line%%#*}
        line=${line//[[:space:]]/}
        [ -n "$line" ] && todo[$line]=1
    done <"$todo_file"
fi

pass=0
fail=0
while IFS= read -r file; do
    rel=${file#"$root"/}
    case $rel in db/*) continue ;; esac
    why=""
    hits=$(grep -nE 'PGresult|\bPQ[a-zA-Z]+\(|<libpq-fe\.h>' "$file" | head -n 3)
    [ -n "$hits" ] && why="reads rows without db/rows.h:
$(echo "$hits" | sed 's/^/    /')"
    case $rel in
    routes/*.c)
        n=$(wc -l <"$file")
        [ "$n" -ge 600 ] &&
            why="${why:+$why
}$n lines; a file of routes/ stays under 600 (split it by resource)"
        ;;
    esac
    bad=0
    if [ -n "${todo[$rel]+set}" ]; then
        if [ -z "$why" ]; then
            echo "$rel: converted: take it off $todo_file"
            bad=1
        fi
    elif [ -n "$why" ]; then
        echo "$rel: $why"
        bad=1
    fi
    if [ "$bad" -eq 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
done < <(find "$root" -name '*.[ch]' | sort)
echo "rows: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

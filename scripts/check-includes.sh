#!/usr/bin/env bash
# The include-direction rule of docs/architecture.md ("Layers"): each file
# under service/src may include its own folder and the folders listed for
# it below, and nothing else of the service (system and library headers
# are not checked). One check per file; prints each include that runs
# upwards or across, and ends with "includes: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

# folder (or top-level file without .c/.h) -> what it may include
declare -A may=(
    [util]=""
    [config]="util"
    [crypto]="util config"
    [db]="util config embedded"
    [webhook]="util config crypto"
    [domain]="util config crypto db webhook"
    [http]="util config db embedded"
    [client]="util config crypto"
    [routes]="util config crypto db webhook domain http embedded"
    [cli]="util config crypto db webhook domain http routes client embedded"
    [main]="util config crypto db webhook domain http routes client embedded cli"
    [embedded]=""
)

layer_of() { # path below service/src -> its layer
    case $1 in
    */*) echo "${1%%/*}" ;;
    *) local b=${1%.*}; echo "$b" ;;
    esac
}

pass=0
fail=0
root=${CHECK_INCLUDES_ROOT:-service/src}
while IFS= read -r file; do
    rel=${file#"$root"/}
    from=$(layer_of "$rel")
    if [ -z "${may[$from]+set}" ]; then
        echo "$rel: the folder \"$from\" has no place in the layers (scripts/check-includes.sh)"
        fail=$((fail + 1))
        continue
    fi
    bad=0
    while IFS=: read -r line inc; do
        to=$(layer_of "$inc")
        [ "$to" = "$from" ] && continue
        case " ${may[$from]} " in
        *" $to "*) ;;
        *)
            echo "$rel:$line: includes \"$inc\": $from may not include $to"
            bad=1
            ;;
        esac
    done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file" |
                 sed 's/^\([0-9]*\):[^"]*"\([^"]*\)".*/\1:\2/')
    if [ "$bad" -eq 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
done < <(find "$root" -name '*.[ch]' | sort)
echo "includes: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

#!/usr/bin/env bash
# podman, for podman-compose 1.0.3 (Debian 12) with `network_mode: host`:
# that version adds `--net PROJECT_default --network-alias SERVICE` to
# every `podman run` even when the service says `network_mode: host`, and
# podman refuses both at once ("cannot set multiple networks without
# bridge network mode"). scripts/container-test.sh passes this file as
# `podman-compose --podman-path`; it drops those two options from a
# command line that also has `--network host`, and otherwise runs podman
# unchanged (later podman-compose versions do not add them).
set -euo pipefail

host=0
for a in "$@"; do
    [ "$a" = --network=host ] && host=1
done
prev=
for a in "$@"; do
    [ "$prev" = --network ] && [ "$a" = host ] && host=1
    prev=$a
done
[ "$host" -eq 1 ] || exec podman "$@"

args=()
skip=0
for a in "$@"; do
    if [ "$skip" -eq 1 ]; then skip=0; continue; fi
    case $a in
        --net|--network-alias) skip=1; continue ;;
        --net=*|--network-alias=*) continue ;;
    esac
    args+=("$a")
done
exec podman "${args[@]}"

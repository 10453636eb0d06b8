#!/usr/bin/env bash
# Idempotent environment set-up, run by `make run`, `make test` and
# `make bench`:
#   1. installs the Debian packages of scripts/packages.txt that are missing
#      (as root; otherwise prints the sudo command to run and exits 1):
#      for `make run` only what building and running need; the sections
#      [test] (chromium, its fonts, cmocka, clang), [bench] (wrk) and [ha]
#      (pg_auto_failover, HAProxy, pgBackRest) only with --test, --bench
#      and --ha,
#   2. runs `npm ci` in web/ (the client's bundler) when its lock file
#      changed, and with --test, --bench or --ha in tests/ too,
#   3. as root, creates the system user yijian-pg that runs PostgreSQL
#      (PostgreSQL refuses to run as root).
# Prints nothing when there is nothing to do.
#
# Usage: scripts/setup.sh [--test] [--bench] [--ha] [--containers]
#   --test        also what the tests need.
#   --ha          also what `make ha-test` needs (and the tests' npm
#                 packages, which it uses).
#   --bench       also what the benchmark needs (and the tests' npm
#                 packages, which it uses).
#   --containers  for `make container-test`: only step 1, with the list
#                 scripts/packages-containers.txt (podman and friends).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_USER=yijian-pg

die() { echo "setup.sh: $*" >&2; exit 1; }

containers=0
want_test=0
want_bench=0
want_ha=0
for arg in "$@"; do
    case $arg in
        --test) want_test=1 ;;
        --bench) want_bench=1 ;;
        --ha) want_ha=1 ;;
        --containers) containers=1 ;;
        -h|--help) sed -n '2,23p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) die "unknown argument '$arg' (usage: scripts/setup.sh [--test] [--bench] [--ha] [--containers])" ;;
    esac
done

is_root() { [ "$(id -u)" -eq 0 ]; }

# --- 1. Debian packages -------------------------------------------------
list="$root/scripts/packages.txt"
[ "$containers" -eq 0 ] || list="$root/scripts/packages-containers.txt"
[ -r "$list" ] || die "cannot read $list"

missing=()
section=run
while read -r pkg cond _; do
    pkg=${pkg%%#*}
    [ -n "$pkg" ] || continue
    case $pkg in
        '[test]') section=test; continue ;;
        '[bench]') section=bench; continue ;;
        '[ha]') section=ha; continue ;;
    esac
    [ "$section" = run ] || { [ "$section" = test ] && [ "$want_test" -eq 1 ]; } ||
        { [ "$section" = bench ] && [ "$want_bench" -eq 1 ]; } ||
        { [ "$section" = ha ] && [ "$want_ha" -eq 1 ]; } || continue
    # 'unless:CMD': a Node.js from elsewhere (nodesource, nvm) must not be
    # replaced by, or conflict with, Debian's package.
    if [[ ${cond:-} == unless:* ]] && command -v "${cond#unless:}" >/dev/null 2>&1; then
        continue
    fi
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$pkg")
done < "$list"

if [ ${#missing[@]} -gt 0 ]; then
    if is_root; then
        echo "setup.sh: installing missing Debian packages: ${missing[*]}" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update
        apt-get install -y --no-install-recommends "${missing[@]}"
    else
        {
            echo "setup.sh: missing Debian packages: ${missing[*]}"
            echo "install them with:"
            echo "  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
        } >&2
        exit 1
    fi
fi

# The container test needs nothing else from here.
[ "$containers" -eq 0 ] || exit 0

# --- 2. npm packages of the tests and of the web client ---------------
# The stamp is touched after a successful `npm ci`, so an interrupted run
# (half-filled node_modules) is redone next time. web/ holds the client's
# libraries and its bundler (esbuild), used at build time only.
npm_dirs=("$root/web")
[ "$want_test" -eq 0 ] && [ "$want_bench" -eq 0 ] && [ "$want_ha" -eq 0 ] || npm_dirs+=("$root/tests")
for dir in "${npm_dirs[@]}"; do
    stamp="$dir/node_modules/.stamp"
    [ -f "$dir/package-lock.json" ] || continue
    if [ ! -e "$stamp" ] || [ "$dir/package-lock.json" -nt "$stamp" ] ||
       { [ -f "$dir/package.json" ] && [ "$dir/package.json" -nt "$stamp" ]; }; then
        command -v npm >/dev/null 2>&1 ||
            die "npm is not on PATH (install Debian's 'npm' package or a Node.js that ships it)"
        # @noble/curves (the independent RFC 9497 client of the token tests)
        # and playwright-core need Node.js 20.19 or later; Debian 12's own
        # nodejs is 18.
        node -e 'const [a, b] = process.versions.node.split(".").map(Number);
                 process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' ||
            die "the tests need Node.js 20.19 or later (found $(node --version)); install it, e.g. from the nodejs.org Debian packages"
        echo "setup.sh: installing npm packages (npm ci in ${dir#"$root"/}/)" >&2
        (cd "$dir" && npm ci --no-audit --no-fund) ||
            die "npm ci failed in $dir"
        touch "$stamp"
    fi
done

# --- 3. the unprivileged user that runs PostgreSQL ----------------------
if is_root && ! id -u "$PG_USER" >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin "$PG_USER" ||
        die "could not create system user $PG_USER"
fi

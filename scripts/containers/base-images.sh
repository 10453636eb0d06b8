#!/usr/bin/env bash
# Makes sure the Debian 12 base images that the Dockerfile and the
# stand-in PostgreSQL image start FROM exist in podman's local storage:
#   docker.io/library/debian:bookworm       (build stage)
#   docker.io/library/debian:bookworm-slim  (runtime stage)
#
# For each one missing: pull it (where a registry is reachable: a user's
# machine); if the pull fails (no registry reachable, as on the build
# machines), make it locally once with `debootstrap --variant=minbase
# bookworm` from the same Debian mirror the host's apt uses, and
# `podman import` it under both names. Images already present are used
# as they are (nothing is re-made or re-pulled): the cache between runs.
#
# The locally made image follows the official debian:bookworm-slim:
# sources in /etc/apt/sources.list.d/debian.sources (copied from the host
# when it is Debian 12, so apt inside containers uses the same mirror),
# the same apt settings (no caches, no translations), docs, man pages and
# locales left out by dpkg, and a policy-rc.d that keeps packages from
# starting services at install. It carries the label
# org.yijian.base=debootstrap, so it can be told from a pulled one.
#
# Usage: scripts/containers/base-images.sh [--force]
#   --force  re-make the local images even if present (never for pulled ones)
# Environment: CONTAINER_PULL=never skips the pull attempt;
#   PULL_TIMEOUT (seconds, default 300) bounds each pull.
set -euo pipefail

prog=${0##*/}
die() { echo "$prog: $*" >&2; exit 1; }
say() { echo "$prog: $*" >&2; }

force=0
for arg in "$@"; do
    case $arg in
        --force) force=1 ;;
        -h|--help) sed -n '2,26p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$arg'" ;;
    esac
done

SLIM=docker.io/library/debian:bookworm-slim
FULL=docker.io/library/debian:bookworm
LABEL=org.yijian.base=debootstrap

is_local_base() { # IMAGE: made by this script (not pulled)
    [ "$(podman image inspect --format '{{index .Labels "org.yijian.base"}}' "$1" 2>/dev/null)" = debootstrap ]
}

need=()
for img in "$SLIM" "$FULL"; do
    if podman image exists "$img"; then
        if [ "$force" -eq 1 ] && is_local_base "$img"; then
            podman rmi -f "$img" >/dev/null
            need+=("$img")
        fi
        continue
    fi
    if [ "${CONTAINER_PULL:-}" != never ] && [ "$force" -eq 0 ]; then
        say "pulling $img"
        if timeout "${PULL_TIMEOUT:-300}" podman pull -q "$img" >/dev/null 2>"${TMPDIR:-/tmp}/$prog.pull.$$"; then
            rm -f "${TMPDIR:-/tmp}/$prog.pull.$$"
            continue
        fi
        say "cannot pull $img ($(tail -n 1 "${TMPDIR:-/tmp}/$prog.pull.$$" 2>/dev/null)); making it locally"
        rm -f "${TMPDIR:-/tmp}/$prog.pull.$$"
    fi
    need+=("$img")
done
[ ${#need[@]} -gt 0 ] || exit 0

[ "$(id -u)" -eq 0 ] || die "making the base images needs root (debootstrap); run as root, or pull ${need[*]}"
command -v debootstrap >/dev/null || die "debootstrap is not installed (scripts/setup.sh --containers installs it)"

# --- the Debian mirror the host uses -----------------------------------
# A deb822 stanza or a one-line 'deb' entry whose suite is bookworm; the
# host's debian.sources is copied into the image when the host is Debian 12.
host_sources=/etc/apt/sources.list.d/debian.sources
mirror=
if [ -r "$host_sources" ]; then
    mirror=$(awk '
        /^[[:space:]]*$/ { if (u != "" && s ~ /(^|[[:space:]])bookworm([[:space:]]|$)/) { print u; exit } u = ""; s = ""; next }
        /^URIs:/   { u = $2 }
        /^Suites:/ { sub(/^Suites:[[:space:]]*/, ""); s = $0 }
        END { if (u != "" && s ~ /(^|[[:space:]])bookworm([[:space:]]|$)/) print u }
    ' "$host_sources" | head -n 1)
fi
if [ -z "$mirror" ] && [ -r /etc/apt/sources.list ]; then
    mirror=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list)
fi
mirror=${mirror:-http://deb.debian.org/debian}
host_is_bookworm=0
grep -qs '^VERSION_CODENAME=bookworm$' /etc/os-release && host_is_bookworm=1

work=$(mktemp -d "${TMPDIR:-/var/tmp}/yijian-base.XXXXXX")
cleanup() { rm -rf --one-file-system -- "$work"; }
trap cleanup EXIT
root=$work/rootfs

say "debootstrap --variant=minbase bookworm from $mirror (about a minute)"
start=$(date +%s)
if ! timeout 900 debootstrap --variant=minbase --merged-usr bookworm "$root" "$mirror" \
        >"$work/debootstrap.log" 2>&1; then
    tail -n 30 "$work/debootstrap.log" >&2
    die "debootstrap failed (log above)"
fi

# --- make it look like the official slim image -------------------------
rm -f "$root/etc/apt/sources.list"
if [ "$host_is_bookworm" -eq 1 ] && [ -r "$host_sources" ]; then
    cp "$host_sources" "$root/etc/apt/sources.list.d/debian.sources"
else
    cat >"$root/etc/apt/sources.list.d/debian.sources" <<SRC
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
# A mirror that serves a frozen snapshot has an expired Valid-Until: when
# the host's apt is told to accept that, so is the image's.
if [ "$host_is_bookworm" -eq 1 ] &&
   [[ $'\n'$(apt-config dump 2>/dev/null)$'\n' == *$'\nAcquire::Check-Valid-Until "false";\n'* ]]; then
    printf 'Acquire::Check-Valid-Until "false";\nAcquire::Check-Date "false";\n' \
        >"$root/etc/apt/apt.conf.d/99yijian-snapshot-mirror"
fi
cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'CONF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CONF
echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
echo 'Acquire::GzipIndexes "true";' >"$root/etc/apt/apt.conf.d/docker-gzip-indexes"
echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests"
cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'CONF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
CONF
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"
# What the excludes would have left out, plus caches and logs.
find "$root/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$root"/usr/share/man/* "$root"/usr/share/groff/* "$root"/usr/share/info/* \
       "$root"/usr/share/lintian/* "$root"/usr/share/linda/* "$root"/usr/share/locale/* \
       "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin \
       "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/debconf/*-old \
       "$root"/var/log/* "$root"/tmp/* "$root"/root/.bash_history
mkdir -p "$root/var/lib/apt/lists/partial"
: >"$root/etc/hostname"
: >"$root/etc/resolv.conf"
rm -f "$root/etc/machine-id" && : >"$root/etc/machine-id"

# --- import under both names -------------------------------------------
imported=
for img in "${need[@]}"; do
    if [ -z "$imported" ]; then
        tar --numeric-owner --xattrs -C "$root" -c . |
            podman import -q --change "CMD [\"bash\"]" --change "LABEL $LABEL" - "$img" >/dev/null ||
            die "podman import failed"
        imported=$img
    else
        podman tag "$imported" "$img"
    fi
    say "made $img locally ($(podman image inspect --format '{{.Size}}' "$img" | awk '{printf "%.0f MB", $1/1e6}'))"
done
say "base images ready in $(( $(date +%s) - start )) s"

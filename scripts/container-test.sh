#!/usr/bin/env bash
# shellcheck disable=SC2016 # the `bash -c` scripts of the checks take $1... as arguments
# `make container-test`: builds the container images for real and checks
# what a deployment relies on, with podman (no Docker engine is needed):
#
#   1. base images debian:bookworm and debian:bookworm-slim: used when
#      present, pulled when possible, else made locally with debootstrap
#      (scripts/containers/base-images.sh); cached between runs;
#   2. postgres:15: the official image when present or pullable, else a
#      stand-in built from Debian's postgresql-15 (scripts/containers/postgres/);
#   3. the Dockerfile, built with --pull=never; the runtime image's size
#      (goal under 150 MB), user, absence of a compiler, HEALTHCHECK;
#   4. two instances of the image run against one throwaway PostgreSQL (the
#      postgres:15 image, roles made by scripts/compose-initdb.sh):
#      migrations, /healthz, /readyz, non-root process, the image's health
#      check, a named suggestion submitted and read back (check_named_write),
#      the other instance reading it with the same sign-in, SIGTERM within
#      10 s;
#   5. docker-compose.yml end to end with podman-compose: the db health
#      check gating the service, the service healthy, the named suggestion,
#      data and token keys kept across `down` + `up` by the named volume,
#      backup and restore as docs/deployment.md tells, `down -v` cleaning up.
#
# Prints `ok - ...` / `not ok - ...` per check and ends with
# `N passed, N failed`; exits non-zero when anything failed. The checks run
# in a child process (its own process group); this script waits for it and
# then removes the containers, volumes and networks of the run, however the
# child ended (failed, interrupted, killed). Images stay: they are the
# cache. Logs: build/container-test/.
#
# Every container uses the host's network and only loopback addresses, on
# free ports; every wait is bounded. Containers get lower resource limits
# than the host's (nofile 1024, nproc 4096) and the runc runtime
# (CONTAINER_RUNTIME= to let podman choose).
#
# Environment: CONTAINER_PULL=never (no pull attempts), PULL_TIMEOUT
# (seconds per pull, default 300), CONTAINER_RUNTIME (default runc).
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1

PROJECT=yijian-ctest                       # compose project and name prefix
IMAGE=localhost/yijian:container-test
PG_IMAGE=docker.io/library/postgres:15     # what `image: postgres:15` means
DB_CTR=$PROJECT-db
APP_CTR=$PROJECT-app
APP2_CTR=$PROJECT-app2                     # a second instance on the same database
COMPOSE_VOLUME=${PROJECT}_pgdata
LOG=build/container-test
RESULTS=$LOG/results
ULIMITS=(--ulimit nofile=1024:1024 --ulimit nproc=4096:4096)
PY=/usr/bin/python3            # Debian's, with the yaml module podman-compose uses
[ -x "$PY" ] || PY=python3

# One line per check, also kept in $RESULTS for the summary.
ok()     { echo "ok - $*"; echo ok >>"$RESULTS"; }
not_ok() { echo "not ok - $*"; echo "not ok" >>"$RESULTS"; }
info()   { echo "# $*"; }
# check DESCRIPTION COMMAND...: ok when the command succeeds.
check()  { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
# The checks that follow need what just failed.
abort()  { exit 1; }
show_log() { # FILE [LINES]: the end of a log, indented, after a failure
    [ -s "$1" ] || return 0
    echo "#   --- last lines of $1:"
    tail -n "${2:-20}" -- "$1" | sed 's/^/#   /'
}
ctr_log() { # CONTAINER: its log into $LOG/CONTAINER.log, shown
    podman logs "$1" >"$LOG/$1.log" 2>&1 || true
    show_log "$LOG/$1.log" 25
}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
secs() { # MILLISECONDS -> "1.2"
    printf '%d.%d' $(($1 / 1000)) $((($1 % 1000) / 100))
}

# Containers started with -d keep a conmon process running, which must not
# inherit the lock (fd 8) that the supervising process holds.
podman() { command podman "$@" 8>&-; }

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
secret() { od -An -tx1 -N16 /dev/urandom | tr -d ' \n'; }

compose() { # podman-compose on docker-compose.yml + the test overlay, bounded
    timeout --foreground 300 podman-compose \
        --podman-path "$root/scripts/containers/podman-hostnet.sh" \
        -p "$PROJECT" -f docker-compose.yml -f scripts/containers/compose.test.yml "$@"
}
compose_ctrs() { # [SERVICE]: ids of the project's containers (by label: names vary by version)
    podman ps -a -q --filter "label=io.podman.compose.project=$PROJECT" \
        ${1:+--filter "label=com.docker.compose.service=$1"}
}
compose_ctr() { compose_ctrs "$1" | head -n 1; }

# Everything a run may have left: its own containers, and the compose
# project's containers, volumes and networks.
cleanup() {
    local ids
    podman rm -f -i -v -t 5 "$APP_CTR" "$APP2_CTR" "$DB_CTR" >>"$LOG/cleanup.log" 2>&1
    ids=$(compose_ctrs)
    # shellcheck disable=SC2086
    [ -z "$ids" ] || podman rm -f -i -v -t 5 $ids >>"$LOG/cleanup.log" 2>&1
    ids=$(podman volume ls -q --filter "label=io.podman.compose.project=$PROJECT")
    # shellcheck disable=SC2086
    [ -z "$ids" ] || podman volume rm -f $ids >>"$LOG/cleanup.log" 2>&1
    ids=$(podman network ls -q --filter "label=io.podman.compose.project=$PROJECT")
    # shellcheck disable=SC2086
    [ -z "$ids" ] || podman network rm -f $ids >>"$LOG/cleanup.log" 2>&1
    rm -f "$LOG/master.key" "$LOG/backup.dump"
    return 0
}

# --- the supervising process --------------------------------------------
supervise() {
    local tool child rc=0 interrupted=0 deadline passed failed
    mkdir -p "$LOG"
    rm -f "$LOG"/*.log "$RESULTS"
    for tool in podman podman-compose curl timeout flock pgrep "$PY"; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            echo "not ok - $tool is installed (scripts/setup.sh --containers installs it)"
            echo "0 passed, 1 failed"
            return 1
        fi
    done

    # One run at a time: the names are fixed.
    exec 8>"${TMPDIR:-/tmp}/yijian-container-test.lock"
    if ! flock -w 900 8; then
        echo "not ok - no other container test holds the lock (waited 900 s)"
        echo "0 passed, 1 failed"
        return 1
    fi

    # Podman settings for every podman command of the run, podman-compose's
    # included: runtime, lower limits, the host's network by default.
    local runtime=${CONTAINER_RUNTIME-runc}
    [ -z "$runtime" ] || command -v "$runtime" >/dev/null 2>&1 || runtime=
    {
        echo '[containers]'
        echo 'default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]'
        echo 'netns = "host"'
        echo '[engine]'
        [ -z "$runtime" ] || echo "runtime = \"$runtime\""
    } >"$LOG/containers.conf"
    export CONTAINERS_CONF=$root/$LOG/containers.conf

    cleanup     # what an earlier run that was killed may have left

    # The checks, in their own process group so that an interruption can
    # stop all of them (podman, podman-compose, curl) at once.
    set -m
    "$BASH" "${BASH_SOURCE[0]}" --checks &
    child=$!
    set +m
    trap 'interrupted=1; kill -TERM -- "-$child" 2>/dev/null' INT TERM
    while :; do
        wait "$child"
        rc=$?
        kill -0 "$child" 2>/dev/null || break
    done
    trap '' INT TERM
    # What the interrupted checks had started ends too (bounded).
    deadline=$(( $(date +%s) + 30 ))
    while pgrep -g "$child" >/dev/null 2>&1 && [ "$(date +%s)" -lt "$deadline" ]; do
        sleep 0.2
    done
    cleanup
    if [ "$interrupted" -eq 1 ]; then
        not_ok "run completed (interrupted)"
    elif [ "$rc" -ne 0 ] && ! grep -qx 'not ok' "$RESULTS" 2>/dev/null; then
        not_ok "checks ended normally (exit status $rc)"
    fi
    passed=$(grep -cx ok "$RESULTS" 2>/dev/null)
    failed=$(grep -cx 'not ok' "$RESULTS" 2>/dev/null)
    echo "${passed:-0} passed, ${failed:-0} failed"
    [ "${failed:-0}" -eq 0 ] && [ "$rc" -eq 0 ]
}

if [ "${1:-}" != --checks ]; then
    supervise
    exit
fi

# --- the checks (child process) -----------------------------------------
run_start=$(now_ms)
if ! podman info >"$LOG/podman-info.log" 2>&1; then
    not_ok "podman works (podman info)"
    show_log "$LOG/podman-info.log"
    abort
fi

# --- helpers for the running service ------------------------------------
# http METHOD URL [JSON [TOKEN]]: prints the status code, body in $LOG/body
http() {
    : >"$LOG/body"
    local args=(-sS --max-time 5 -o "$LOG/body" -w '%{http_code}' -X "$1" "$2")
    [ -n "${3:-}" ] && args+=(-H 'content-type: application/json' --data-binary "$3")
    [ -n "${4:-}" ] && args+=(-H "authorization: Bearer $4")
    curl "${args[@]}" 2>>"$LOG/curl.log" || true
}
# json_get PATH: a member of the JSON in $LOG/body (PATH like account.id or
# keys.0.public_key); strings as they are, anything else as JSON.
json_get() {
    "$PY" - "$LOG/body" "$1" 2>/dev/null <<'PY'
import json, sys
v = json.load(open(sys.argv[1], encoding="utf-8"))
for k in sys.argv[2].split("."):
    v = v[int(k)] if isinstance(v, list) else v[k]
print(v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
PY
}
# expect WHAT STATUS GOT: says what went wrong when GOT is not STATUS
expect() {
    [ "$3" = "$2" ] && return 0
    echo "#   $1: status $3, expected $2: $(head -c 300 "$LOG/body")"
    return 1
}

wait_http_200() { # URL SECONDS CONTAINER: until URL answers 200, or the container exits
    local deadline=$(( $(date +%s) + $2 ))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        [ "$(http GET "$1")" = 200 ] && return 0
        [ "$(podman inspect --format '{{.State.Running}}' "$3" 2>/dev/null)" = true ] || return 1
        sleep 0.5
    done
    return 1
}

wait_healthy() { # CONTAINER SECONDS: runs its health check until it passes
    local deadline=$(( $(date +%s) + $2 ))
    unhealthy_probes=0
    while [ "$(date +%s)" -lt "$deadline" ]; do
        # Podman runs health checks from systemd timers; without systemd
        # they run only when asked, which is what this does.
        if timeout --foreground 10 podman healthcheck run "$1" >/dev/null 2>&1; then
            return 0
        fi
        unhealthy_probes=$((unhealthy_probes + 1))
        sleep 0.5
    done
    return 1
}

PASSWORD='a long container-test password'
SUGGESTION_ID=
TITLE='容器测试：支部活动时间'
TEXT='建议把支部活动改到周末上午。（container test）'

activate() { # BASE LOGIN CODE: sets the password PASSWORD
    expect "activate $2" 200 "$(http POST "$1/v1/auth/activate" \
        "$(printf '{"login":"%s","code":"%s","password":"%s"}' "$2" "$3" "$PASSWORD")")"
}
sign_in() { # BASE LOGIN: prints the bearer token
    expect "login $2" 200 "$(http POST "$1/v1/auth/login" \
        "$(printf '{"login":"%s","password":"%s"}' "$2" "$PASSWORD")")" >&2 || return 1
    json_get token
}

# check_named_write CONTAINER BASE: a named write and its read-back through
# the running service, as a deployment is first used:
#   - `yijian create-admin` in the container prints an activation code; the
#     administrator activates the account, signs in, reads GET /v1/me;
#   - the administrator makes a unit, a category and a member account;
#   - the member activates, signs in, submits a named suggestion
#     (POST /v1/suggestions), which read_suggestion then reads back.
# Sets SUGGESTION_ID.
check_named_write() {
    local ctr=$1 base=$2 code admin unit category member
    code=$(timeout --foreground 30 podman exec "$ctr" yijian create-admin ctadmin '容器测试管理员' 2>>"$LOG/write.log")
    [[ $code =~ ^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$ ]] ||
        { echo "#   create-admin printed '$code'"; return 1; }
    activate "$base" ctadmin "$code" || return 1
    admin=$(sign_in "$base" ctadmin) || return 1
    expect "GET /v1/me" 200 "$(http GET "$base/v1/me" "" "$admin")" || return 1
    [ "$(json_get login)" = ctadmin ] || { echo "#   /v1/me: $(head -c 300 "$LOG/body")"; return 1; }

    expect "POST /v1/org-units" 201 "$(http POST "$base/v1/org-units" \
        '{"name":"容器测试党支部","level":"branch","parent_id":null}' "$admin")" || return 1
    unit=$(json_get id)
    CT_UNIT=$unit # the token keys are per unit: the checks below list this one's
    expect "POST /v1/org-units/$unit/categories" 201 "$(http POST "$base/v1/org-units/$unit/categories" \
        '{"name":"支部生活","portfolio":"组织"}' "$admin")" || return 1
    category=$(json_get id)
    expect "POST /v1/accounts" 201 "$(http POST "$base/v1/accounts" \
        "$(printf '{"login":"ctmember","display_name":"容器测试党员","unit_id":%s,"roles":["member"]}' "$unit")" \
        "$admin")" || return 1
    code=$(json_get activation_code)
    activate "$base" ctmember "$code" || return 1
    member=$(sign_in "$base" ctmember) || return 1

    expect "POST /v1/suggestions" 201 "$(http POST "$base/v1/suggestions" \
        "$(printf '{"unit_id":%s,"category_id":%s,"title":"%s","body":"%s"}' \
            "$unit" "$category" "$TITLE" "$TEXT")" "$member")" || return 1
    SUGGESTION_ID=$(json_get id)
    read_suggestion "$base"
}

# read_suggestion BASE: the member signs in and reads suggestion
# SUGGESTION_ID back: title, text, named (not anonymous), its author.
read_suggestion() {
    local base=$1 member
    [ -n "$SUGGESTION_ID" ] || { echo "#   no suggestion to read"; return 1; }
    member=$(sign_in "$base" ctmember) || return 1
    expect "GET /v1/suggestions/$SUGGESTION_ID" 200 \
        "$(http GET "$base/v1/suggestions/$SUGGESTION_ID" "" "$member")" || return 1
    if [ "$(json_get title)" != "$TITLE" ] || [ "$(json_get body)" != "$TEXT" ] ||
       [ "$(json_get anonymous)" != false ] || [ "$(json_get author_name)" != '容器测试党员' ]; then
        echo "#   GET /v1/suggestions/$SUGGESTION_ID: $(head -c 400 "$LOG/body")"
        return 1
    fi
}


# --- 1. base images -----------------------------------------------------
t=$(now_ms)
if timeout 1200 scripts/containers/base-images.sh >"$LOG/base-images.log" 2>&1; then
    how=cached
    grep -q 'made .* locally' "$LOG/base-images.log" && how="made locally with debootstrap"
    grep -q '^base-images.sh: pulling' "$LOG/base-images.log" &&
        ! grep -q 'cannot pull' "$LOG/base-images.log" && how=pulled
    ok "base images debian:bookworm and debian:bookworm-slim ($how, $(secs $(( $(now_ms) - t ))) s)"
else
    not_ok "base images debian:bookworm and debian:bookworm-slim"
    show_log "$LOG/base-images.log"
    abort
fi

# --- 2. postgres:15 -----------------------------------------------------
# The stand-in is rebuilt when its files change (their hash is a label);
# an official image is used as it is.
standin_dir=scripts/containers/postgres
standin_hash=$(cat "$standin_dir/Dockerfile" "$standin_dir/docker-entrypoint.sh" | sha256sum | cut -c1-16)
pg_how=
if podman image exists "$PG_IMAGE"; then
    have=$(podman image inspect --format '{{index .Labels "org.yijian.standin-hash"}}' "$PG_IMAGE" 2>/dev/null)
    if [ -z "$have" ]; then
        pg_how=cached
    elif [ "$have" = "$standin_hash" ]; then
        pg_how="cached stand-in"
    else
        info "the stand-in's files changed since it was built: rebuilding it"
        old_pg=$(podman image inspect --format '{{.Id}}' "$PG_IMAGE")
    fi
elif [ "${CONTAINER_PULL:-}" != never ] &&
     timeout --foreground "${PULL_TIMEOUT:-300}" podman pull -q "$PG_IMAGE" >"$LOG/postgres-pull.log" 2>&1; then
    pg_how=pulled
else
    info "cannot pull $PG_IMAGE: $(tail -n 1 "$LOG/postgres-pull.log" 2>/dev/null)"
fi
if [ -z "$pg_how" ]; then
    t=$(now_ms)
    if timeout --foreground 900 podman build --format docker --pull=never --network host "${ULIMITS[@]}" \
            --label "org.yijian.standin-hash=$standin_hash" \
            -t "$PG_IMAGE" "$standin_dir" >"$LOG/postgres-build.log" 2>&1; then
        pg_how="stand-in built from Debian's postgresql-15 in $(secs $(( $(now_ms) - t ))) s"
        [ -z "${old_pg:-}" ] || podman rmi "$old_pg" >/dev/null 2>&1 || true
    fi
fi
if [ -n "$pg_how" ]; then
    ok "postgres:15 image ($pg_how)"
else
    not_ok "postgres:15 image (pull failed, stand-in build failed)"
    show_log "$LOG/postgres-build.log"
    abort
fi

# --- 3. the Dockerfile --------------------------------------------------
# The build stage gets a tag of its own, so that the images an earlier run
# left (its build stage and runtime image, with their untagged layers) can
# be removed once replaced, and the layer cache is all that stays.
BUILD_IMAGE=localhost/yijian-build:container-test
COMPOSE_IMAGE=localhost/${PROJECT}_yijian:latest   # podman-compose's name for it
old_ids=$(podman image inspect --format '{{.Id}}' "$BUILD_IMAGE" "$IMAGE" "$COMPOSE_IMAGE" 2>/dev/null || true)
t=$(now_ms)
# --format docker keeps HEALTHCHECK (the OCI format has no such field).
# The build stage fetches the web client's packages with npm: the host's
# CA bundle goes along, for networks whose egress proxy re-signs TLS (the
# Dockerfile's NPM_CA).
HOST_CA=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}
CA_ARGS=()
[ -r "$HOST_CA" ] && CA_ARGS=(-v "$HOST_CA:/run/host-ca.crt:ro" --build-arg NPM_CA=/run/host-ca.crt)
build() { timeout --foreground 900 podman build --format docker --pull=never --network host "${ULIMITS[@]}" "${CA_ARGS[@]}" "$@" .; }
if build --target build -t "$BUILD_IMAGE" >"$LOG/build.log" 2>&1 &&
   build -t "$IMAGE" >>"$LOG/build.log" 2>&1; then
    ok "Dockerfile builds with --pull=never ($(secs $(( $(now_ms) - t ))) s)"
else
    not_ok "Dockerfile builds with --pull=never"
    show_log "$LOG/build.log" 30
    abort
fi
new_ids=$(podman image inspect --format '{{.Id}}' "$BUILD_IMAGE" "$IMAGE")
# podman-compose's build below tags the image again.
podman untag "$COMPOSE_IMAGE" "$COMPOSE_IMAGE" >/dev/null 2>&1 || true
for id in $old_ids; do
    # Fails harmlessly when something else still uses it.
    grep -qx "$id" <<<"$new_ids" || podman rmi "$id" >/dev/null 2>&1 || true
done

size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
size_mb=$(awk -v b="$size" 'BEGIN { printf "%.1f", b / 1000000 }')
echo "# runtime image size: $size_mb MB ($size bytes, podman image inspect --format '{{.Size}}' $IMAGE)"
check "runtime image is under 150 MB ($size_mb MB)" [ "$size" -lt 150000000 ]

user=$(podman image inspect --format '{{.Config.User}}' "$IMAGE")
check "image runs as a non-root user by default (USER $user)" \
    bash -c '[ -n "$1" ] && [ "${1%%:*}" != 0 ] && [ "${1%%:*}" != root ]' _ "$user"

# No compiler, assembler, linker or headers: the runtime stage gets only
# runtime libraries (gcc-12-base and libgcc-s1 are parts of the C runtime).
if podman run --rm --network none --entrypoint /bin/sh "$IMAGE" -c '
        found=
        for c in cc gcc c89 c99 cpp c++ g++ clang tcc as ld; do
            p=$(command -v "$c") && found="$found $p"
        done
        for f in /usr/bin/cc /usr/bin/*gcc* /usr/bin/*clang* /usr/bin/ld /usr/bin/as; do
            [ -e "$f" ] && found="$found $f"
        done
        pk=$(dpkg-query -W -f "\${Package}\n" |
             grep -E "^(gcc(-[0-9]+)?|cpp(-[0-9]+)?|g\+\+.*|clang.*|binutils.*|libc6-dev|make)$|-dev$")
        [ -z "$found$pk" ] || { echo "found:$found $pk"; exit 1; }
    ' >"$LOG/no-compiler.log" 2>&1; then
    ok "image holds no compiler (no cc, gcc, clang, as, ld; no gcc, binutils or -dev packages)"
else
    not_ok "image holds no compiler"
    show_log "$LOG/no-compiler.log"
fi

hc=$(podman image inspect --format '{{if .Config.Healthcheck}}{{join .Config.Healthcheck.Test " "}}{{end}}' "$IMAGE" 2>/dev/null)
check "image has a HEALTHCHECK (${hc:-none})" [ -n "$hc" ]

# --- 4. the image against a throwaway PostgreSQL ------------------------
db_port=$(free_port)
app_port=$(free_port)
app2_port=$(free_port)
while [ "$app_port" = "$db_port" ]; do app_port=$(free_port); done
while [ "$app2_port" = "$db_port" ] || [ "$app2_port" = "$app_port" ]; do app2_port=$(free_port); done
pg_pw=$(secret) owner_pw=$(secret) app_pw=$(secret)
base=http://127.0.0.1:$app_port
base2=http://127.0.0.1:$app2_port

info "single containers: PostgreSQL on 127.0.0.1:$db_port, two service instances on 127.0.0.1:$app_port and :$app2_port"
podman run -d --name "$DB_CTR" --network host "${ULIMITS[@]}" \
    -e PGPORT="$db_port" -e POSTGRES_DB=yijian -e POSTGRES_PASSWORD="$pg_pw" \
    -e POSTGRES_INITDB_ARGS="--encoding=UTF8 --locale=C.UTF-8 --auth-host=scram-sha-256" \
    -e YIJIAN_OWNER_PASSWORD="$owner_pw" -e YIJIAN_PASSWORD="$app_pw" \
    -v "$root/scripts/compose-initdb.sh:/docker-entrypoint-initdb.d/10-yijian-roles.sh:ro" \
    "$PG_IMAGE" postgres -c listen_addresses=127.0.0.1 >"$LOG/run-db.log" 2>&1
db_ready=1
deadline=$(( $(date +%s) + 90 ))
until timeout --foreground 5 podman exec "$DB_CTR" pg_isready -q -h 127.0.0.1 -p "$db_port" -U postgres -d yijian 2>/dev/null; do
    if [ "$(date +%s)" -ge "$deadline" ] ||
       [ "$(podman inspect --format '{{.State.Running}}' "$DB_CTR" 2>/dev/null)" != true ]; then
        db_ready=0; break
    fi
    sleep 0.5
done
if [ "$db_ready" -eq 1 ]; then
    ok "throwaway PostgreSQL (postgres:15 image) accepts TCP connections on 127.0.0.1:$db_port"
else
    not_ok "throwaway PostgreSQL (postgres:15 image) accepts TCP connections"
    show_log "$LOG/run-db.log"; ctr_log "$DB_CTR"
    abort
fi

# The master key as a file, the way a secret is mounted: readable by the
# service's user only (the service refuses a file others may read). That
# needs root here (chown); otherwise it goes in MASTER_KEY.
key_opts=(-e MASTER_KEY="$(secret)$(secret)")
if [ "$(id -u)" -eq 0 ]; then
    key_uid=$(podman image inspect --format '{{.Config.User}}' "$IMAGE")
    (umask 077 && echo "$(secret)$(secret)" >"$LOG/master.key") &&
        chown "${key_uid%%:*}" "$LOG/master.key" &&
        key_opts=(-v "$root/$LOG/master.key:/run/secrets/master_key:ro"
                  -e MASTER_KEY_FILE=/run/secrets/master_key)
fi
info "master key given as ${key_opts[-1]%%=*}"
# Two instances of the image on one fresh database, started together: the
# way to run more than one (the service keeps no state of its own; both
# migrate on start, under PostgreSQL's advisory lock).
run_app() { # NAME PORT
    podman run -d --name "$1" --network host "${ULIMITS[@]}" "${key_opts[@]}" \
        -e LISTEN="127.0.0.1:$2" \
        -e DATABASE_URL="host=127.0.0.1 port=$db_port dbname=yijian user=yijian password=$app_pw" \
        -e DATABASE_OWNER_URL="host=127.0.0.1 port=$db_port dbname=yijian user=yijian_owner password=$owner_pw" \
        "$IMAGE" >"$LOG/run-$1.log" 2>&1
}
t=$(now_ms)
run_app "$APP_CTR" "$app_port"
run_app "$APP2_CTR" "$app2_port"
if wait_http_200 "$base/healthz" 60 "$APP_CTR"; then
    ok "/healthz answers 200 ($(secs $(( $(now_ms) - t ))) s after start)"
else
    not_ok "/healthz answers 200"
    show_log "$LOG/run-$APP_CTR.log"; ctr_log "$APP_CTR"
    abort
fi
second=1
if ! wait_http_200 "$base2/healthz" 60 "$APP2_CTR"; then
    second=0
    not_ok "second instance: /healthz answers 200"
    show_log "$LOG/run-$APP2_CTR.log"; ctr_log "$APP2_CTR"
fi

st=$(http GET "$base/readyz")
schema=$(json_get schema_version)
check "/readyz answers 200 with schema_version ${schema:-none} (status $st)" \
    bash -c '[ "$1" = 200 ] && [ -n "$2" ] && [ "$2" -gt 0 ]' _ "$st" "$schema"

podman logs "$APP_CTR" >"$LOG/$APP_CTR.log" 2>&1
podman logs "$APP2_CTR" >"$LOG/$APP2_CTR.log" 2>&1
applied=$(grep -c '"msg":"migration applied"' "$LOG/$APP_CTR.log")
applied2=$(grep -c '"msg":"migration applied"' "$LOG/$APP2_CTR.log")
check "the instances migrate on start, each migration once ($applied + $applied2 of ${schema:-?} applied, per their logs)" \
    bash -c '[ "$3" -gt 0 ] && [ $(($1 + $2)) -eq "$3" ]' _ "$applied" "$applied2" "${schema:-0}"

# The uid of the service process itself, as the kernel sees it (rootful
# podman does not remap uids), and as the container sees it.
pid=$(podman inspect --format '{{.State.Pid}}' "$APP_CTR")
host_uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
ctr_uid=$(timeout --foreground 10 podman exec "$APP_CTR" id -u 2>/dev/null)
check "service process runs as a non-root uid (pid $pid: uid ${host_uid:-?}, id -u in the container: ${ctr_uid:-?})" \
    bash -c '[ -n "$1" ] && [ "$1" != 0 ] && [ -n "$2" ] && [ "$2" != 0 ]' _ "$host_uid" "$ctr_uid"

check "the image's HEALTHCHECK passes (podman healthcheck run)" wait_healthy "$APP_CTR" 20

if check_named_write "$APP_CTR" "$base"; then
    ok "named write round trip: create-admin, a unit, a category, a member; suggestion $SUGGESTION_ID submitted and read back"
else
    not_ok "named write round trip: create-admin, a unit, a category, a member, a suggestion submitted and read back"
    ctr_log "$APP_CTR"
fi

if [ "$second" -eq 1 ]; then
    # A sign-in made on one instance is good on the other, and what one
    # wrote the other reads.
    token=$(sign_in "$base" ctmember)
    st=$(http GET "$base2/v1/me" "" "$token")
    if [ -n "$token" ] && [ "$st" = 200 ] && [ "$(json_get login)" = ctmember ] &&
       read_suggestion "$base2"; then
        ok "second instance: takes the first one's sign-in and reads suggestion ${SUGGESTION_ID:-?}"
    else
        not_ok "second instance: takes the first one's sign-in (GET /v1/me: $st) and reads the suggestion"
        ctr_log "$APP2_CTR"
    fi
fi

t=$(now_ms)
timeout --foreground 30 podman stop -t 10 "$APP_CTR" >"$LOG/stop.log" 2>&1
stop_ms=$(( $(now_ms) - t ))
code=$(podman inspect --format '{{.State.ExitCode}}' "$APP_CTR" 2>/dev/null)
podman logs "$APP_CTR" >"$LOG/$APP_CTR.log" 2>&1
echo "# SIGTERM to exit: $(secs "$stop_ms") s"
if [ "$stop_ms" -lt 10000 ] && [ "$code" = 0 ] && grep -q 'SIGTERM' "$LOG/$APP_CTR.log"; then
    ok "SIGTERM (podman stop -t 10) stops the service in $(secs "$stop_ms") s, exit status 0"
else
    not_ok "SIGTERM (podman stop -t 10) stops the service within 10 s ($(secs "$stop_ms") s, exit status ${code:-?})"
    show_log "$LOG/$APP_CTR.log"
fi
if [ "$second" -eq 1 ]; then
    check "second instance: still ready with the first one stopped" \
        [ "$(http GET "$base2/readyz")" = 200 ]
fi
podman rm -f -i -v "$APP_CTR" "$APP2_CTR" "$DB_CTR" >>"$LOG/cleanup.log" 2>&1

# --- 5. docker-compose.yml with podman-compose ---------------------------
CT_DB_PORT=$(free_port)
CT_HTTP_PORT=$(free_port)
while [ "$CT_HTTP_PORT" = "$CT_DB_PORT" ]; do CT_HTTP_PORT=$(free_port); done
POSTGRES_PASSWORD=$(secret) YIJIAN_OWNER_PASSWORD=$(secret) YIJIAN_PASSWORD=$(secret)
YIJIAN_MASTER_KEY=$(secret)$(secret)
export CT_DB_PORT CT_HTTP_PORT POSTGRES_PASSWORD YIJIAN_OWNER_PASSWORD YIJIAN_PASSWORD YIJIAN_MASTER_KEY
cbase=http://127.0.0.1:$CT_HTTP_PORT
info "compose: PostgreSQL on 127.0.0.1:$CT_DB_PORT, service on 127.0.0.1:$CT_HTTP_PORT"

# What `docker compose` reads; podman-compose 1.0.3 (Debian 12) starts the
# services in dependency order but does not wait for `condition:`, so the
# steps below wait for the db's health check themselves before starting
# the service, as `docker compose up` does.
if "$PY" - docker-compose.yml >"$LOG/compose-file.log" 2>&1 <<'PY'
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))["services"]
assert c["db"]["image"] == "postgres:15", "db must use the official postgres:15 image"
assert c["db"]["healthcheck"]["test"], "db has no health check"
assert c["yijian"]["depends_on"]["db"]["condition"] == "service_healthy", "yijian is not gated on db health"
assert c["yijian"]["healthcheck"]["test"], "yijian has no health check"
vols = [v for v in c["db"]["volumes"] if v.startswith("pgdata:")]
assert vols == ["pgdata:/var/lib/postgresql/data"], "db data is not on the named volume pgdata"
PY
then
    ok "compose file: db is the official postgres:15 with a health check and the named volume; yijian waits for service_healthy"
else
    not_ok "compose file: db image, health checks, named volume, depends_on condition"
    show_log "$LOG/compose-file.log"
fi

# Without a master key the stack must not start at all. (podman-compose
# 1.0.3 lets a file .env override the environment: a developer's own .env
# with a key in it makes this check moot.)
if grep -qs '^ *YIJIAN_MASTER_KEY=' .env; then
    info "compose: not checking the refusal without YIJIAN_MASTER_KEY: .env sets it"
elif (unset YIJIAN_MASTER_KEY; compose ps) >"$LOG/compose-no-key.log" 2>&1; then
    not_ok "compose: refuses to start without YIJIAN_MASTER_KEY"
    show_log "$LOG/compose-no-key.log"
elif grep -q YIJIAN_MASTER_KEY "$LOG/compose-no-key.log"; then
    ok "compose: refuses to start without YIJIAN_MASTER_KEY, and says so"
else
    not_ok "compose: refuses to start without YIJIAN_MASTER_KEY, and says so"
    show_log "$LOG/compose-no-key.log"
fi

t=$(now_ms)
if compose --podman-build-args="--pull=never --format docker --network host ${CA_ARGS[*]}" build \
        >"$LOG/compose-build.log" 2>&1; then
    ok "podman-compose build ($(secs $(( $(now_ms) - t ))) s)"
else
    not_ok "podman-compose build"
    show_log "$LOG/compose-build.log"
    abort
fi

t=$(now_ms)
compose up -d db >"$LOG/compose-up-db.log" 2>&1
COMPOSE_DB=$(compose_ctr db)
if [ -n "$COMPOSE_DB" ] && wait_healthy "$COMPOSE_DB" 120; then
    podman logs "$COMPOSE_DB" >"$LOG/$COMPOSE_DB.log" 2>&1
    info "db healthy $(secs $(( $(now_ms) - t ))) s after up ($unhealthy_probes probes failed before)"
    # Healthy only once the first-start initialisation (the roles script
    # included) is over: the temporary server of that phase has no TCP.
    if grep -q 'init process complete' "$LOG/$COMPOSE_DB.log" &&
       grep -q 'compose-initdb.sh: roles' "$LOG/$COMPOSE_DB.log"; then
        ok "compose: db health check passes only after initialisation, roles script run"
    else
        not_ok "compose: db health check passes only after initialisation, roles script run"
        show_log "$LOG/$COMPOSE_DB.log"
    fi
else
    not_ok "compose: db becomes healthy (within 120 s)"
    show_log "$LOG/compose-up-db.log"; ctr_log "$COMPOSE_DB"
    abort
fi

t=$(now_ms)
compose up -d >"$LOG/compose-up.log" 2>&1
COMPOSE_APP=$(compose_ctr yijian)
if [ -n "$COMPOSE_APP" ] && wait_healthy "$COMPOSE_APP" 90 && [ "$(http GET "$cbase/readyz")" = 200 ]; then
    ok "compose: service healthy and ready $(secs $(( $(now_ms) - t ))) s after up"
else
    not_ok "compose: service becomes healthy and ready (within 90 s)"
    show_log "$LOG/compose-up.log"; ctr_log "$COMPOSE_APP"
    abort
fi

if check_named_write "$COMPOSE_APP" "$cbase"; then
    ok "compose: named write round trip: suggestion $SUGGESTION_ID submitted and read back"
else
    not_ok "compose: named write round trip: a suggestion submitted and read back"
    ctr_log "$COMPOSE_APP"
fi
# The anonymity-token keys are secrets sealed under the master key in the
# database: the same ones must come back after a restart.
http GET "$cbase/v1/tokens/keys?unit=${CT_UNIT:-1}" >/dev/null
keys_before=$(json_get keys.0.public_key)

compose down >"$LOG/compose-down.log" 2>&1
left=$(compose_ctrs | wc -l)
if [ "$left" -eq 0 ] && podman volume exists "$COMPOSE_VOLUME"; then
    ok "compose: down removes the containers and keeps the volume $COMPOSE_VOLUME"
else
    not_ok "compose: down removes the containers ($left left) and keeps the volume"
    show_log "$LOG/compose-down.log"
fi

# Both services at once, as a plain `up` after a restart does.
t=$(now_ms)
compose up -d >"$LOG/compose-up-again.log" 2>&1
COMPOSE_APP=$(compose_ctr yijian) COMPOSE_DB=$(compose_ctr db)
if [ -n "$COMPOSE_APP" ] && wait_healthy "$COMPOSE_APP" 120; then
    took=$(secs $(( $(now_ms) - t )))
    if read_suggestion "$cbase"; then
        ok "compose: after down + up (healthy in $took s) suggestion $SUGGESTION_ID is read back"
    else
        not_ok "compose: after down + up suggestion $SUGGESTION_ID is read back"
        ctr_log "$COMPOSE_APP"
    fi
    st=$(http GET "$cbase/v1/tokens/keys?unit=${CT_UNIT:-1}")
    keys_after=$(json_get keys.0.public_key)
    if [ "$st" = 200 ] && [ -n "$keys_before" ] && [ "$keys_after" = "$keys_before" ]; then
        ok "compose: after down + up the token keys sealed under the master key are the same"
    else
        not_ok "compose: after down + up the token keys are the same (status $st, '$keys_before' then '$keys_after')"
    fi
else
    not_ok "compose: service healthy again after down + up (within 120 s)"
    show_log "$LOG/compose-up-again.log"; ctr_log "$COMPOSE_APP"; ctr_log "$COMPOSE_DB"
fi

# Backup and restore as docs/deployment.md tells (`docker compose exec -T db
# ...` there; podman exec here, since podman-compose 1.0.3 prints its own
# command line on stdout): pg_dump, down -v, a new volume, pg_restore, up.
restored=0
if timeout --foreground 120 podman exec "$COMPOSE_DB" pg_dump -U postgres -d yijian -Fc \
        >"$LOG/backup.dump" 2>"$LOG/backup.log" && [ -s "$LOG/backup.dump" ]; then
    compose down -v >"$LOG/compose-restore.log" 2>&1
    compose up -d db >>"$LOG/compose-restore.log" 2>&1
    COMPOSE_DB=$(compose_ctr db)
    if [ -n "$COMPOSE_DB" ] && wait_healthy "$COMPOSE_DB" 120 &&
       timeout --foreground 120 podman exec -i "$COMPOSE_DB" pg_restore -U postgres -d yijian \
           --no-owner --role=yijian_owner --exit-on-error <"$LOG/backup.dump" >>"$LOG/backup.log" 2>&1; then
        compose up -d >>"$LOG/compose-restore.log" 2>&1
        COMPOSE_APP=$(compose_ctr yijian)
        if [ -n "$COMPOSE_APP" ] && wait_healthy "$COMPOSE_APP" 120 && read_suggestion "$cbase" &&
           [ "$(http GET "$cbase/v1/tokens/keys?unit=${CT_UNIT:-1}")" = 200 ] &&
           [ "$(json_get keys.0.public_key)" = "$keys_before" ]; then
            restored=1
        fi
    fi
fi
if [ "$restored" -eq 1 ]; then
    ok "compose: pg_dump, down -v, pg_restore into a new volume: suggestion $SUGGESTION_ID and the token keys are back ($(( $(stat -c %s "$LOG/backup.dump") / 1024 )) KiB dump)"
else
    not_ok "compose: pg_dump, down -v, pg_restore into a new volume, service ready with the data"
    show_log "$LOG/backup.log"; show_log "$LOG/compose-restore.log" 10
    [ -z "${COMPOSE_APP:-}" ] || ctr_log "$COMPOSE_APP"
fi

compose down -v >"$LOG/compose-down-v.log" 2>&1
left=$(compose_ctrs | wc -l)
if [ "$left" -eq 0 ] && ! podman volume exists "$COMPOSE_VOLUME"; then
    ok "compose: down -v removes the containers and the volume"
else
    not_ok "compose: down -v removes the containers ($left left) and the volume"
    show_log "$LOG/compose-down-v.log"
fi

echo "# runtime image $IMAGE: $size_mb MB; checks took $(( ($(now_ms) - run_start) / 1000 )) s"

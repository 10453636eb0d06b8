#!/bin/sh
# Runs the black-box tests (needs node >= 20.19, the service built, and
# `npm ci --prefix tests` once). YIJIAN_BIN picks another binary, e.g.
#   YIJIAN_BIN=build/asan/yijian tests/blackbox/run.sh
# Extra arguments go to node, e.g. --test-name-pattern=readyz.
set -eu
cd "$(dirname "$0")/../.."
exec node --test --test-reporter=tap --test-concurrency=1 "$@" tests/blackbox/

#!/usr/bin/env bash
# Quick start, command 2: installs what is missing, builds with ASan+UBSan, starts a throwaway
# PostgreSQL 15 on loopback, runs every test (ctest: unit, pg, cli), and stops the server.
# Usage: scripts/test.sh [ctest args...]   e.g. scripts/test.sh -L unit
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh release      # what the demo and the benchmarks use: it must build too
bash scripts/build.sh asan
bash scripts/pg-test-server.sh start
# (by its full path: the tests run from build-asan, and a relative path there found no script,
# so every test run left its server running)
ROOT=$PWD
trap 'bash "$ROOT/scripts/pg-test-server.sh" stop >/dev/null 2>&1 || true' EXIT
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
cd build-asan
ctest --output-on-failure --timeout 900 -j 2 "$@"

#!/usr/bin/env bash
# Runs a test command with the PG* environment of the test server (tests/out/pg.env, written by
# scripts/pg-test-server.sh start). Exits 77 (ctest: skipped) when no test server is running.
set -u
env_file="${ENGRAM_PG_ENV:-$(dirname "$0")/out/pg.env}"
if [ ! -f "$env_file" ]; then
  echo "skipped: no PostgreSQL test server (run scripts/pg-test-server.sh start)" >&2
  exit 77
fi
# shellcheck disable=SC1090
. "$env_file"
exec "$@"

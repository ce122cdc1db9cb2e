# Shared helpers of the shell integration tests (sourced). The PG* variables of the test server
# are set by tests/run-with-pg.sh; ENGRAM_BIN / ENGRAM_GEN / ENGRAM_SRC by ctest.
set -u
: "${ENGRAM_BIN:?}" "${ENGRAM_SRC:?}"
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
FAILS=0
PASSES=0
engram() { "$ENGRAM_BIN" "$@"; }
# psql as the test user (the schema owner), quiet, stop on error
q() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }
# SQL as the superuser (to kill backends, change roles)
admin() { bash "$ENGRAM_SRC/scripts/pg-test-server.sh" psql-admin -X -q -v ON_ERROR_STOP=1 -At "$@"; }
ok() { PASSES=$((PASSES + 1)); echo "ok - $*"; }
fail() { FAILS=$((FAILS + 1)); echo "FAIL - $*"; }
# check NAME EXPECTED ACTUAL
check() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: expected [$2], got [$3]"; fi; }
# contains NAME NEEDLE FILE
contains() { if grep -qF -- "$2" "$3"; then ok "$1"; else fail "$1: [$2] not in output:"; sed 's/^/    /' "$3" | head -20; fi; }
lacks() { if ! grep -qF -- "$2" "$3"; then ok "$1"; else fail "$1: [$2] found in output"; fi; }
finish() {
  echo "$PASSES passed, $FAILS failed"
  [ "$FAILS" -eq 0 ]
}
. "$ENGRAM_SRC/tests/store_checks.sh"
# a fresh schema per test file, so tests can run in parallel
new_schema() {
  local s="t_$(basename "$0" .sh)_$$"
  q -c "DROP SCHEMA IF EXISTS $s CASCADE; CREATE SCHEMA $s;"
  echo "$s"
}
memories_table() { # SCHEMA [TABLE]
  q -c "CREATE TABLE $1.${2:-memories} (id uuid PRIMARY KEY, content text, created_at timestamptz, updated_at timestamptz, metadata jsonb)"
}

# Shared helpers of the end-to-end shell tests (sourced): the engram under test (E), pass/fail
# counters with ok, fail and check, and finish (the summary line and the exit status).
# ENGRAM_BIN and ENGRAM_SRC come from ctest; each test makes its own temporary directory.
set -u
: "${ENGRAM_BIN:?}" "${ENGRAM_SRC:?}"
FAILS=0
PASSES=0
E() { "$ENGRAM_BIN" "$@"; }
ok() { PASSES=$((PASSES + 1)); echo "ok - $*"; }
fail() { FAILS=$((FAILS + 1)); echo "FAIL - $*"; }
# check NAME EXPECTED ACTUAL
check() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: expected [$2], got [$3]"; fi; }
finish() {
  echo "$PASSES passed, $FAILS failed"
  [ "$FAILS" -eq 0 ]
}

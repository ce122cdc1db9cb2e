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
# serve_test TOOLS...: the start of a test that runs servers: skips (77) without one of TOOLS,
# makes the temporary directory T and the array PIDS of processes the exit kills (with T)
serve_test() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "skip: $tool not installed"; exit 77; }
  done
  T="$(mktemp -d)"
  PIDS=()
  trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"' EXIT
}
# free_port: the first port from 18080 up that nothing answers on
free_port() {
  local p=${1:-18080}
  while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}
# start_serve LOG ARGS...: starts `engram ARGS serve` on a free port, its stderr to LOG; sets
# PORT and SPID and adds SPID to the caller's PIDS array (serve_test's exit kills them). The server
# counts as started once it has said so in LOG (it says so only after binding the port): two
# tests that run at once can both find the same port free, and the one whose serve could not
# bind would otherwise take the other's /healthz for its own and test the other's store.
start_serve() {
  local log=$1 p=18080 i
  shift
  for _ in 1 2 3 4 5; do
    p=$(free_port "$p")
    "$ENGRAM_BIN" "$@" serve --listen "127.0.0.1:$p" 2>"$log" &
    SPID=$!
    PIDS+=("$SPID")
    for i in $(seq 50); do
      if grep -q '^engram: serving store' "$log" 2>/dev/null &&
        curl -s --max-time 1 "http://127.0.0.1:$p/healthz" >/dev/null 2>&1; then
        PORT=$p
        return 0
      fi
      kill -0 "$SPID" 2>/dev/null || break
      sleep 0.1
    done
    kill "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null
    p=$((p + 1))
  done
  return 1
}
finish() {
  echo "$PASSES passed, $FAILS failed"
  [ "$FAILS" -eq 0 ]
}

# store_dump STORE: every pipeline output row, every column, exactly (and the staging columns,
# and the snapshot's tag: a digest of the inputs, the same whichever way the run went), for
# comparing two stores; a query that fails (a column renamed) fails the dump instead of leaving
# both dumps short alike
store_dump() {
  sqlite3 -bail "$1" <<'SQL'
.mode list
SELECT term, docs FROM fts_term ORDER BY 1;
SELECT * FROM pipeline ORDER BY 1;
SELECT * FROM journey ORDER BY 1, 2;
SELECT * FROM assoc ORDER BY 1, 2;
SELECT * FROM concept_edge ORDER BY 1, 2;
SELECT * FROM episode ORDER BY 1;
SELECT * FROM ltm ORDER BY 1;
SELECT * FROM creative ORDER BY 1;
SELECT memory_rowid, at, kind FROM presentation ORDER BY 1, 2, 3;
SELECT concept_id, name, community, memories FROM concept ORDER BY 1;
SELECT concept_id, chunk, hex(postings) FROM concept_posting ORDER BY 1, 2;
SELECT rowid, status, skip_reason, late, arrived_at FROM memory ORDER BY 1;
SELECT * FROM staging ORDER BY memory_rowid;
SELECT 'snapshot tag', value FROM sim_state WHERE key = 'snapshot_tag';
SQL
}
. "$ENGRAM_SRC/tests/store_checks.sh"

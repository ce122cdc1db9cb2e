#!/usr/bin/env bash
# A server that fails in the middle of a bulk read. (1) The backend is terminated mid-read: the
# read is retried on a new connection and the run completes with every row exactly once.
# (2) The server crashes mid-read and stays down: engram exits 75 and nothing of the read is in the
# store (no rows, no watermark); after a restart the next run completes with no duplicates.
# This test stops the shared server, so ctest runs it alone (RUN_SERIAL).
. "$(dirname "$0")/lib.sh"
S=$(new_schema)
memories_table "$S" big
N=5000
q -c "INSERT INTO $S.big SELECT md5(g::text)::uuid, 'bulk memory ' || g || repeat(' filler', 20),
        timestamptz '2026-11-01 00:00:00+00' + g * interval '1 second', NULL, NULL
        FROM generate_series(1, $N) g;
      CREATE VIEW $S.memories AS SELECT b.* FROM $S.big b CROSS JOIN LATERAL (SELECT pg_sleep(0.0002) WHERE b.id IS NOT NULL) s;"
printf 'source.schema = %s\nsource.retries = 2\nsource.retry_delay = 200ms\ningest.batch_rows = 500\n' "$S" >"$T/e.conf"

wait_for_read() { # waits until engram's read is running on the server
  for _ in $(seq 1 100); do
    n=$(admin -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'engram' AND state = 'active' AND query ILIKE '%COPY%'" 2>/dev/null || echo 0)
    [ "${n:-0}" -ge 1 ] && return 0
    sleep 0.1
  done
  return 1
}

# (1) backend terminated mid-read
"$ENGRAM_BIN" --config "$T/e.conf" --source postgresql:// --store "$T/a.db" --now 2026-11-20T00:00:00Z run --json >"$T/a.out" 2>"$T/a.err" &
pid=$!
if wait_for_read; then
  sleep 1
  admin -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'engram'" >/dev/null
  ok "terminated engram's backend mid-read"
else
  fail "engram's read never showed up in pg_stat_activity"
fi
wait $pid
check "the run completes after the retry" 0 $?
contains "the retry is logged" "retrying" "$T/a.err"
check "attempts recorded" 2 "$(sed -E 's/.*"attempts":([0-9]+).*/\1/' "$T/a.out")"
check "every row exactly once" "$N|$N" "$(sqlite3 "$T/a.db" 'SELECT count(*), count(DISTINCT id) FROM memory')"

# the view sleeps about 1 ms a row (pg_sleep's resolution), so a read takes about N ms
# (2) server crash mid-read, staying down; the store exists beforehand (a store the failed run
# created would be removed: test_failed_first_run.sh), so the failed run is recorded in it
"$ENGRAM_BIN" --store "$T/b.db" init -q
"$ENGRAM_BIN" --config "$T/e.conf" --source postgresql:// --store "$T/b.db" --now 2026-11-20T00:00:00Z run >"$T/b.out" 2>&1 &
pid=$!
if wait_for_read; then
  sleep 1
  bash "$ENGRAM_SRC/scripts/pg-test-server.sh" kill >/dev/null 2>&1
  ok "killed the server mid-read"
else
  fail "engram's read never showed up in pg_stat_activity"
fi
wait $pid
check "engram exits 75 when the source stays down" 75 $?
check "nothing of the failed read is in the store" 0 "$(sqlite3 "$T/b.db" 'SELECT count(*) FROM memory')"
check "no watermark was written" 0 "$(sqlite3 "$T/b.db" 'SELECT count(*) FROM watermark')"
check "the failed run is recorded" failed "$(sqlite3 "$T/b.db" 'SELECT outcome FROM runs ORDER BY run_id DESC LIMIT 1')"
bash "$ENGRAM_SRC/scripts/pg-test-server.sh" restart >/dev/null 2>&1
"$ENGRAM_BIN" --config "$T/e.conf" --source postgresql:// --store "$T/b.db" --now 2026-11-20T00:00:00Z run -q
check "the next run completes" 0 $?
check "no duplicates after the recovery" "$N|$N" "$(sqlite3 "$T/b.db" 'SELECT count(*), count(DISTINCT id) FROM memory')"

q -c "DROP SCHEMA $S CASCADE"
finish

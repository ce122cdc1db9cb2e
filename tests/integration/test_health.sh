#!/usr/bin/env bash
# engram health against a real PostgreSQL (SPEC §10): each check has a case that passes and one
# that fails — connection (reachable vs an unreachable port), freshness (fresh vs 2 days old),
# volume (rows vs an empty table, and a spike against the history), quality (good vs 20 % empty
# content), performance (targets met vs impossible targets), schema (a missing column),
# readiness (checkpoint lag) and pipeline stages (a failed run in the last hour); exit codes
# 0/1/2, the JSON shape, history rows, the embedded store, and no password in any output.
. "$(dirname "$0")/lib.sh"
S=$(new_schema)
OUT="$T/all-output.txt"
: >"$OUT"
run() { # run engram, keep its output (stdout+stderr) in $T/last and append it to $OUT
  "$ENGRAM_BIN" "$@" >"$T/last" 2>&1
  local rc=$?
  cat "$T/last" >>"$OUT"
  return $rc
}
# st NAME: the status word of check NAME in the last text output
st() { awk -v n="$1" '$2 == n { print $1; exit }' "$T/last"; }
NOW=2026-11-20T12:00:00Z
conf() { # conf FILE TABLE [extra lines]
  printf 'source.schema = %s\nsource.table = %s\nsource.retries = 0\n%s' "$S" "$2" "${3:-}" >"$1"
}

memories_table "$S" memories
memories_table "$S" old
memories_table "$S" empty
memories_table "$S" badq
q -c "CREATE TABLE $S.nocontent (id uuid, body text, created_at timestamptz, updated_at timestamptz, metadata jsonb)"
q -c "INSERT INTO $S.memories
      SELECT md5(g::text)::uuid, 'memory number ' || g || ' about the garden and the pond',
             timestamptz '2026-11-20 11:50:00+00' - g * interval '1 minute', NULL, jsonb_build_object('n', g)
        FROM generate_series(1, 200) g"
q -c "INSERT INTO $S.old SELECT id, content, created_at - interval '2 days', NULL, metadata FROM $S.memories"
q -c "INSERT INTO $S.badq SELECT id, CASE WHEN g % 10 = 0 THEN NULL WHEN g % 10 = 5 THEN '   ' ELSE content END,
             created_at, NULL, metadata
        FROM (SELECT *, row_number() OVER (ORDER BY id) g FROM $S.memories) x"

conf "$T/m.conf" memories
M=(--config "$T/m.conf" --source postgresql:// --store "$T/s.db")

# health with no store: reports every check, creates nothing
run "${M[@]}" --now $NOW health
rc=$?
check "no store: the source checks pass, readiness warns (exit 1)" 1 $rc
check "no store: connection OK" OK "$(st connection)"
contains "no store: says so" "does not exist" "$T/last"
[ ! -e "$T/s.db" ] && ok "no store: nothing created" || fail "health created the store"

# the healthy case: a fresh table, a store with a successful run at now → exit 0, all OK
run "${M[@]}" init
run "${M[@]}" --now $NOW run
check "the run succeeds" 0 $?
run "${M[@]}" --now $NOW health
check "healthy: exit 0" 0 $?
for c in connection freshness volume quality performance schema readiness pipeline; do
  check "healthy: $c OK" OK "$(st "$c")"
done
contains "healthy: summary OK" "OK       summary" "$T/last"
contains "quality says PostgreSQL text is UTF-8" "always valid UTF-8" "$T/last"
check "history: one row per check" 8 "$(sqlite3 "$T/s.db" 'SELECT count(*) FROM health_history')"
check "history: the volume value is the row count" 200 \
  "$(sqlite3 "$T/s.db" "SELECT CAST(value AS INTEGER) FROM health_history WHERE check_name = 'volume'")"

# --json
run "${M[@]}" --now $NOW health --json
check "json: exit 0" 0 $?
check "json: status, at and 8 checks" "OK 2026-11-20T12:00:00Z 8" \
  "$(jq -r '"\(.status) \(.at) \(.checks | length)"' "$T/last")"
check "json: check fields" "name,status,value,threshold,unit,message" \
  "$(jq -r '.checks[0] | keys_unsorted | join(",")' "$T/last")"
check "json: measured volume" 200 "$(jq -r '.checks[] | select(.name == "volume") | .value' "$T/last")"

# volume against the history: after 5 results at 200 rows, 400 rows is a spike → WARNING, exit 1
for i in 1 2 3; do run "${M[@]}" --now $NOW health; done
q -c "INSERT INTO $S.memories
      SELECT md5(g::text)::uuid, 'another memory ' || g, timestamptz '2026-11-20 11:00:00+00', NULL, NULL
        FROM generate_series(201, 400) g"
run "${M[@]}" --now $NOW health
check "volume spike: exit 1" 1 $?
check "volume spike: WARNING" WARNING "$(st volume)"
contains "volume spike: named" "spike" "$T/last"
check "history: 8 rows per run" 48 "$(sqlite3 "$T/s.db" 'SELECT count(*) FROM health_history')"

# readiness: the checkpoint lags 3 days behind --now → WARNING (freshness is CRITICAL then too)
run "${M[@]}" --now 2026-11-23T12:00:00Z health
check "checkpoint lag: readiness WARNING" WARNING "$(st readiness)"
contains "checkpoint lag: measured" "checkpoint lag 72.00 h" "$T/last"

# performance: impossible targets → WARNING
conf "$T/p.conf" memories $'health.count_target = 0\nhealth.staging_target = 0\n'
run --config "$T/p.conf" --source postgresql:// --store "$T/p.db" --now $NOW health
check "performance targets missed: WARNING" WARNING "$(st performance)"
contains "performance: staged a sample" "read + staged 400 rows" "$T/last"

# freshness: newest row 2 days old → CRITICAL, exit 2
conf "$T/o.conf" old
run --config "$T/o.conf" --source postgresql:// --store "$T/o.db" --now $NOW health
check "old table: exit 2" 2 $?
check "old table: freshness CRITICAL" CRITICAL "$(st freshness)"
check "old table: volume OK" OK "$(st volume)"

# volume: an empty table → CRITICAL (freshness too: no rows)
conf "$T/e.conf" empty
run --config "$T/e.conf" --source postgresql:// --store "$T/o.db" --now $NOW health
check "empty table: exit 2" 2 $?
check "empty table: volume CRITICAL" CRITICAL "$(st volume)"
check "empty table: freshness CRITICAL" CRITICAL "$(st freshness)"

# quality: 20 % NULL or blank content → CRITICAL
conf "$T/q.conf" badq
run --config "$T/q.conf" --source postgresql:// --store "$T/o.db" --now $NOW health
check "bad content: quality CRITICAL" CRITICAL "$(st quality)"
contains "bad content: measured" "160 of 200 rows have content" "$T/last"
# whitespace other than spaces is blank too (btrim() strips only spaces: 100 % was OK)
memories_table "$S" tabs
q -c "INSERT INTO $S.tabs SELECT id, CASE WHEN g % 10 = 0 THEN E'\\t\\n' ELSE content END, created_at, NULL, NULL
        FROM (SELECT *, row_number() OVER (ORDER BY id) g FROM $S.memories
              WHERE content LIKE 'memory number %') x"
conf "$T/tq.conf" tabs
run --config "$T/tq.conf" --source postgresql:// --store "$T/o.db" --now $NOW health
check "tab-only content: quality CRITICAL (90 %)" CRITICAL "$(st quality)"
contains "tab-only content: measured" "180 of 200 rows have content (20 NULL, empty or whitespace only)" "$T/last"

# schema: a missing column → CRITICAL naming it; connection still OK
conf "$T/n.conf" nocontent
run --config "$T/n.conf" --source postgresql:// --store "$T/o.db" --now $NOW health
check "missing column: exit 2" 2 $?
check "missing column: schema CRITICAL" CRITICAL "$(st schema)"
check "missing column: connection OK" OK "$(st connection)"
contains "missing column: named" '"content"' "$T/last"
run --config "$T/n.conf" --source postgresql:// --store "$T/o.db" --now $NOW health --json
check "missing column: no count of columns (not 0: four of the five are right)" null \
  "$(jq -r '.checks[] | select(.name == "schema") | .value' "$T/last")"

# connection: an unreachable port → CRITICAL, exit 2, every check still printed
run --config "$T/m.conf" --source "postgresql://127.0.0.1:1/nodb?connect_timeout=2" \
  --store "$T/s.db" --now $NOW health
check "unreachable: exit 2" 2 $?
check "unreachable: connection CRITICAL" CRITICAL "$(st connection)"
check "unreachable: every check and the summary printed" 9 \
  "$(grep -cE '^(OK|WARNING|CRITICAL|UNKNOWN) ' "$T/last")"
check "unreachable: the store checks still run" OK "$(st pipeline)"

# the target of a source that does not open is the one it has when it opens, so health_history
# keeps one target through an outage or a schema change (it lost the user and the quoting)
# the target in the JSON report of the last run (stderr warnings of the connection aside)
json_target() { sed -n '/^{/,$p' "$T/last" | jq -r .target; }
run "${M[@]}" --now $NOW health --json
T_OK=$(json_target)
run --config "$T/m.conf" --source "postgresql://127.0.0.1:1/$PGDATABASE?connect_timeout=2" \
  --store "$T/s.db" --now $NOW health --json
check "unreachable: the target of the source when it opens" "${T_OK/ port=$PGPORT / port=1 }" \
  "$(json_target)"
run --config "$T/n.conf" --source postgresql:// --store "$T/o.db" --now $NOW health --json
check "missing column: the target of the source when it opens" \
  "${T_OK/\"memories\"/\"nocontent\"}" "$(json_target)"
check "the targets name the user and quote the table" 1 \
  "$(grep -c "user=$PGUSER table=\"$S\".\"memories\"" <<<"$T_OK")"

# connection slower than the warning threshold → WARNING
conf "$T/c.conf" memories $'health.connection_warn = 0\n'
run --config "$T/c.conf" --source postgresql:// --store "$T/p.db" --now $NOW health
check "slow connection: WARNING" WARNING "$(st connection)"

# pipeline: a run failed in the last hour → WARNING; readiness: the last run failed → CRITICAL
cp "$T/s.db" "$T/f.db"
us=$(($(date +%s) * 1000000))
sqlite3 "$T/f.db" "INSERT INTO runs (command, now, started_at, finished_at, outcome, error)
                   VALUES ('run', $us, $us, $us, 'failed', 'simulated failure')"
run --config "$T/m.conf" --source postgresql:// --store "$T/f.db" --now $NOW health
check "failed run: pipeline WARNING" WARNING "$(st pipeline)"
check "failed run: readiness CRITICAL" CRITICAL "$(st readiness)"
contains "failed run: the error is shown" "simulated failure" "$T/last"

# pipeline: a ready short-term item that waited far longer than consolidation.interval (ready
# 10 h before the checkpoint, never replayed since) → WARNING
cp "$T/s.db" "$T/lag.db"
sqlite3 "$T/lag.db" "UPDATE pipeline SET status = 'in_stm',
                     ready_at = (SELECT value FROM sim_state WHERE key = 'checkpoint') - 10 * 3600 * 1000000
                     WHERE memory_rowid = (SELECT min(memory_rowid) FROM pipeline);
                     DELETE FROM presentation WHERE kind = 'replayed'
                       AND memory_rowid = (SELECT min(memory_rowid) FROM pipeline)"
run --config "$T/m.conf" --source postgresql:// --store "$T/lag.db" --now $NOW health
check "consolidation lag: pipeline WARNING" WARNING "$(st pipeline)"
contains "consolidation lag: measured and marked late" "consolidation lag 36000 s (late)" "$T/last"
run --config "$T/m.conf" --source postgresql:// --store "$T/s.db" --now $NOW health
contains "no consolidation lag on a finished run" "consolidation lag 0 s," "$T/last"


# freshness measures the newest row at or before now + validate.future_skew: 20 rows 15 days old
# plus one dated 2099 is CRITICAL (the real data is 360 h old), and the future row is named, not
# measured (it used to be a WARNING about the future that hid the staleness)
memories_table "$S" fut
q -c "INSERT INTO $S.fut
      SELECT md5('fut' || g)::uuid, 'an old memory number ' || g,
             timestamptz '2026-11-05 12:00:00+00' - g * interval '1 minute', NULL, NULL
        FROM generate_series(1, 20) g"
q -c "INSERT INTO $S.fut VALUES (md5('fut-2099')::uuid, 'a memory from 2099', '2099-11-10 00:00+00', NULL, NULL)"
conf "$T/fut.conf" fut
run --config "$T/fut.conf" --source postgresql:// --store "$T/o.db" --now $NOW health
check "future row: freshness CRITICAL (the real data is 15 days old)" CRITICAL "$(st freshness)"
contains "future row: the age is the newest row's before now" "360.0 h (newest created 2026-11-05T11:59:00Z)" "$T/last"
contains "future row: counted in the message" "1 row dated after now + validate.future_skew" "$T/last"
check "future row: the measured value is that age" 360.02 \
  "$(run --config "$T/fut.conf" --source postgresql:// --store "$T/o.db" --now $NOW health --json;
     jq -r '.checks[] | select(.name == "freshness") | .value * 100 | round / 100' "$T/last")"
# ... and the same data 1 h after its newest finite row: fresh, but a WARNING for the 2099 row
run --config "$T/fut.conf" --source postgresql:// --store "$T/o.db" --now 2026-11-05T12:59:00Z health
check "future row, fresh data: freshness WARNING" WARNING "$(st freshness)"
contains "future row, fresh data: says why" "1 row dated after now + validate.future_skew" "$T/last"

# ±infinity created_at: ignored for the age (never cast: it printed year -290308), counted
memories_table "$S" inf
q -c "INSERT INTO $S.inf SELECT * FROM $S.fut WHERE created_at < '2099-01-01'"
q -c "INSERT INTO $S.inf VALUES (md5('inf+')::uuid, 'dated infinity', 'infinity', NULL, NULL),
                                (md5('inf-')::uuid, 'dated -infinity', '-infinity', NULL, NULL)"
conf "$T/inf.conf" inf
run --config "$T/inf.conf" --source postgresql:// --store "$T/o.db" --now $NOW health
check "infinity: freshness CRITICAL (the real data is 15 days old)" CRITICAL "$(st freshness)"
contains "infinity: the age of the newest finite row" "360.0 h (newest created 2026-11-05T11:59:00Z)" "$T/last"
contains "infinity: counted in the message" "2 rows with a created_at of ±infinity" "$T/last"
lacks "infinity: no year -290308" "-290308" "$T/last"
run --config "$T/inf.conf" --source postgresql:// --store "$T/o.db" --now 2026-11-05T12:59:00Z health
check "infinity, fresh data: freshness WARNING" WARNING "$(st freshness)"

# performance: the staging sample reads the newest rows with a finite created_at (not the NULL and
# infinity rows that sort first in DESC order) and counts as kept only what staging keeps (ingest
# stages 14 of these 21: 2 NULL, 2 empty and 3 out-of-window rows are skipped)
memories_table "$S" perf
q -c "INSERT INTO $S.perf
      SELECT md5('perf' || g)::uuid,
             CASE WHEN g <= 2 THEN NULL WHEN g <= 4 THEN '' ELSE 'a memory to stage, number ' || g END,
             CASE WHEN g <= 7 AND g > 4 THEN timestamptz '2024-01-01 00:00+00'
                  ELSE timestamptz '$NOW' - g * interval '1 hour' END, NULL, NULL
        FROM generate_series(1, 21) g"
q -c "INSERT INTO $S.perf VALUES (md5('perf-null')::uuid, 'no created_at', NULL, NULL, NULL),
                                 (md5('perf-inf')::uuid, 'created at infinity', 'infinity', NULL, NULL)"
conf "$T/perf.conf" perf
run --config "$T/perf.conf" --source postgresql:// --store "$T/o.db" --now $NOW health
contains "performance: the sample is the 21 rows with a finite created_at, 14 kept" \
  "read + staged 21 rows (14 kept)" "$T/last"
engram --config "$T/perf.conf" --source postgresql:// --store "$T/perf.db" init >/dev/null 2>&1
engram --config "$T/perf.conf" --source postgresql:// --store "$T/perf.db" --now $NOW ingest --json >"$T/ing" 2>/dev/null
check "performance: ingest stages as many as health keeps" 14 \
  "$(jq -r .staged "$T/ing")"

# the embedded store as the source
run --store "$T/emb.db" init
run --store "$T/emb.db" --now $NOW remember "a note about the garden"
run --store "$T/emb.db" --now $NOW run
run --store "$T/emb.db" --now $NOW health
check "embedded: exit 0" 0 $?
check "embedded: connection OK" OK "$(st connection)"
check "embedded: quality OK" OK "$(st quality)"

# the embedded source's freshness: a row dated 2099 and one whose created_at is not a timestamp
# are counted, not measured (the age is the note's, remembered at now)
cp "$T/emb.db" "$T/emb-fut.db"
sqlite3 "$T/emb-fut.db" "INSERT INTO memories (id, content, created_at) VALUES
  ('e-2099', 'a note from 2099', '2099-11-10T00:00:00Z'), ('e-bad', 'a note of no time', 'yesterday')"
run --store "$T/emb-fut.db" --now $NOW health
check "embedded, future row: freshness WARNING" WARNING "$(st freshness)"
contains "embedded, future row: the age of the newest row before now" "newest memory created 2026-11-20T12:00:00Z" "$T/last"
contains "embedded, future row: counted" "1 row dated after now + validate.future_skew" "$T/last"
contains "embedded, unreadable created_at: counted" "1 row with a created_at that is not a timestamp" "$T/last"

# no password anywhere in what engram printed
real_pw=$(cat "${ENGRAM_PG_PASSWORD_FILE:-/nonexistent}" 2>/dev/null || true)
if [ -n "$real_pw" ]; then lacks "the real password is never printed" "$real_pw" "$OUT"; fi
lacks "no password keyword in outputs" "password=" "$OUT"

q -c "DROP SCHEMA $S CASCADE"
finish

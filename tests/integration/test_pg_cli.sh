#!/usr/bin/env bash
# engram against a real PostgreSQL through the command line: full and incremental ingest with
# keyed upserts, lookback overlap without duplicates, updates, --full reporting rows deleted at the
# source, schema errors naming column and types (exit 65), an unreachable server (exit 75), a wrong
# password (exit 2), a role without CONNECT or LOGIN (exit 2, not retried), a custom column
# mapping, a search_path that puts another schema's >= before pg_catalog's, and no password in
# any output.
. "$(dirname "$0")/lib.sh"
S=$(new_schema)
memories_table "$S"
OUT="$T/all-output.txt"
: >"$OUT"
run() { # run engram, keep its output (stdout+stderr) in $T/last and append it to $OUT
  "$ENGRAM_BIN" "$@" >"$T/last" 2>&1
  local rc=$?
  cat "$T/last" >>"$OUT"
  return $rc
}
printf 'source.schema = %s\nsource.retries = 1\nsource.retry_delay = 50ms\n' "$S" >"$T/e.conf"
E=(--config "$T/e.conf" --source postgresql:// --store "$T/s.db")

q -c "INSERT INTO $S.memories
      SELECT md5(g::text)::uuid, 'memory number ' || g || ' about the garden and the pond',
             timestamptz '2026-11-01 00:00:00+00' + g * interval '1 minute', NULL,
             jsonb_build_object('n', g)
        FROM generate_series(1, 3000) g"
run "${E[@]}" --now 2026-11-20T00:00:00Z run --json
check "first run succeeds" 0 $?
num() { sed -E "s/^[{](\"ingest\":[{])?[^{]*\"$1\":([0-9]+).*/\\2/" "$T/last"; } # num FIELD: a top-level count of the last JSON report
check "first run reads every row" 3000 "$(num read)"
check "store holds every row" 3000 "$(sqlite3 "$T/s.db" 'SELECT count(*) FROM memory')"

# incremental: new rows and an update; lookback re-reads a few, upserts keep them single
q -c "INSERT INTO $S.memories
      SELECT md5(g::text)::uuid, 'later memory ' || g, timestamptz '2026-11-10 00:00:00+00' + g * interval '1 minute', NULL, NULL
        FROM generate_series(3001, 3100) g;
      UPDATE $S.memories SET content = 'edited memory one', updated_at = timestamptz '2026-11-15 00:00:00+00'
       WHERE id = md5('1')::uuid"
run "${E[@]}" --now 2026-11-20T01:00:00Z ingest --json
check "incremental ingest succeeds" 0 $?
read_n=$(num read)
ins=$(num inserted)
upd=$(num updated)
check "incremental ingest inserts only the new rows" 100 "$ins"
check "incremental ingest sees the update" 1 "$upd"
[ "$read_n" -lt 3000 ] && ok "incremental ingest reads only rows after the watermark ($read_n)" \
  || fail "incremental ingest read $read_n rows"
check "no duplicates after the incremental run" "3100|3100" \
  "$(sqlite3 "$T/s.db" 'SELECT count(*), count(DISTINCT id) FROM memory')"
check "the updated content is stored" "edited memory one" \
  "$(sqlite3 "$T/s.db" "SELECT content FROM memory WHERE id = '$(q -c "SELECT md5('1')::uuid")'")"
run "${E[@]}" --now 2026-11-20T01:00:00Z ingest --json
check "re-running at the same now changes nothing" "0 0" \
  "$(sed -E 's/.*"inserted":([0-9]+),"updated":([0-9]+).*/\1 \2/' "$T/last")"

# a search_path that puts a schema before pg_catalog (a role setting, PGOPTIONS) does not change
# what engram's statements mean: regression, a >= of that schema made the incremental read
# return nothing, and the new row was never stored
q -c "CREATE FUNCTION $S.never(timestamptz, timestamptz) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT false';
      CREATE OPERATOR $S.>= (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = $S.never);
      INSERT INTO $S.memories VALUES (md5('sp')::uuid, 'row after a search_path trick', timestamptz '2026-11-19 00:00:00+00', NULL, NULL)"
PGOPTIONS="-c search_path=$S,pg_catalog" run "${E[@]}" --now 2026-11-20T01:00:00Z ingest --json
check "a search_path with its own >= does not hide new rows" "0 1" "$? $(num inserted)"
q -c "DROP OPERATOR $S.>= (timestamptz, timestamptz); DROP FUNCTION $S.never(timestamptz, timestamptz)"

# --full reports rows that disappeared at the source
q -c "DELETE FROM $S.memories WHERE id IN (md5('2')::uuid, md5('3')::uuid)"
run "${E[@]}" --now 2026-11-20T02:00:00Z ingest --full
check "full rescan succeeds" 0 $?
contains "full rescan reports deleted rows" "2 memories are gone from the source" "$T/last"
check "deleted rows are marked, not dropped" 2 \
  "$(sqlite3 "$T/s.db" 'SELECT count(*) FROM memory WHERE deleted_at_source IS NOT NULL')"

# schema errors name the column and the types, exit 65
q -c "CREATE TABLE $S.nocontent (id uuid, body text, created_at timestamptz, updated_at timestamptz, metadata jsonb)"
q -c "CREATE TABLE $S.badtype (id uuid, content integer, created_at timestamptz, updated_at timestamptz, metadata jsonb)"
printf 'source.schema = %s\nsource.table = badtype\n' "$S" >"$T/bt.conf"
run --config "$T/bt.conf" --source postgresql:// --store "$T/x.db" ingest
check "wrong type exits 65" 65 $?
contains "wrong type names the actual type" "integer" "$T/last"
contains "wrong type names the expected types" "text" "$T/last"
printf 'source.schema = %s\nsource.table = nocontent\n' "$S" >"$T/nc.conf"
run --config "$T/nc.conf" --source postgresql:// --store "$T/x.db" ingest
check "a missing column exits 65" 65 $?
contains "the missing column is named" '"content"' "$T/last"
contains "the table is named" 'nocontent' "$T/last"
printf 'source.schema = %s\nsource.table = nosuchtable\n' "$S" >"$T/nt.conf"
run --config "$T/nt.conf" --source postgresql:// --store "$T/x.db" ingest
check "a missing table exits 65" 65 $?
contains "the missing table is named" 'nosuchtable' "$T/last"

# custom column mapping
q -c "CREATE TABLE $S.notes (note_id bigint PRIMARY KEY, body varchar(2000), made timestamp, changed timestamp, extra text);
      INSERT INTO $S.notes VALUES (1, 'a note with a bigint id', '2026-11-19 10:00', NULL, '{\"concepts\":[\"x\"]}'),
                                  (2, 'another one', '2026-11-19 11:00', '2026-11-19 12:00', 'not json')"
printf 'source.schema = %s\nsource.table = notes\nsource.id_column = note_id\nsource.content_column = body\nsource.created_at_column = made\nsource.updated_at_column = changed\nsource.metadata_column = extra\n' "$S" >"$T/map.conf"
run --config "$T/map.conf" --source postgresql:// --store "$T/map.db" --now 2026-11-20T00:00:00Z run --json
check "custom column mapping works" 0 $?
check "custom mapping reads both rows" "1|2" "$(sqlite3 "$T/map.db" "SELECT group_concat(id, '|') FROM (SELECT id FROM memory ORDER BY id)")"
check "text metadata that is not JSON is a quality issue, not an error" 1 \
  "$(sqlite3 "$T/map.db" 'SELECT count(*) FROM memory WHERE issues & 1')"

# unreachable server: retries, then exit 75, naming host and port
run --config "$T/e.conf" --source "host=127.0.0.1 port=1 dbname=nowhere" --store "$T/u.db" ingest
check "unreachable server exits 75" 75 $?
contains "unreachable error names the host" "127.0.0.1" "$T/last"
contains "each attempt is logged" "attempt" "$T/last"

# wrong password: exit 2, no password echoed
run_pw() { PGPASSWORD="$1" PGPASSFILE=/dev/null "$ENGRAM_BIN" "${@:2}" >"$T/last" 2>&1; local rc=$?; cat "$T/last" >>"$OUT"; return $rc; }
run_pw "wrong-Pa55word-xyz" --config "$T/e.conf" --source postgresql:// --store "$T/w.db" ingest
check "wrong password exits 2" 2 $?
contains "wrong password says authentication failed" "authentication" "$T/last"
lacks "the wrong password is not printed" "wrong-Pa55word-xyz" "$T/last"

# a role without the CONNECT privilege, and one without LOGIN: exit 2 at once, naming the user
# and the database, never retried (regression: both were taken for an unreachable server,
# retried, and ended in exit 75 with "check that the server runs")
R="${S}_r"
admin -c "CREATE ROLE ${R}_noconnect LOGIN PASSWORD 'NoConnect-Pw-1'; CREATE ROLE ${R}_nologin NOLOGIN PASSWORD 'NoLogin-Pw-1';
          GRANT CONNECT ON DATABASE \"$PGDATABASE\" TO ${R}_nologin"
printf 'source.schema = %s\nsource.retries = 3\nsource.retry_delay = 1s\n' "$S" >"$T/deny.conf"
for r in noconnect:NoConnect-Pw-1 nologin:NoLogin-Pw-1; do
  PGUSER="${R}_${r%%:*}" run_pw "${r#*:}" --config "$T/deny.conf" --source postgresql:// --store "$T/d.db" ingest
  check "a role that may not connect (${r%%:*}) exits 2" 2 $?
  lacks "it is not retried (${r%%:*})" "retrying" "$T/last"
  contains "the error names the user (${r%%:*})" "user \"${R}_${r%%:*}\" may not connect to database" "$T/last"
  lacks "its password is not printed (${r%%:*})" "${r#*:}" "$T/last"
done
admin -c "DROP OWNED BY ${R}_nologin; DROP ROLE ${R}_noconnect; DROP ROLE ${R}_nologin"

# no password anywhere in what engram printed
real_pw=$(cat "${ENGRAM_PG_PASSWORD_FILE:-/nonexistent}" 2>/dev/null || true)
if [ -n "$real_pw" ]; then lacks "the real password is never printed" "$real_pw" "$OUT"; fi
lacks "no password keyword in outputs" "password=" "$OUT"

q -c "DROP SCHEMA $S CASCADE"
finish

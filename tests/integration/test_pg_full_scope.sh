#!/usr/bin/env bash
# `ingest --full` marks as deleted only the rows of the source it read. Regression: two
# PostgreSQL tables (r4a, then r4b) ingested into one store; `ingest --full` of r4b reported
# r4a's memories "gone from the source" and marked them deleted, since every PostgreSQL source
# has source_system "postgresql". Memories now keep the key of their source (migration 14: host,
# port, database and table, not the user): a --full read of r4b leaves r4a's rows alone, reading
# r4b as another user orphans nothing, and rows stored without a key get theirs when read again.
. "$(dirname "$0")/lib.sh"
S=$(new_schema)
printf 'source.schema = %s\nsource.retries = 0\n' "$S" >"$T/base.conf"
NOW=2026-11-25T12:00:00Z
for t in r4a r4b; do
  q -c "CREATE TABLE $S.$t (id text PRIMARY KEY, content text, created_at timestamptz,
          updated_at timestamptz, metadata jsonb)"
  { cat "$T/base.conf"; echo "source.table = $t"; } >"$T/$t.conf"
done
q -c "INSERT INTO $S.r4a VALUES ('a1', 'first row of table a', '2026-11-25T08:00:00Z', NULL, '{}'),
                                ('a2', 'second row of table a', '2026-11-25T09:00:00Z', NULL, '{}');
      INSERT INTO $S.r4b VALUES ('b1', 'first row of table b', '2026-11-25T08:00:00Z', NULL, '{}'),
                                ('b2', 'second row of table b', '2026-11-25T09:00:00Z', NULL, '{}');
      GRANT USAGE ON SCHEMA $S TO ${ENGRAM_PG_RO_USER:-engram_ro};
      GRANT SELECT ON $S.r4b TO ${ENGRAM_PG_RO_USER:-engram_ro}"
ing() { # TABLE [ARGS]: ingest into the one store, the text report in $T/out
  "$ENGRAM_BIN" --config "$T/$1.conf" --source postgresql:// --store "$T/s.db" --now $NOW \
    ingest "${@:2}" >"$T/out" 2>"$T/err"
}
deleted() { sqlite3 "$T/s.db" "SELECT group_concat(id, ',') FROM (SELECT id FROM memory
                                 WHERE deleted_at_source IS NOT NULL ORDER BY id)"; }

ing r4a && ing r4b
check "both tables are ingested into one store" "0 4" "$? $(sqlite3 "$T/s.db" 'SELECT count(*) FROM memory')"
check "each row keeps the key of its table, without the user" "2 2 0" \
  "$(sqlite3 "$T/s.db" "SELECT count(*) FILTER (WHERE source_key LIKE '%table=\"$S\".\"r4a\"'),
       count(*) FILTER (WHERE source_key LIKE '%table=\"$S\".\"r4b\"'),
       count(*) FILTER (WHERE source_key LIKE '%user=%') FROM memory" | tr '|' ' ')"

ing r4b --full
check "--full of r4b succeeds" 0 $?
lacks "--full of r4b reports none of r4a's rows gone" "gone from the source" "$T/out"
check "--full of r4b marks none of r4a's rows deleted" "" "$(deleted)"

q -c "DELETE FROM $S.r4b WHERE id = 'b2'"
ing r4b --full
contains "--full of r4b reports its own deleted row" "1 memory is gone from the source (e.g. b2)" "$T/out"
check "--full of r4b marks only its own deleted row" "b2" "$(deleted)"

# another user reading the same table: the same source, nothing orphaned
PGUSER=${ENGRAM_PG_RO_USER:-engram_ro} ing r4b --full
check "--full of r4b as another user succeeds" 0 $?
lacks "--full of r4b as another user reports nothing gone" "gone from the source" "$T/out"
check "--full of r4b as another user marks nothing more" "b2" "$(deleted)"

# rows stored before migration 14 (no key) get their key when read again unchanged
sqlite3 "$T/s.db" "UPDATE memory SET source_key = NULL WHERE id LIKE 'a%'"
ing r4a --full
check "--full of r4a succeeds" 0 $?
check "r4a's rows read again unchanged get their key back" 0 \
  "$(sqlite3 "$T/s.db" "SELECT count(*) FROM memory WHERE source_key IS NULL")"
ing r4b --full
check "then --full of r4b still spares them" "b2" "$(deleted)"

q -c "DROP SCHEMA $S CASCADE"
finish

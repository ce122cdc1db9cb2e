#!/usr/bin/env bash
# What a new user meets when pointing engram at the memories table they already have, through a
# service file, a read-only role or a table of another shape:
#  (1) a service name no service file defines (or a service file that is missing) is a
#      configuration error: exit 2 at once, no retries, a hint naming the service file; not 75
#      ("retry later"), which a scheduler would retry for ever.
#  (2) a table without a primary key (or a view) with a row whose id is NULL: ingest quarantines
#      it, and health's volume check does not count it as a row "more in the store" (the source's
#      count(DISTINCT id) skips NULL), which warned for ever with a remedy (ingest --full) that
#      could not clear it.
#  (3) the schema check's hints can be followed as written: a table without updated_at or
#      metadata gets the CREATE VIEW that adds the missing ones (run here from the hint, then
#      read); a table name in another case, or "schema.table" in source.table, gets the names to
#      set; a read-only role without USAGE or SELECT gets the GRANT statement (run here from the
#      hint, then read). A column of another type (epoch seconds in a bigint, a char(36) id)
#      gets one view that adds a cast copy of each such column, and the settings that read it.
#  (4) a timestamp without time zone is read as UTC whatever the TimeZone the connection asks for
#      (README and the man page say so).
. "$(dirname "$0")/lib.sh"
S=$(new_schema)
NOW=2026-11-25T12:00:00Z
memories_table "$S"
q -c "INSERT INTO $S.memories SELECT gen_random_uuid(), 'note ' || g, '2026-11-25T08:00:00Z'::timestamptz
        + g * interval '1 minute', NULL, '{}' FROM generate_series(1, 20) g"
run_engram() { # OUT_PREFIX ARGS...: engram, stdout/stderr into $T/OUT_PREFIX.{out,err}, exit code in RC
  local o=$1
  shift
  "$ENGRAM_BIN" --now $NOW "$@" >"$T/$o.out" 2>"$T/$o.err"
  RC=$?
}

# (1) service files
printf '[shapes]\nhost=%s\nport=%s\ndbname=%s\nuser=%s\n' "$PGHOST" "$PGPORT" "$PGDATABASE" "$PGUSER" \
  >"$T/pg_service.conf"
printf 'source.schema = %s\n' "$S" >"$T/svc.conf"
PGSERVICEFILE="$T/pg_service.conf" run_engram svc --config "$T/svc.conf" --store "$T/svc.db" \
  --source service=shapes ingest
check "service: a defined service reads the table" 0 "$RC"
PGSERVICEFILE="$T/pg_service.conf" run_engram svc --config "$T/svc.conf" --store "$T/svc.db" \
  --source service=nope ingest
check "service: an undefined service is a configuration error (exit 2)" 2 "$RC"
contains "service: the error names the service" 'definition of service "nope" not found' "$T/svc.err"
contains "service: the hint names the service file" "PGSERVICEFILE" "$T/svc.err"
lacks "service: not retried" "attempt 2" "$T/svc.err"
PGSERVICEFILE="$T/missing.conf" run_engram svc --config "$T/svc.conf" --store "$T/svc.db" \
  --source service=shapes ingest
check "service: a missing service file is a configuration error (exit 2)" 2 "$RC"
contains "service: the error names the missing file" "missing.conf\" not found" "$T/svc.err"
lacks "service: the missing file is not retried" "attempt 2" "$T/svc.err"

# (2) a NULL id at the source
q -c "CREATE TABLE $S.nokey (id text, content text, created_at timestamptz, updated_at timestamptz,
        metadata jsonb);
      INSERT INTO $S.nokey SELECT 'k' || g, 'keyed note ' || g, '2026-11-25T08:00:00Z'::timestamptz
        + g * interval '1 minute', NULL, '{}' FROM generate_series(1, 20) g;
      INSERT INTO $S.nokey VALUES (NULL, 'a row without an id', '2026-11-25T09:00:00Z', NULL, '{}')"
printf 'source.schema = %s\nsource.table = nokey\n' "$S" >"$T/nokey.conf"
run_engram nokey --config "$T/nokey.conf" --source postgresql:// --store "$T/nokey.db" run
check "null id: the run quarantines the row (exit 1)" 1 "$RC"
run_engram nokey --config "$T/nokey.conf" --source postgresql:// --store "$T/nokey.db" ingest --full
run_engram nokey --config "$T/nokey.conf" --source postgresql:// --store "$T/nokey.db" health
grep -E '^[A-Z]+ +volume ' "$T/nokey.out" >"$T/volume"
contains "null id: the volume check finds every row with an id in the store" \
  "the store holds all 20 rows created up to the watermark" "$T/volume"
lacks "null id: no row counted as more in the store" "more in the store" "$T/volume"
check "null id: the volume check is OK" OK "$(awk '{print $1}' "$T/volume")"

# (3) the schema check's hints
hint() { sed -n 's/^HINT: //p' "$1"; }
q -c "CREATE TABLE $S.bare (id uuid PRIMARY KEY, content text, created_at timestamptz);
      INSERT INTO $S.bare SELECT gen_random_uuid(), 'bare note ' || g, '2026-11-25T08:00:00Z'::timestamptz
        + g * interval '1 minute' FROM generate_series(1, 5) g;
      CREATE TABLE $S.nometa (id bigint PRIMARY KEY, content text, created_at timestamptz,
        updated_at timestamptz)"
printf 'source.schema = %s\nsource.table = bare\n' "$S" >"$T/bare.conf"
run_engram bare --config "$T/bare.conf" --source postgresql:// --store "$T/bare.db" run
check "no updated_at: exit 65" 65 "$RC"
contains "no updated_at: the error names the column" 'column "updated_at" (the updated_at column) not found' "$T/bare.err"
view_sql=$(hint "$T/bare.err" | grep -o 'CREATE VIEW .* FROM [^;]*')
check "no updated_at: the hint's view adds both missing columns" \
  "CREATE VIEW \"$S\".\"bare_engram\" AS SELECT *, NULL::timestamptz AS \"updated_at\", NULL::jsonb AS \"metadata\" FROM \"$S\".\"bare\"" \
  "$view_sql"
contains "no updated_at: the hint names the table to set" "then source.table = bare_engram" "$T/bare.err"
q -c "$view_sql" && printf 'source.table = bare_engram\n' >>"$T/bare.conf"
run_engram bare --config "$T/bare.conf" --source postgresql:// --store "$T/bare.db" run --json
check "no updated_at: through the hint's view the run reads the rows" "0 5" \
  "$RC $(grep -o '"read":[0-9]*' "$T/bare.out" | head -1 | cut -d: -f2)"
printf 'source.schema = %s\nsource.table = nometa\n' "$S" >"$T/nometa.conf"
run_engram nometa --config "$T/nometa.conf" --source postgresql:// --store "$T/nometa.db" ingest
check "no metadata: exit 65" 65 "$RC"
contains "no metadata: the view adds metadata only" \
  "AS SELECT *, NULL::jsonb AS \"metadata\" FROM \"$S\".\"nometa\"; then source.table = nometa_engram" "$T/nometa.err"

q -c "CREATE TABLE $S.\"Notes\" (id text PRIMARY KEY, content text, created_at timestamptz,
        updated_at timestamptz, metadata jsonb)"
printf 'source.schema = %s\nsource.table = notes\n' "$S" >"$T/case.conf"
run_engram case --config "$T/case.conf" --source postgresql:// --store "$T/case.db" ingest
check "other case: exit 65" 65 "$RC"
contains "other case: the hint names the table as the catalog has it" \
  "did you mean source.schema = $S and source.table = Notes?" "$T/case.err"
printf 'source.table = %s.bare\n' "$S" >"$T/dot.conf"
run_engram dot --config "$T/dot.conf" --source postgresql:// --store "$T/dot.db" ingest
check "schema.table in source.table: exit 65" 65 "$RC"
contains "schema.table in source.table: the hint splits it" \
  "did you mean source.schema = $S and source.table = bare?" "$T/dot.err"

q -c "CREATE TABLE $S.epoch (id char(36) PRIMARY KEY, content text, created_at bigint,
        updated_at timestamptz, metadata jsonb);
      INSERT INTO $S.epoch VALUES ('e1', 'epoch note', 1795593600, NULL, '{}')"
printf 'source.schema = %s\nsource.table = epoch\n' "$S" >"$T/epoch.conf"
run_engram epoch --config "$T/epoch.conf" --source postgresql:// --store "$T/epoch.db" ingest
check "other types: exit 65" 65 "$RC"
contains "other types: the error names the first column and its type" \
  'column "id" of table "'"$S"'.epoch" in database "engram_test" on host 127.0.0.1 has type character(36)' "$T/epoch.err"
view_sql=$(hint "$T/epoch.err" | grep -o 'CREATE VIEW .* FROM [^;]*')
check "other types: one view casts both columns" \
  "CREATE VIEW \"$S\".\"epoch_engram\" AS SELECT *, \"id\"::text AS \"id_engram\", to_timestamp(\"created_at\") AS \"created_at_engram\" FROM \"$S\".\"epoch\"" \
  "$view_sql"
contains "other types: the hint names the settings" \
  "then source.table = epoch_engram and source.id_column = id_engram and source.created_at_column = created_at_engram" \
  "$T/epoch.err"
q -c "$view_sql"
printf 'source.table = epoch_engram\nsource.id_column = id_engram\nsource.created_at_column = created_at_engram\n' \
  >>"$T/epoch.conf"
run_engram epoch --config "$T/epoch.conf" --source postgresql:// --store "$T/epoch.db" ingest
check "other types: through the hint's view the row is read" 0 "$RC"
run_engram epoch --config "$T/epoch.conf" --source postgresql:// --store "$T/epoch.db" trace e1
contains "other types: with its id trimmed and its time from the epoch" "created 2026-11-25T08:00:00Z" "$T/epoch.out"

RO=${ENGRAM_PG_RO_USER:-engram_ro}
printf 'source = host=%s port=%s dbname=%s user=%s\nsource.schema = %s\nsource.retries = 0\n' \
  "$PGHOST" "$PGPORT" "$PGDATABASE" "$RO" "$S" >"$T/ro.conf"
run_engram ro --config "$T/ro.conf" --store "$T/ro.db" ingest
check "read-only role without USAGE: exit 2" 2 "$RC"
grant=$(hint "$T/ro.err" | grep -o 'GRANT USAGE ON SCHEMA [^;]*')
check "read-only role without USAGE: the hint gives the GRANT" \
  "GRANT USAGE ON SCHEMA \"$S\" TO \"$RO\"" "$grant"
q -c "$grant"
run_engram ro --config "$T/ro.conf" --store "$T/ro.db" ingest
check "read-only role without SELECT: exit 2" 2 "$RC"
grant=$(hint "$T/ro.err" | grep -o 'GRANT SELECT ON [^;]*')
check "read-only role without SELECT: the hint gives the GRANT" \
  "GRANT SELECT ON \"$S\".\"memories\" TO \"$RO\"" "$grant"
q -c "$grant"
run_engram ro --config "$T/ro.conf" --store "$T/ro.db" ingest
check "read-only role: after the hints' GRANTs it reads" 0 "$RC"

# (4) timestamp without time zone
q -c "CREATE TABLE $S.local (id bigint PRIMARY KEY, content text, created_at timestamp,
        updated_at timestamp, metadata json);
      INSERT INTO $S.local VALUES (7, 'local time note', '2026-11-25 08:30:00', NULL, '{}')"
printf 'source.schema = %s\nsource.table = local\n' "$S" >"$T/local.conf"
PGOPTIONS="-c TimeZone=America/New_York" run_engram local --config "$T/local.conf" \
  --source postgresql:// --store "$T/local.db" ingest
check "timestamp: read" 0 "$RC"
run_engram local --config "$T/local.conf" --source postgresql:// --store "$T/local.db" trace 7
contains "timestamp: without a time zone it is UTC, not the session's TimeZone" "created 2026-11-25T08:30:00Z" "$T/local.out"

finish

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

finish

#!/usr/bin/env bash
# What a new user meets when pointing engram at the memories table they already have, through a
# service file, a read-only role or a table of another shape:
#  (1) a service name no service file defines (or a service file that is missing) is a
#      configuration error: exit 2 at once, no retries, a hint naming the service file; not 75
#      ("retry later"), which a scheduler would retry for ever.
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

finish

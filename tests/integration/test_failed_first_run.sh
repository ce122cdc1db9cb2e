#!/usr/bin/env bash
# A failed `run` or `ingest` against an external source leaves no store behind when it created
# the store (regression: a missing table, a missing database or an unreachable server gave exit
# 65, 2 or 75 and an empty x.db): the store file and its -wal/-shm/-journal are removed; a store that
# existed before is never removed.
. "$(dirname "$0")/lib.sh"
S=$(new_schema)
memories_table "$S" memories
q -c "INSERT INTO $S.memories VALUES (md5('a')::uuid, 'a memory about the pond', '2026-11-19T09:00:00Z', NULL, '{}')"
printf 'source.schema = %s\nsource.retries = 0\nsource.connect_timeout = 1s\n' "$S" >"$T/c.conf"
NOW=--now=2026-11-20T00:00:00Z
leftover() { ls "$T" | grep -c '^x\.db' ; }

for cmd in run ingest; do
  engram --config "$T/c.conf" --source "postgresql:///nodb_$$" --store "$T/x.db" $NOW $cmd -q 2>"$T/err"
  check "$cmd, missing database: exit 2 (a configuration error)" 2 $?
  check "$cmd, missing database: no store left" 0 "$(leftover)"
  engram --config "$T/c.conf" --source "postgresql://127.0.0.1:1/x" --store "$T/x.db" $NOW $cmd -q 2>"$T/err"
  check "$cmd, unreachable server: exit 75" 75 $?
  check "$cmd, unreachable server: no store left" 0 "$(leftover)"
done
printf 'source.schema = %s\nsource.table = missing\nsource.retries = 0\n' "$S" >"$T/m.conf"
engram --config "$T/m.conf" --source postgresql:// --store "$T/x.db" $NOW run -q 2>"$T/err"
check "missing table: exit 65" 65 $?
check "missing table: no store left" 0 "$(leftover)"

# a store that existed is kept, empty or not
engram --store "$T/x.db" init >/dev/null
engram --config "$T/m.conf" --source postgresql:// --store "$T/x.db" $NOW run -q 2>"$T/err"
check "existing empty store, missing table: exit 65" 65 $?
[ -f "$T/x.db" ] && ok "an existing empty store is kept" || fail "an existing store was removed"
engram --config "$T/c.conf" --source postgresql:// --store "$T/x.db" $NOW run -q || fail "a good run"
engram --config "$T/m.conf" --source postgresql:// --store "$T/x.db" $NOW run -q 2>"$T/err"
check "existing store, missing table: exit 65" 65 $?
check "existing store: kept with its row" 1 "$(sqlite3 "$T/x.db" 'SELECT count(*) FROM memory')"
q -c "DROP SCHEMA $S CASCADE"
finish

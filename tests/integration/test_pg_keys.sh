#!/usr/bin/env bash
# How rows are keyed between runs. (1) A row with created_at and updated_at both NULL inserted
# after the first ingest is read by the next incremental ingest (stored, counted as skipped for
# null_created_at), not only by --full. (2) Duplicate ids (a table without a primary key): the
# version with the latest coalesce(updated_at, created_at) is stored, whatever the read order,
# and neither an incremental read nor a --full rescan flips the stored content to the older one;
# the older version is counted (older_versions) and a warning says the source has duplicate ids.
# (3) A row whose key moved back at the source is not a duplicate: its version is stored.
. "$(dirname "$0")/lib.sh"
S=$(new_schema)
printf 'source.schema = %s\nsource.retries = 0\n' "$S" >"$T/base.conf"
NOW=2026-11-25T12:00:00Z
ing() { # CONF STORE [ARGS]: ingest, the JSON report in $T/last
  "$ENGRAM_BIN" --config "$1" --source postgresql:// --store "$2" --now $NOW ingest --json "${@:3}" >"$T/last" 2>"$T/err"
}
num() { grep -o "\"$1\":[0-9]*" "$T/last" | head -1 | cut -d: -f2; } # the first count named $1

# (1) rows without a key
q -c "CREATE TABLE $S.nokey (id text PRIMARY KEY, content text, created_at timestamptz,
        updated_at timestamptz, metadata jsonb);
      INSERT INTO $S.nokey VALUES ('a', 'first row', '2026-11-25T08:00:00Z', NULL, '{}')"
{ cat "$T/base.conf"; echo "source.table = nokey"; } >"$T/nokey.conf"
ing "$T/nokey.conf" "$T/nokey.db"
check "nokey: first ingest" "0 1" "$? $(num read)"
q -c "INSERT INTO $S.nokey VALUES ('nokey', 'row without any timestamp', NULL, NULL, '{}')"
ing "$T/nokey.conf" "$T/nokey.db"
check "nokey: the incremental ingest reads the row without a key" "0 1" "$? $(num inserted)"
check "nokey: it is counted as skipped for null created_at" 1 "$(num null_created_at)"
check "nokey: it is stored" "skipped|null_created_at" \
  "$(sqlite3 "$T/nokey.db" "SELECT status || '|' || skip_reason FROM memory WHERE id = 'nokey'")"
ing "$T/nokey.conf" "$T/nokey.db"
check "nokey: read again (with 'a', in the lookback), it is unchanged" "0 0 0 2" \
  "$? $(num inserted) $(num updated) $(num unchanged)"

# (2) duplicate ids: the newer version is stored whichever comes first in the heap (COPY and the
# cursor have no order between them), and stays stored through incremental and --full reads
for order in newer-first older-first; do
  q -c "DROP TABLE IF EXISTS $S.dup; CREATE TABLE $S.dup (id text, content text, created_at timestamptz,
          updated_at timestamptz, metadata jsonb)"
  newer="('d1', 'newer version', '2026-11-25T01:00:00Z', '2026-11-25T05:00:00Z', '{}')"
  older="('d1', 'older version', '2026-11-25T01:00:00Z', '2026-11-25T02:00:00Z', '{}')"
  if [ $order = newer-first ]; then q -c "INSERT INTO $S.dup VALUES $newer, $older"
  else q -c "INSERT INTO $S.dup VALUES $older, $newer"; fi
  { cat "$T/base.conf"; echo "source.table = dup"; } >"$T/dup.conf"
  rm -f "$T/dup.db"*
  for m in first incremental --full incremental --full; do
    if [ $m = --full ]; then ing "$T/dup.conf" "$T/dup.db" --full; else ing "$T/dup.conf" "$T/dup.db"; fi
    check "duplicates ($order), $m ingest: the newer version is stored" "0 newer version" \
      "$? $(sqlite3 "$T/dup.db" "SELECT content FROM memory WHERE id = 'd1'")"
  done
  check "duplicates ($order): the older version is reported" 1 "$(num older_versions)"
  contains "duplicates ($order): a warning names the duplicates" "duplicate ids" "$T/err"
done

# (3) a row whose updated_at moves back (a correction, a restore): the source holds one version,
# and that is what is stored: by the incremental read when the new key is within the lookback,
# by --full when it is before it. Regression: it was taken for an older duplicate, never stored
# (not even by --full), and reported as a duplicate id.
q -c "CREATE TABLE $S.back (id text PRIMARY KEY, content text, created_at timestamptz,
        updated_at timestamptz, metadata jsonb);
      INSERT INTO $S.back VALUES ('near', 'first text', '2026-11-25T01:00:00Z', '2026-11-25T11:00:00Z', '{}'),
                                 ('far', 'first text', '2026-11-25T01:00:00Z', '2026-11-25T11:00:00Z', '{}'),
                                 ('dup', 'newer version', '2026-11-25T01:00:00Z', '2026-11-25T11:00:00Z', '{}')"
{ cat "$T/base.conf"; echo "source.table = back"; } >"$T/back.conf"
ing "$T/back.conf" "$T/back.db"
q -c "UPDATE $S.back SET content = 'moved back a little', updated_at = '2026-11-25T10:58:00Z' WHERE id = 'near';
      UPDATE $S.back SET content = 'moved back a lot', updated_at = '2026-11-25T02:00:00Z' WHERE id = 'far';
      ALTER TABLE $S.back DROP CONSTRAINT back_pkey;
      INSERT INTO $S.back VALUES ('dup', 'older version', '2026-11-25T01:00:00Z', '2026-11-25T10:59:00Z', '{}')"
back() { sqlite3 "$T/back.db" "SELECT group_concat(id || '=' || content, ', ') FROM (SELECT * FROM memory ORDER BY id)"; }
ing "$T/back.conf" "$T/back.db"
check "moved back: the incremental read stores the version within the lookback" \
  "0 dup=newer version, far=first text, near=moved back a little" "$? $(back)"
check "moved back: only the real duplicate is an older version" "1 1" "$(num updated) $(num older_versions)"
ing "$T/back.conf" "$T/back.db" --full
check "moved back: --full stores the version before the lookback" \
  "0 dup=newer version, far=moved back a lot, near=moved back a little" "$? $(back)"
check "moved back: --full counts one update and one older version" "1 1" "$(num updated) $(num older_versions)"
ing "$T/back.conf" "$T/back.db" --full
check "moved back: a second --full changes nothing" "0 0 1" "$? $(num updated) $(num older_versions)"

q -c "DROP SCHEMA $S CASCADE"
finish

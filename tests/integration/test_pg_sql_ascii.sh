#!/usr/bin/env bash
# A SQL_ASCII database stores whatever bytes it is given, so its text may be invalid UTF-8 (the
# only PostgreSQL encoding where it can). Read with client_encoding UTF8, the server checked every
# value it sent and failed the whole COPY (and the incremental FETCH) at the first bad byte:
# "invalid byte sequence for encoding "UTF8": 0xff", on every ingest until the row was fixed at
# the source. Now the good rows are ingested and each bad row is quarantined with the field named
# and the reason the other sources give ("invalid UTF-8"), counted in the report; its id is kept
# whole even when that is the bad field. Checked for the full read (COPY binary), an incremental
# read (the cursor), with metadata in a text and in a jsonb column, and that valid non-ASCII
# UTF-8 text passes through unchanged.
. "$(dirname "$0")/lib.sh"
DB="engram_ascii_$$"
trap 'admin -d engram_test -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1; rm -rf "$T"' EXIT
admin -c "CREATE DATABASE $DB WITH OWNER $PGUSER ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C'
            TEMPLATE template0"
check "the database is SQL_ASCII" SQL_ASCII "$(q -d "$DB" -c "SHOW server_encoding")"
NOW=2026-11-25T12:00:00Z
# E'\xff' in a SQL_ASCII database stores the byte itself (psql sends the statement as ASCII)
q -d "$DB" -c "CREATE TABLE memories (id text PRIMARY KEY, content text, created_at timestamptz,
        updated_at timestamptz, metadata text);
      INSERT INTO memories SELECT 'good-' || g, 'good note ' || g, '2026-11-25T08:00:00Z'::timestamptz
        + g * interval '1 minute', NULL, '{}' FROM generate_series(1, 10) g;
      INSERT INTO memories VALUES
        ('utf8', E'caf\\xc3\\xa9 cr\\xc3\\xa8me', '2026-11-25T08:30:00Z', NULL, E'{\"k\": \"\\xc3\\xa9\"}'),
        ('bad-content', E'caf\\xff note', '2026-11-25T08:31:00Z', NULL, '{}'),
        ('bad-meta', 'metadata is bad', '2026-11-25T08:32:00Z', NULL, E'{\"k\": \"\\xff\"}'),
        (E'bad-id-\\xfe', 'the id is bad', '2026-11-25T08:33:00Z', NULL, '{}'),
        (E'bad-id-\\xc0\\xaf', 'the id is bad too', '2026-11-25T08:34:00Z', NULL, '{}')"
printf 'source.retries = 0\n' >"$T/c.conf"
run_engram() { # OUT_PREFIX ARGS...: stdout/stderr into $T/OUT_PREFIX.{out,err}, exit code in RC
  local o=$1
  shift
  "$ENGRAM_BIN" --now $NOW --config "$T/c.conf" --source "dbname=$DB" "$@" >"$T/$o.out" 2>"$T/$o.err"
  RC=$?
}
json_field() { jq -r ".$1" "$2"; }
# the quarantine as "ref as hex|field|reason", ordered
quarantine() { sqlite3 "$1" "SELECT hex(ref) || '|' || field || '|' || reason FROM quarantine ORDER BY 1"; }
expected_quarantine=$(printf '%s\n' \
  "$(printf 'bad-content' | od -An -tx1 | tr -d ' \n' | tr a-f A-F)|content|invalid UTF-8" \
  "$(printf 'bad-id-\300\257' | od -An -tx1 | tr -d ' \n' | tr a-f A-F)|id|invalid UTF-8" \
  "$(printf 'bad-id-\376' | od -An -tx1 | tr -d ' \n' | tr a-f A-F)|id|invalid UTF-8" \
  "$(printf 'bad-meta' | od -An -tx1 | tr -d ' \n' | tr a-f A-F)|metadata|invalid UTF-8" | sort)

# (1) the full read: COPY binary
run_engram full --store "$T/s.db" ingest --json
check "full: exit 1 (rows quarantined), not a failed read" 1 "$RC"
lacks "full: no server encoding error" "invalid byte sequence" "$T/full.err"
check "full: the 11 good rows are read" 11 "$(json_field read "$T/full.out")"
check "full: 4 rows quarantined in the report" 4 "$(json_field quarantined "$T/full.out")"
check "full: the good rows are stored" 11 "$(sqlite3 "$T/s.db" "SELECT count(*) FROM memory")"
check "full: each bad row quarantined, its field named, its id whole" "$expected_quarantine" \
  "$(quarantine "$T/s.db")"
contains "full: the warning names the row and the field" \
  "source row bad-content: content: invalid UTF-8 (quarantined)" "$T/full.err"
contains "full: a bad id is shown as a JSON string" 'source row "bad-id-' "$T/full.err"
check "full: valid UTF-8 passes unchanged" "$(printf 'caf\303\251 cr\303\250me')" \
  "$(sqlite3 "$T/s.db" "SELECT content FROM memory WHERE id = 'utf8'")"

# (2) an incremental read: the cursor
q -d "$DB" -c "INSERT INTO memories VALUES
        ('good-late', 'a later good note', '2026-11-25T09:00:00Z', NULL, '{}'),
        ('bad-late', E'later \\x80 note', '2026-11-25T09:01:00Z', NULL, '{}')"
run_engram incr --store "$T/s.db" ingest --json
check "incremental: exit 1 (rows quarantined), not a failed read" 1 "$RC"
lacks "incremental: no server encoding error" "invalid byte sequence" "$T/incr.err"
check "incremental: it was an incremental read" false "$(json_field full "$T/incr.out")"
check "incremental: the new good row is stored" 1 \
  "$(sqlite3 "$T/s.db" "SELECT count(*) FROM memory WHERE id = 'good-late'")"
contains "incremental: the new bad row is quarantined" \
  "source row bad-late: content: invalid UTF-8 (quarantined)" "$T/incr.err"
check "incremental: the new bad row is in the quarantine" "content|invalid UTF-8" \
  "$(sqlite3 "$T/s.db" "SELECT field || '|' || reason FROM quarantine WHERE ref = 'bad-late'")"

# (3) metadata in a jsonb column (a SQL_ASCII server's jsonb keeps the bytes too), and `run`
q -d "$DB" -c "CREATE TABLE memories_j (id text PRIMARY KEY, content text, created_at timestamptz,
        updated_at timestamptz, metadata jsonb);
      INSERT INTO memories_j VALUES ('j-good', 'good', '2026-11-25T08:00:00Z', NULL, '{\"a\": 1}'),
        ('j-bad', 'bad metadata', '2026-11-25T08:01:00Z', NULL, E'{\"k\": \"\\xff\"}')"
printf 'source.retries = 0\nsource.table = memories_j\n' >"$T/c.conf"
run_engram jsonb --store "$T/j.db" run
check "jsonb: run exits 1 (rows quarantined), not a failed read" 1 "$RC"
lacks "jsonb: no server encoding error" "invalid byte sequence" "$T/jsonb.err"
check "jsonb: the bad row is quarantined by its metadata" "j-bad|metadata|invalid UTF-8" \
  "$(sqlite3 "$T/j.db" "SELECT ref || '|' || field || '|' || reason FROM quarantine")"
check "jsonb: the good row is stored" j-good "$(sqlite3 "$T/j.db" "SELECT id FROM memory")"

# (4) the monitors count what ingest quarantines: validate's content_invalid_utf8 and health's
# quality check read the same SQL_ASCII table (they said "does not apply" and "PostgreSQL text is
# always valid UTF-8"). The table holds 17 rows, 5 of them bad: 2 by id, 2 by content (bad-content,
# bad-late), 1 by metadata; a SQL regular expression tests the bytes (no function can be created
# in the read-only session), by eg_utf8_valid's rule.
printf 'source.retries = 0\n' >"$T/c.conf"
run_engram val --store "$T/s.db" validate --json --examples 10
utf8_rule() { jq -c ".rules[] | select(.target == \"source\" and .rule == \"content_invalid_utf8\") | $1" "$2"; }
lacks "validate: no server encoding error" "invalid byte sequence" "$T/val.err"
check "validate: content_invalid_utf8 counts the 5 rows ingest quarantines, of 17" "5 17 CRITICAL" \
  "$(utf8_rule '"\(.count) \(.total) \(.status)"' "$T/val.out" | tr -d '"')"
check "validate: its examples are the bad rows' ids (scrubbed), in order" \
  '["bad-content","bad-id-\ufffd\ufffd","bad-id-\ufffd","bad-late","bad-meta"]' \
  "$(utf8_rule '.examples' "$T/val.out" | jq -c --ascii-output .)"
check "validate: its detail names the fields" \
  "a SQL_ASCII database, which stores any bytes: rows whose id, content or metadata is not valid UTF-8, by the field ingest quarantines them for: 2 id, 2 content, 1 metadata" \
  "$(utf8_rule '.detail' "$T/val.out" | jq -r .)"
check "validate: the other rules still count every row" 17 \
  "$(jq '.rules[] | select(.target == "source" and .rule == "content_null") | .total' "$T/val.out")"
run_engram health --store "$T/s.db" health --json
lacks "health: no server encoding error" "invalid byte sequence" "$T/health.err"
check "health: quality counts the rows that are not UTF-8, by field" \
  "12 of 17 rows have content (0 NULL, empty or whitespace only, 5 not valid UTF-8 in this SQL_ASCII database: 2 by id, 2 by content, 1 by metadata; ingest quarantines those)" \
  "$(jq -r '.checks[] | select(.name == "quality") | .message' "$T/health.out")"
check "health: eligible rows leave them out" 1 \
  "$(jq -r '.checks[] | select(.name == "readiness") | .message' "$T/health.out" | grep -c '^12 eligible rows')"
# jsonb metadata: its text is tested as ingest reads it
printf 'source.retries = 0\nsource.table = memories_j\n' >"$T/c.conf"
run_engram valj --store "$T/j.db" validate --json
check "validate (jsonb): the row with bad metadata is counted" "1 2 [\"j-bad\"]" \
  "$(utf8_rule '"\(.count) \(.total) \(.examples)"' "$T/valj.out" | jq -r .)"
finish

#!/usr/bin/env bash
# engram validate (SPEC §11) against a real PostgreSQL and on the embedded store: for each rule a
# clean table that passes and a table that fails it (duplicate ids in a table without a primary
# key, updated_at before created_at, future timestamps, NULL/empty/whitespace content, text
# metadata '{broken', a jsonb metadata array, duplicate content, a volume spike, stale data), the
# example ids printed, the exit codes (0/1/2/3), the --json shape and the validation table.
. "$(dirname "$0")/lib.sh"
S=$(new_schema)
NOW=2026-11-20T12:00:00Z
run() { "$ENGRAM_BIN" "$@" >"$T/last" 2>&1; }
line() { grep -E "^[A-Z]+ +$1 +$2 " "$T/last"; } # line TARGET RULE
status_of() { line "$1" "$2" | awk '{print $1}'; }
conf() { # conf NAME TABLE [extra lines...]
  local f="$T/$1.conf"
  printf 'source.schema = %s\nsource.table = %s\nsource.retries = 0\n' "$S" "$2" >"$f"
  shift 2
  for l in "$@"; do printf '%s\n' "$l" >>"$f"; done
  echo "$f"
}

# --- a clean table: every rule passes ---
memories_table "$S" clean
q -c "INSERT INTO $S.clean
      SELECT md5(g::text)::uuid, 'clean memory number ' || g,
             timestamptz '$NOW' - g * interval '1 day' + interval '1 hour',
             timestamptz '$NOW' - g * interval '1 day' + interval '2 hours',
             jsonb_build_object('concepts', jsonb_build_array('garden', g))
        FROM generate_series(1, 30) g"
C=$(conf clean clean)
engram --store "$T/s.db" init -q  # validate records into a store, and never creates one
run --config "$C" --source postgresql:// --store "$T/s.db" --now $NOW validate
check "a clean table validates with exit 0" 0 $?
for r in uniqueness temporal_order temporal_future temporal_nonfinite content_null content_empty \
  content_whitespace content_invalid_utf8 content_too_long metadata duplicates volume freshness; do
  check "clean: $r is OK" OK "$(status_of source $r)"
done

# --- a table with every problem (no primary key, text metadata) ---
q -c "CREATE TABLE $S.bad (id text, content text, created_at timestamptz, updated_at timestamptz, metadata text);
      INSERT INTO $S.bad VALUES
        ('dup', 'first of a duplicated id', '2026-11-19 10:00+00', NULL, NULL),
        ('dup', 'second of a duplicated id', '2026-11-19 10:00+00', NULL, NULL),
        (NULL, 'a row without an id', '2026-11-19 10:00+00', NULL, NULL),
        ('back', 'updated before it was created', '2026-11-19 10:00+00', '2026-11-18 10:00+00', NULL),
        ('future', 'from the future', '2026-11-22 10:00+00', NULL, NULL),
        ('cnull', NULL, '2026-11-19 10:00+00', NULL, NULL),
        ('cempty', '', '2026-11-19 10:00+00', NULL, NULL),
        ('cws', E'  \t\n ', '2026-11-19 10:00+00', NULL, NULL),
        ('clong', repeat('x', 50), '2026-11-19 10:00+00', NULL, NULL),
        ('mbroken', 'broken metadata', '2026-11-19 10:00+00', NULL, '{broken'),
        ('mconc', 'concepts not an array', '2026-11-19 10:00+00', NULL, '{\"concepts\": \"x\"}'),
        ('mgood', 'fine metadata', '2026-11-19 10:00+00', NULL, '{\"concepts\": [\"a\", 2]}'),
        ('dupc1', 'the same words twice', '2026-11-19 10:00+00', NULL, NULL),
        ('dupc2', 'the same words twice', '2026-11-19 10:00+00', NULL, NULL)"
B=$(conf bad bad "validate.max_length = 40")
run --config "$B" --source postgresql:// --store "$T/s.db" --now $NOW validate --examples 3
check "a bad table exits 2 (critical)" 2 $?
for r in uniqueness temporal_order temporal_future content_null content_empty content_whitespace \
  content_too_long metadata duplicates; do
  check "bad: $r is CRITICAL" CRITICAL "$(status_of source $r)"
done
# every finite row is from one day: the days before the first row's are not history
check "bad: volume with no history is OK" OK "$(status_of source volume)"
line source volume | grep -q ' 0/0 .*first row is from 2026-11-19' && ok "bad: volume says it has nothing to compare" || fail "volume: $(line source volume)"
check "bad: invalid UTF-8 cannot happen in PostgreSQL" OK "$(status_of source content_invalid_utf8)"
# a UTF8 database (only SQL_ASCII can hold bytes that are not UTF-8): the rule runs no query
line source content_invalid_utf8 | grep -q 'not applicable' && ok "bad: content_invalid_utf8 is not applicable in UTF8" || fail "utf8: $(line source content_invalid_utf8)"
check "bad: no timestamp is ±infinity" OK "$(status_of source temporal_nonfinite)"
# the newest row at or before now is 26 h old, and the row from the future is named, not measured
check "bad: freshness warns (26 h old, a row in the future)" WARNING "$(status_of source freshness)"
line source freshness | grep -q 'age 26.0 h .*1 row dated after now' && ok "bad: freshness says why" || fail "bad freshness: $(line source freshness)"
contains "uniqueness names the duplicated id" "e.g. dup" "$T/last"
line source uniqueness | grep -q ' 3/14 ' && ok "uniqueness counts NULL and duplicated ids (3/14)" || fail "uniqueness count: $(line source uniqueness)"
line source temporal_order | grep -q 'e.g. back' && ok "temporal_order example" || fail "temporal_order example: $(line source temporal_order)"
line source temporal_future | grep -q 'e.g. future' && ok "temporal_future example" || fail "temporal_future example"
line source content_null | grep -q 'e.g. cnull' && ok "content_null example" || fail "content_null example"
line source content_empty | grep -q 'e.g. cempty' && ok "content_empty example" || fail "content_empty example"
line source content_whitespace | grep -q 'e.g. cws' && ok "content_whitespace example" || fail "content_whitespace example"
line source content_too_long | grep -q 'e.g. clong' && ok "content_too_long example" || fail "content_too_long example"
line source metadata | grep -q ' 2/14 .*e.g. mbroken, mconc' && ok "text metadata: broken JSON and bad concepts" || fail "metadata: $(line source metadata)"
line source duplicates | grep -q ' 2/14 .*e.g. dupc1, dupc2' && ok "duplicate content example" || fail "duplicates: $(line source duplicates)"
check "the results are appended to the validation table" 26 \
  "$(sqlite3 "$T/s.db" "SELECT count(*) FROM validation WHERE target = 'source'")"
check "the stored examples are JSON" '["dup"]' \
  "$(sqlite3 "$T/s.db" "SELECT examples FROM validation WHERE rule = 'uniqueness' ORDER BY vid DESC LIMIT 1")"

# --- a volume spike: one row a day from 2026-10-29 to 2026-11-18, then 13 on 2026-11-19. The
# first row's day is not history (it may be partly covered): 21 days, one outside mean ± 3σ ---
memories_table "$S" spike
q -c "INSERT INTO $S.spike
      SELECT md5('spike' || g)::uuid, 'memory ' || g, timestamptz '2026-11-19 10:00+00' - g * interval '1 day', NULL::timestamptz, NULL::jsonb
        FROM generate_series(1, 21) g
      UNION ALL
      SELECT md5('same day' || g)::uuid, 'memory of the busy day ' || g, timestamptz '2026-11-19 10:00+00' + g * interval '1 minute', NULL::timestamptz, NULL::jsonb
        FROM generate_series(0, 12) g"
run --config "$(conf spike spike)" --source postgresql:// --store "$T/s.db" --now $NOW validate --examples 3
check "spike: volume CRITICAL (1 day of 21)" CRITICAL "$(status_of source volume)"
line source volume | grep -q ' 1/21 .*e.g. 2026-11-19:13 .*over the 21 days before now after 2026-10-29' && ok "volume names the spike day" || fail "volume: $(line source volume)"

# --json shape
run --config "$B" --source postgresql:// --store "$T/s.db" --now $NOW validate --json --examples 1
check "--json exits 2 too" 2 $?
check "--json shape" "2026-11-20T12:00:00Z source CRITICAL 13 uniqueness CRITICAL 3 14 1" \
  "$(jq -r '[.at, .target, .status, (.rules|length), .rules[0].rule, .rules[0].status, .rules[0].count, .rules[0].total, (.rules[0].examples|length)] | join(" ")' "$T/last")"
check "--json rule keys" "count,examples,percent,rule,status,target,threshold,total" \
  "$(jq -r '.rules[1] | del(.detail) | keys | join(",")' "$T/last")"

# --- jsonb metadata holding an array, stale data, a lenient threshold: warnings, exit 1 ---
memories_table "$S" stale
q -c "INSERT INTO $S.stale
      SELECT md5('s' || g)::uuid, 'old memory ' || g, timestamptz '2026-09-01 00:00+00' + g * interval '1 hour', NULL,
             CASE WHEN g = 1 THEN jsonb '[1, 2]' ELSE jsonb '{}' END
        FROM generate_series(1, 10) g"
W=$(conf stale stale "validate.threshold = 50")
run --config "$W" --source postgresql:// --store "$T/s.db" --now $NOW validate
check "warnings only exit 1" 1 $?
check "a jsonb array is a metadata warning" WARNING "$(status_of source metadata)"
line source metadata | grep -q "e.g. $(q -c "SELECT md5('s1')::uuid")" && ok "jsonb metadata example" || fail "jsonb metadata: $(line source metadata)"
check "stale data is a freshness warning" WARNING "$(status_of source freshness)"
contains "freshness says the age" "age " "$T/last"

# --- ±infinity timestamps, a row dated 2099, and a json (not jsonb) metadata column holding
# \u0000: ingest quarantines the infinities and reads such metadata as JSON (jansson with
# JSON_ALLOW_NUL); validate counts the infinities in temporal_nonfinite, evaluates the other rules
# over the finite rows and checks that metadata like any other (volume and freshness were
# UNKNOWN: "cannot convert infinity to bigint"; metadata was UNKNOWN: the ::jsonb cast rejects
# \u0000). One row's metadata is an array, to show the rule still judges these values ---
q -c "CREATE TABLE $S.inf (id text PRIMARY KEY, content text, created_at timestamptz, updated_at timestamptz, metadata json);
      INSERT INTO $S.inf
      SELECT 'r' || lpad(g::text, 2, '0'), 'a finite memory number ' || g,
             timestamptz '$NOW' - interval '15 days' - g * interval '1 minute', NULL,
             CASE WHEN g = 1 THEN json '{\"a\": \"x\\u0000y\"}' WHEN g = 2 THEN json '[\"\\u0000\"]'
                  ELSE json '{\"b\": \"\\\\u0000 is text\"}' END
        FROM generate_series(1, 20) g;
      INSERT INTO $S.inf VALUES
        ('inf', 'created at infinity', 'infinity', NULL, NULL),
        ('ninf', 'updated at -infinity', timestamptz '$NOW' - interval '15 days' - interval '30 minutes', '-infinity', NULL),
        ('fut', 'created in 2099', '2099-11-10 00:00+00', NULL, NULL)"
I=$(conf inf inf)
run --config "$I" --source postgresql:// --store "$T/s.db" --now $NOW validate --examples 3
check "infinity: no rule is UNKNOWN (exit 2, not 3)" "2 0" "$? $(grep -c '^UNKNOWN' "$T/last")"
lacks "infinity: no conversion error" "cannot convert infinity" "$T/last"
line source temporal_nonfinite | grep -q ' 2/23 .*e.g. inf, ninf' && ok "infinity: counted as non-finite timestamps" || fail "temporal_nonfinite: $(line source temporal_nonfinite)"
line source temporal_future | grep -q ' 1/23 .*e.g. fut' && ok "infinity: only the finite 2099 row is in the future" || fail "temporal_future: $(line source temporal_future)"
line source volume | grep -q ' 0/14 .*over the 14 days before now after 2026-11-05' && ok "infinity: volume dates the table from its first finite row" || fail "volume: $(line source volume)"
check "infinity: freshness warns" WARNING "$(status_of source freshness)"
line source freshness | grep -q 'newest created_at 2026-11-05T11:59:00Z, age 360.0 h' && ok "infinity: freshness ages the newest row before now" || fail "freshness: $(line source freshness)"
line source freshness | grep -q '1 row dated after now + validate.future_skew, 1 row with a created_at of ±infinity' && ok "infinity: freshness counts the rows it ignores" || fail "freshness: $(line source freshness)"
line source metadata | grep -q ' 1/23 .*e.g. r02' && ok "json metadata with \\u0000 is judged by its shape, as at ingest (only the array is invalid)" || fail "json metadata: $(line source metadata)"
# the 2099 row alone, against fresh data: freshness is still a warning that names it
run --config "$I" --source postgresql:// --store "$T/s.db" --now 2026-11-05T12:30:00Z validate
check "a row after now: freshness warns on fresh data" WARNING "$(status_of source freshness)"
line source freshness | grep -q 'age 0.5 h.*1 row dated after now' && ok "a row after now: named" || fail "freshness: $(line source freshness)"

# --- an unreachable source: exit 3, no crash ---
run --config "$C" --source "host=127.0.0.1 port=1 dbname=nowhere connect_timeout=1" --store "$T/s.db" --now $NOW validate
check "an unreachable source exits 3 (unknown)" 3 $?
contains "the error names the host" "127.0.0.1" "$T/last"

# --- the embedded store: source = its own memories table, and the staged memory table ---
cat >"$T/e.jsonl" <<'J'
{"id": "e1", "content": "a fine memory about the pond", "created_at": "2026-11-19T10:00:00Z", "metadata": {"concepts": ["pond"]}}
{"id": "e2", "content": "the same words", "created_at": "2026-11-19T11:00:00Z", "updated_at": "2026-11-18T11:00:00Z"}
{"id": "e3", "content": "the same words", "created_at": "2026-11-19T12:00:00Z", "metadata": {"concepts": {"a": 1}}}
{"id": "e4", "content": "   ", "created_at": "2026-11-23T12:00:00Z"}
{"id": "e5", "content": "", "created_at": "2026-11-19T12:00:00Z", "metadata": [1]}
J
engram --store "$T/e.db" init -q
engram --store "$T/e.db" import -q "$T/e.jsonl"
sqlite3 "$T/e.db" "INSERT INTO memories VALUES ('e6', CAST(X'61ff62' AS TEXT), '2026-11-19T12:00:00Z', NULL, NULL)"
run --store "$T/e.db" --now $NOW validate
check "embedded store with problems exits 2" 2 $?
check "embedded: uniqueness OK" OK "$(status_of source uniqueness)"
line source temporal_order | grep -q 'e.g. e2' && ok "embedded: updated before created" || fail "embedded temporal_order: $(line source temporal_order)"
line source temporal_future | grep -q 'e.g. e4' && ok "embedded: future row" || fail "embedded temporal_future: $(line source temporal_future)"
line source content_whitespace | grep -q 'e.g. e4' && ok "embedded: whitespace" || fail "embedded whitespace: $(line source content_whitespace)"
line source content_empty | grep -q 'e.g. e5' && ok "embedded: empty" || fail "embedded empty: $(line source content_empty)"
line source content_invalid_utf8 | grep -q 'e.g. e6' && ok "embedded: invalid UTF-8" || fail "embedded utf8: $(line source content_invalid_utf8)"
line source metadata | grep -q 'e.g. e3, e5' && ok "embedded: metadata" || fail "embedded metadata: $(line source metadata)"
line source duplicates | grep -q 'e.g. e2, e3' && ok "embedded: duplicate content" || fail "embedded duplicates: $(line source duplicates)"
# a created_at that is not a timestamp (ingest quarantines it) is the embedded temporal_nonfinite
cp "$T/e.db" "$T/e7.db"
sqlite3 "$T/e7.db" "INSERT INTO memories VALUES ('e7', 'a note of no time', 'yesterday', NULL, NULL)"
run --store "$T/e7.db" --now $NOW validate
line source temporal_nonfinite | grep -q ' 1/7 .*e.g. e7' && ok "embedded: a created_at that is not a timestamp" || fail "embedded temporal_nonfinite: $(line source temporal_nonfinite)"
line source freshness | grep -q '1 row with a created_at that is not a timestamp' && ok "embedded: freshness names it" || fail "embedded freshness: $(line source freshness)"
engram --store "$T/e.db" --now $NOW ingest -q >/dev/null 2>&1
run --store "$T/e.db" --now $NOW validate --target both --json
check "--target both reports both targets" "source store" \
  "$(jq -r '[.rules[].target] | unique | join(" ")' "$T/last")"
check "the store's staged table is checked too" 13 "$(jq '[.rules[] | select(.target == "store")] | length' "$T/last")"

q -c "DROP SCHEMA $S CASCADE"
finish

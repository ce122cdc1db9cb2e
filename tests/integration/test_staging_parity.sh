#!/usr/bin/env bash
# Staging parity (SPEC §5): the edge-case dataset is loaded into PostgreSQL, the reference SQL runs
# inside PostgreSQL at a fixed now, engram stages the same rows at the same --now, and every
# staging column of every row is compared (floats within 1e-9). Run for two clocks, one a leap day.
. "$(dirname "$0")/lib.sh"
: "${ENGRAM_GEN:?}"
S=$(new_schema)

parity() { # NOW
  local now="$1" tag
  tag=$(echo "$now" | tr -dc '0-9')
  memories_table "$S" "m$tag"
  "$ENGRAM_GEN" edge --now "$now" --format pgtext | q -c "\\copy $S.m$tag FROM STDIN"
  local n
  n=$(q -c "SELECT count(*) FROM $S.m$tag")
  [ "$n" -ge 100 ] && ok "edge dataset for $now has $n rows" || fail "edge dataset too small ($n)"

  printf 'source.schema = %s\nsource.table = m%s\n' "$S" "$tag" >"$T/p$tag.conf"
  engram --config "$T/p$tag.conf" --source postgresql:// --store "$T/p$tag.db" --now "$now" run -q \
    || fail "engram run at $now"
  engram --store "$T/p$tag.db" export --what staging --output "$T/p$tag.csv"

  q <<SQL >"$T/diff$tag.txt"
CREATE TEMP TABLE eng (memory_id text, content text, created_at timestamptz,
  last_accessed_at timestamptz, access_count numeric, activation_strength float8,
  importance_score float8, memory_type text, concepts text, status text, source_system text,
  processed_at timestamptz, raw_metadata text);
\\copy eng FROM '$T/p$tag.csv' WITH (FORMAT csv, HEADER true)
SET TimeZone = 'UTC';
CREATE TEMP TABLE ref AS
SELECT id::text AS memory_id,
       LEAST(1.0, EXP(-EXTRACT(EPOCH FROM ('$now'::timestamptz - created_at)) / (7*24*3600.0)))
         AS activation_strength,
       COALESCE(updated_at, created_at) AS last_accessed_at,
       1 + CASE WHEN updated_at IS NOT NULL AND updated_at > created_at
                THEN EXTRACT(DAY FROM (updated_at - created_at)) + 1 ELSE 1 END AS access_count,
       CASE WHEN EXTRACT(DAY FROM ('$now'::timestamptz - created_at)) < 1 THEN 0.9
            WHEN EXTRACT(DAY FROM ('$now'::timestamptz - created_at)) < 7 THEN 0.7
            WHEN EXTRACT(DAY FROM ('$now'::timestamptz - created_at)) < 30 THEN 0.5
            ELSE 0.3 END AS importance_score,
       CASE WHEN LENGTH(content) < 50 THEN 'fragment'
            WHEN LENGTH(content) < 200 THEN 'episode'
            WHEN LENGTH(content) < 500 THEN 'narrative' ELSE 'document' END AS memory_type,
       '$now'::timestamptz AS processed_at,
       metadata AS raw_metadata
  FROM $S.m$tag
 WHERE content IS NOT NULL AND content != ''
   AND created_at > (('$now'::timestamptz AT TIME ZONE 'UTC')::date - INTERVAL '1 year');
SELECT 'rows', count(*) FROM ref;
SELECT 'staged', count(*) FROM eng WHERE status = 'staged';
SELECT 'types', count(DISTINCT memory_type) FROM ref;
SELECT 'mismatch', coalesce(r.memory_id, e.memory_id),
       r.activation_strength, e.activation_strength, r.last_accessed_at, e.last_accessed_at,
       r.access_count, e.access_count, r.importance_score, e.importance_score,
       r.memory_type, e.memory_type
  FROM ref r FULL JOIN (SELECT * FROM eng WHERE status = 'staged') e USING (memory_id)
 WHERE r.memory_id IS NULL OR e.memory_id IS NULL
    OR abs(r.activation_strength - e.activation_strength) > 1e-9
    OR r.last_accessed_at IS DISTINCT FROM e.last_accessed_at
    OR r.access_count IS DISTINCT FROM e.access_count
    OR abs(r.importance_score - e.importance_score) > 1e-9
    OR r.memory_type IS DISTINCT FROM e.memory_type
    OR r.processed_at IS DISTINCT FROM e.processed_at
    OR r.raw_metadata IS DISTINCT FROM e.raw_metadata::jsonb
 LIMIT 20;
SELECT 'unexplained_skip', e.memory_id FROM eng e
 WHERE e.status <> 'staged' AND e.memory_id IN (SELECT memory_id FROM ref);
SELECT 'source_rows', count(*) FROM $S.m$tag;
SELECT 'exported', count(*) FROM eng;
SQL
  local rows staged types
  rows=$(sed -n 's/^rows|//p' "$T/diff$tag.txt")
  staged=$(sed -n 's/^staged|//p' "$T/diff$tag.txt")
  types=$(sed -n 's/^types|//p' "$T/diff$tag.txt")
  check "reference stages rows at $now" 1 "$([ "${rows:-0}" -gt 50 ] && echo 1 || echo 0)"
  check "engram stages as many rows as the reference at $now" "$rows" "$staged"
  check "all four memory types occur at $now" 4 "$types"
  check "exported every source row at $now" "$(sed -n 's/^source_rows|//p' "$T/diff$tag.txt")" \
    "$(sed -n 's/^exported|//p' "$T/diff$tag.txt")"
  if grep -qE '^(mismatch|unexplained_skip)' "$T/diff$tag.txt"; then
    fail "staging columns differ from the reference at $now:"
    grep -E '^(mismatch|unexplained_skip)' "$T/diff$tag.txt" | head -20 | sed 's/^/    /'
  else
    ok "every staging column of every row matches the reference at $now"
  fi
}

parity 2026-11-20T12:00:00Z
parity 2028-02-29T23:59:59.999999Z
q -c "DROP SCHEMA $S CASCADE"
finish

#!/usr/bin/env bash
# Benchmark (SPEC §14, issue "engram core"): at 10k / 100k / 1M generated memories in PostgreSQL,
# measures in one run
#   - the floor: raw `COPY (SELECT ...) TO STDOUT (FORMAT binary)` of the same rows, to /dev/null
#   - the reference staging SQL run inside PostgreSQL (CREATE TEMP TABLE AS, like a dbt table)
#   - `engram ingest` + staging into a new SQLite store (content copied; the FTS index is built
#     in the same transaction and reported apart), with its peak memory (max RSS)
#   - a second, incremental `engram ingest` with nothing new (the cost of checking in)
#   - SQLite's own write floor: the rows engram wrote, copied by INSERT ... SELECT into a new
#     file with the same indexes (no binding, no staging): what no SQLite writer can beat
# Usage: bench/bench_ingest.sh [SIZES...]   (default: 10000 100000 1000000)
# Prints a Markdown table (the one in BENCHMARKS.md) and the machine it ran on.
# Uses the project's test PostgreSQL (scripts/pg-test-server.sh) and the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 100000 1000000)
bash scripts/deps.sh
bash scripts/build.sh release
started_server=0
if ! bash scripts/pg-test-server.sh status >/dev/null 2>&1; then
  bash scripts/pg-test-server.sh start >/dev/null
  started_server=1
fi
cleanup() { [ "$started_server" = 1 ] && bash scripts/pg-test-server.sh stop >/dev/null 2>&1 || true; rm -rf "$W"; }
W=$(mktemp -d)
trap cleanup EXIT
. tests/out/pg.env
q() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }
E=$ROOT/build/engram
G=$ROOT/build/engram-gen
NOW=2026-11-20T00:00:00Z
best() { sort -n | head -1; } # best of the runs: the machine's noise only ever adds time

q -c "CREATE SCHEMA IF NOT EXISTS bench"
rows=()
for n in "${sizes[@]}"; do
  t="bench.m$n"
  if [ "$(q -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'bench' AND tablename = 'm$n'")" = 0 ]; then
    q -c "CREATE TABLE $t (id uuid PRIMARY KEY, content text, created_at timestamptz, updated_at timestamptz, metadata jsonb)"
    "$G" bench --n "$n" --seed 7 --end "$NOW" --format pgtext | q -c "\\copy $t FROM STDIN"
    q -c "VACUUM ANALYZE $t"
  fi
  bytes=$(q -c "SELECT pg_total_relation_size('$t')")
  # the floor: raw binary COPY of the same rows (warm; best of 3)
  copy_s=$(for _ in 1 2 3; do
    /usr/bin/time -f '%e' psql -X -q -c "COPY (SELECT id, content, created_at, updated_at, metadata FROM $t) TO STDOUT (FORMAT binary)" 2>&1 >/dev/null | tail -1
  done | best)
  # the reference staging SQL inside PostgreSQL (best of 3)
  ref_s=$(for _ in 1 2 3; do
    /usr/bin/time -f '%e' psql -X -q -v ON_ERROR_STOP=1 -c "SET TimeZone='UTC'; CREATE TEMP TABLE stg AS
      SELECT id, content, created_at,
             LEAST(1.0, EXP(-EXTRACT(EPOCH FROM ('$NOW'::timestamptz - created_at)) / (7*24*3600.0))) AS activation_strength,
             COALESCE(updated_at, created_at) AS last_accessed_at,
             1 + CASE WHEN updated_at IS NOT NULL AND updated_at > created_at THEN EXTRACT(DAY FROM (updated_at - created_at)) + 1 ELSE 1 END AS access_count,
             CASE WHEN EXTRACT(DAY FROM ('$NOW'::timestamptz - created_at)) < 1 THEN 0.9
                  WHEN EXTRACT(DAY FROM ('$NOW'::timestamptz - created_at)) < 7 THEN 0.7
                  WHEN EXTRACT(DAY FROM ('$NOW'::timestamptz - created_at)) < 30 THEN 0.5 ELSE 0.3 END AS importance_score,
             CASE WHEN LENGTH(content) < 50 THEN 'fragment' WHEN LENGTH(content) < 200 THEN 'episode'
                  WHEN LENGTH(content) < 500 THEN 'narrative' ELSE 'document' END AS memory_type,
             'postgresql' AS source_system, now() AS processed_at, metadata AS raw_metadata
        FROM $t WHERE content IS NOT NULL AND content != ''
         AND created_at > (('$NOW'::timestamptz AT TIME ZONE 'UTC')::date - INTERVAL '1 year')" 2>&1 >/dev/null | tail -1
  done | best)
  # engram: ingest + staging into a new store
  printf 'source.schema = bench\nsource.table = m%s\n' "$n" >"$W/b.conf"
  rm -f "$W/s.db"*
  /usr/bin/time -f '%e %M' -o "$W/time" "$E" --config "$W/b.conf" --source postgresql:// --store "$W/s.db" --now "$NOW" ingest --json >"$W/rep.json"
  read -r eg_s eg_kb <"$W/time"
  ms_read=$(sed -E 's/.*"ms":\{"read":([0-9.]+).*/\1/' "$W/rep.json")
  ms_fts=$(sed -E 's/.*"fts":([0-9.]+).*/\1/' "$W/rep.json")
  staged=$(sed -E 's/.*"staged":([0-9]+).*/\1/' "$W/rep.json")
  /usr/bin/time -f '%e' -o "$W/time2" "$E" --config "$W/b.conf" --source postgresql:// --store "$W/s.db" --now "$NOW" ingest -q
  inc_s=$(cat "$W/time2")
  # SQLite's own write floor for the same rows and schema: INSERT ... SELECT of the memory rows
  # engram just wrote (no binding, no staging) into a new file with the same secondary indexes,
  # then the unique id index, journal off (best of 3)
  floor_s=$(for _ in 1 2 3; do
    rm -f "$W/floor.db"*
    /usr/bin/time -f '%e' sqlite3 "$W/floor.db" 2>&1 >/dev/null <<SQL | tail -1
PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
ATTACH '$W/s.db' AS src;
CREATE TABLE m AS SELECT * FROM src.memory WHERE 0;
CREATE INDEX m_status ON m(status, created_at); CREATE INDEX m_created ON m(created_at);
BEGIN; INSERT INTO m SELECT * FROM src.memory; CREATE UNIQUE INDEX m_id ON m(id); COMMIT;
SQL
  done | best)
  rm -f "$W/floor.db"*
  no_fts_s=$(awk -v a="$eg_s" -v f="$ms_fts" 'BEGIN { printf "%.2f", a - f / 1000 }')
  ratio=$(awk -v a="$no_fts_s" -v c="$copy_s" 'BEGIN { printf "%.2f", a / c }')
  floor_ratio=$(awk -v a="$floor_s" -v c="$copy_s" 'BEGIN { printf "%.2f", a / c }')
  rows+=("| $n | $(awk -v b="$bytes" 'BEGIN{printf "%.0f", b/1048576}') MiB | $copy_s s | $ref_s s | $floor_s s (${floor_ratio}×) | $eg_s s | $no_fts_s s | ${ratio}× | $(awk -v k="$eg_kb" 'BEGIN{printf "%.0f", k/1024}') MiB | $inc_s s | $staged |")
  echo "n=$n copy=${copy_s}s reference=${ref_s}s engram=${eg_s}s (read ${ms_read} ms, fts ${ms_fts} ms) without-fts=${no_fts_s}s ratio=${ratio} peak=${eg_kb}KiB incremental=${inc_s}s sqlite-floor=${floor_s}s" >&2
done

table=$(
  echo "| memories | table size | COPY binary (floor) | reference SQL in PostgreSQL | SQLite write floor (÷ COPY) | engram ingest + staging (all) | without FTS | ÷ floor | engram peak RSS | incremental re-ingest, nothing new | rows staged |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${rows[@]}"
)
machine="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(. /etc/os-release; echo "$PRETTY_NAME"), PostgreSQL $(q -c 'SHOW server_version'), SQLite $(sqlite3 --version | cut -d' ' -f1)"
echo "$table"
echo "machine: $machine"

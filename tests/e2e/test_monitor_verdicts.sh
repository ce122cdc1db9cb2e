#!/usr/bin/env bash
# The verdicts of health and validate (SPEC §10, §11) on generated embedded stores, checked
# against the store itself with sqlite3: the pipeline's consolidation lag counts from an item's
# last replay (an item in its replay cycle is not late); quality counts as content exactly the
# rows validate's content rules do not flag (whitespace other than spaces, invalid UTF-8);
# validate's volume rule takes no day before the table's first row's as history; health's volume
# check does not call one new row a spike against a history of equal counts, and at --now T reads
# no result recorded after T.
. "$(dirname "$0")/lib.sh"
for tool in sqlite3 jq; do
  command -v "$tool" >/dev/null || { echo "skip: $tool not installed"; exit 77; }
done
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
contains_line() { case "$3" in *"$2"*) ok "$1" ;; *) fail "$1: [$2] not in [$3]" ;; esac; }
# steady STORE START DAYS PER_DAY: a new store whose embedded table holds PER_DAY memories a day
# for DAYS days from START (00:10 on, spread over 23 h), each with a few words of a small
# vocabulary so that episodes and replays form
steady() {
  E --store "$1" init -q || fail "init $1"
  sqlite3 "$1" "WITH RECURSIVE g(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g WHERE n + 1 < $3 * $4)
    INSERT INTO memories (id, content, created_at)
    SELECT printf('m%05d', n), 'note ' || n || ': ' || (SELECT group_concat(w, ' ') FROM
             (SELECT value AS w FROM json_each('[\"garden\",\"pond\",\"maya\",\"call\",\"project\",
               \"deadline\",\"review\",\"schema\",\"index\",\"rollback\",\"cutover\",\"summary\",
               \"replication\",\"lag\",\"plan\"]') WHERE (key + n) % 3 = 0)),
           strftime('%Y-%m-%dT%H:%M:%SZ', '$2', '+' || (n / $4) || ' days',
                    '+' || (10 + (n % $4) * (1380 / $4)) || ' minutes')
      FROM g"
}
pipeline_line() { E --store "$1" --now "$2" health | awk '$2 == "pipeline"'; }

# ---- consolidation lag: 30 days of 20 memories a day, run to midnight. The items still in
# short-term memory are ready and were replayed at the checkpoint (they wait for their last
# replays before they are forgotten): they are not late ----
S="$T/s.db"
steady "$S" 2026-10-01 30 20
NOW=2026-10-31T00:00:00Z
E --store "$S" --now "$NOW" run -q || fail "run on the steady store"
lag_sql="SELECT coalesce(max(cp - max(p.ready_at, coalesce((SELECT max(r.at) FROM presentation r
  WHERE r.memory_rowid = p.memory_rowid AND r.kind = 'replayed' AND r.at <= cp), p.ready_at))), 0)
  / 1000000 FROM pipeline p, (SELECT value AS cp FROM sim_state WHERE key = 'checkpoint')
  WHERE p.status = 'in_stm' AND p.ready_at <= cp"
check "the steady store has ready items replayed at the checkpoint" 0 "$(sqlite3 "$S" "$lag_sql")"
check "which became ready more than 2 h before it" 1 "$(sqlite3 "$S" "SELECT count(*) > 0 FROM pipeline
  WHERE status = 'in_stm' AND ready_at < (SELECT value FROM sim_state WHERE key = 'checkpoint') - 7200000000")"
line=$(pipeline_line "$S" "$NOW")
check "pipeline is OK while the ready items are replayed every interval" OK "$(awk '{print $1}' <<<"$line")"
contains_line "its lag is the time since the last replay" "consolidation lag 0 s," "$line"
# an item that became ready 10 h before the checkpoint and was never replayed is late
sqlite3 "$S" "DELETE FROM presentation WHERE kind = 'replayed' AND memory_rowid =
                (SELECT min(memory_rowid) FROM pipeline WHERE status = 'in_stm');
              UPDATE pipeline SET ready_at = (SELECT value FROM sim_state WHERE key = 'checkpoint')
                - 36000000000 WHERE memory_rowid = (SELECT min(memory_rowid) FROM pipeline WHERE status = 'in_stm')"
line=$(pipeline_line "$S" "$NOW")
check "an item never replayed 10 h after it became ready: pipeline WARNING" WARNING "$(awk '{print $1}' <<<"$line")"
contains_line "its lag is counted from ready_at" "consolidation lag 36000 s (late)" "$line"

# ---- quality: 15 good rows and one each of NULL, '', spaces, tab + newline and invalid UTF-8
# (a table outside the store: import would reject the bytes). Health's share of content is the
# rows validate's content rules leave: 15 of 20, CRITICAL ----
Q="$T/q.db"
sqlite3 "$Q" "CREATE TABLE memories (id TEXT PRIMARY KEY, content TEXT, created_at TEXT,
  updated_at TEXT, metadata TEXT);
  WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 15)
  INSERT INTO memories SELECT 'g' || n, 'a good memory ' || n, '2026-10-30T23:00:00Z', NULL, NULL FROM g;
  INSERT INTO memories VALUES ('null', NULL, '2026-10-30T23:00:00Z', NULL, NULL),
    ('empty', '', '2026-10-30T23:00:00Z', NULL, NULL), ('spaces', '   ', '2026-10-30T23:00:00Z', NULL, NULL),
    ('tabs', char(9, 10), '2026-10-30T23:00:00Z', NULL, NULL),
    ('latin1', CAST(x'4361663e20e9' AS TEXT), '2026-10-30T23:00:00Z', NULL, NULL)"
E --store "$T/qs.db" init -q
E --store "$T/qs.db" --source "sqlite:$Q" --now "$NOW" health >"$T/h.out"
line=$(awk '$2 == "quality"' "$T/h.out")
check "quality with 5 bad rows of 20 is CRITICAL" CRITICAL "$(awk '{print $1}' <<<"$line")"
contains_line "it counts 15 rows with content" "15 of 20 rows have content (4 NULL, empty or whitespace only, 1 not valid UTF-8" "$line"
E --store "$T/qs.db" --source "sqlite:$Q" --now "$NOW" validate --json >"$T/v.json" 2>/dev/null
check "validate's content rules flag the other 5" 5 "$(jq '[.rules[] | select(.rule | startswith("content_")
  and . != "content_too_long") | .count] | add' "$T/v.json")"

# ---- validate's volume: the days before the first row's day are not history (counted as 0,
# they made a new source's first day a CRITICAL spike) ----
Y="$T/young.db"
steady "$Y" 2026-10-30 1 50
E --store "$Y" --now "$NOW" validate --json >"$T/v.json"
check "a source with one day of data: validate exits 0" 0 "$?"
check "its volume rule is OK over 0 days" "OK 0 0" "$(jq -r '.rules[] | select(.rule == "volume") |
  "\(.status) \(.count) \(.total)"' "$T/v.json")"
steady "$T/ten.db" 2026-10-21 10 20
E --store "$T/ten.db" --now "$NOW" validate --json >"$T/v.json"
check "ten days alike: OK over the 9 days after the first" "OK 0 9" "$(jq -r '.rules[] |
  select(.rule == "volume") | "\(.status) \(.count) \(.total)"' "$T/v.json")"
# 30 days of 20 a day with no row on 2026-10-16: that day is a drop, among the 29 days after
# the first row's day; mean and sigma as sqlite3 computes them over those days
D="$T/drop.db"
steady "$D" 2026-10-01 30 20
sqlite3 "$D" "DELETE FROM memories WHERE created_at LIKE '2026-10-16%'"
E --store "$D" --now "$NOW" validate --json >"$T/v.json"
check "a day without rows: validate exits 2" 2 "$?"
check "volume names the day" "CRITICAL 1 29 2026-10-16:0" "$(jq -r '.rules[] | select(.rule == "volume") |
  "\(.status) \(.count) \(.total) \(.examples | join(","))"' "$T/v.json")"
expect=$(sqlite3 "$D" "WITH d(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM d WHERE k < 29),
  c AS (SELECT k, (SELECT count(*) FROM memories WHERE substr(created_at, 1, 10) =
          date('2026-10-01', '+' || k || ' days')) AS n FROM d),
  m AS (SELECT avg(n) AS mean FROM c)
  SELECT printf('per-day mean %.2f, sigma %.2f over the 29 days', mean,
                sqrt((SELECT avg((n - mean) * (n - mean)) FROM c))) FROM m")
contains_line "its mean and sigma are the 29 days'" "$expect before now after 2026-10-01" \
  "$(jq -r '.rules[] | select(.rule == "volume") | .detail' "$T/v.json")"

# ---- health's volume against its history: six results at 600 rows (σ 0), then one new memory
# is no spike (σ is at least √600 = 24.5), while 100 rows deleted are a drop ----
H="$T/h.db"
cp "$S" "$H"
sqlite3 "$H" "DELETE FROM health_history"
for _ in 1 2 3 4 5 6; do E --store "$H" --now "$NOW" health >/dev/null; done
E --store "$H" --now "$NOW" remember -q "one more note about the pond"
E --store "$H" --now "$NOW" health --json >"$T/h.json"
check "one row more than six equal results: volume OK" "OK 601" "$(jq -r '.checks[] |
  select(.name == "volume") | "\(.status) \(.value)"' "$T/h.json")"
contains_line "the band is mean ± 3 √mean" "527..673 (mean 600.0 ± 3σ, σ 24.5 = √mean, last 6)" \
  "$(jq -r '.checks[] | select(.name == "volume") | .threshold' "$T/h.json")"
sqlite3 "$H" "DELETE FROM memories WHERE rowid <= 100"
E --store "$H" --now "$NOW" health >"$T/h.out"
contains_line "volume calls it a drop" "WARNING  volume       501 rows" "$(grep volume "$T/h.out")"
contains_line "a drop outside the band" "501 rows is a drop: outside 527..674" "$(grep volume "$T/h.out")"

# a check at an earlier --now reads no result recorded after it: the 100 deleted rows are no
# drop against results from the future
E --store "$H" --now 2026-10-30T23:00:00Z health >"$T/h.out"
contains_line "at an earlier --now the later results are not history" \
  "501 rows; 0 earlier results in the history" "$(grep volume "$T/h.out")"


# ---- validate's summary ranks as health's (CRITICAL > WARNING > UNKNOWN > OK): a source whose
# content cannot be read for one row (SQLite's abs() of the smallest integer is an error) leaves
# the content rules UNKNOWN, and one row updated before it was created is a WARNING. The
# summary said UNKNOWN (exit 3), hiding the warning ----
V="$T/vsrc.db"
sqlite3 "$V" "CREATE TABLE t (id TEXT PRIMARY KEY, content TEXT, created_at TEXT, updated_at TEXT,
    metadata TEXT);
  WITH RECURSIVE g(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g WHERE n < 499)
    INSERT INTO t SELECT printf('m%03d', n), 'note ' || n, '2026-10-30T10:00:00Z',
      CASE WHEN n = 7 THEN '2026-10-01T10:00:00Z' END, NULL FROM g;
  CREATE VIEW memories AS SELECT id, CASE WHEN id = 'm042' THEN abs(-9223372036854775807 - 1)
    ELSE content END AS content, created_at, updated_at, metadata FROM t;"
E --store "$T/none.db" --source "sqlite:$V" --now "$NOW" validate -q >"$T/v.out" 2>"$T/v.err"
rc=$?
check "a warning and rules that could not count: WARNING, exit 1" "1 WARNING 6" \
  "$rc $(awk '$3 == "temporal_order" {print $1}' "$T/v.out") $(grep -c '^UNKNOWN' "$T/v.out")"
E --store "$T/none.db" --source "sqlite:$V" --now "$NOW" validate --json 2>/dev/null >"$T/v.json"
check "the JSON summary says so too" WARNING "$(jq -r .status "$T/v.json")"
sqlite3 "$V" "UPDATE t SET updated_at = NULL"
E --store "$T/none.db" --source "sqlite:$V" --now "$NOW" validate -q >/dev/null 2>&1
check "with nothing found, the rules that could not count make it UNKNOWN (exit 3)" 3 $?

# a source that cannot be opened: nothing checked, exit 3, and --json still prints a report (it
# printed nothing, where health --json prints its own)
E --store "$T/none.db" --source "sqlite:$T/no/such.db" --now "$NOW" validate --json >"$T/v.json" 2>/dev/null
rc=$?
check "an unreadable source: exit 3, a JSON report with no rule, UNKNOWN, and the error" \
  "3 UNKNOWN 0 1" "$rc $(jq -r '"\(.status) \(.rules | length) \(.error | contains("no/such.db"))"' "$T/v.json" |
    sed 's/true/1/')"

finish

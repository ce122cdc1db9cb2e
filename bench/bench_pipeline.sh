#!/usr/bin/env bash
# Benchmark (SPEC §14, issue "the biological pipeline"): at 100k / 1M generated memories
# (two years of event time), measures in one run
#   (a) a full `engram run` (ingest + staging + the biological pipeline of SPEC §7) on a new store
#       filled by `engram import`: wall time, peak RSS, and engram's own ms breakdown (--json);
#   (b) an incremental run: 1,000 more memories created in the day after the store's now,
#       imported, then `engram run` at the new now (the next UTC day: the staging window moved,
#       so the run recomputes the simulation);
#   (e) the same 1,000 memories into a copy of the store from (a), run one second before the
#       end of that day: the same staging window, so the run resumes from (a)'s snapshot;
#   (f) the same day in two runs on another copy, as a scheduler runs it: the memories up to
#       noon and a run at noon, then the rest and a run at 23:59:59, which is measured;
#   (c) recall latency on the biggest store, if `engram recall` exists: 1,000 queries in one
#       process (`--queries FILE --no-rehearse`), timed from outside; then the same queries timed
#       inside the process around each eg_recall call (build/engram-bench-recall, warm cache);
#   (d) concept co-occurrence (pair counts over the concepts of the memories of the last 30 days)
#       in C (build/engram-bench-cooccur) against the same self-join in PostgreSQL on the same
#       (memory, concept) rows, with an equality check of the two results.
# Usage: bench/bench_pipeline.sh [SIZES...]   (default: 100000 1000000)
# Prints a Markdown table per part (the ones in BENCHMARKS.md) and the machine it ran on.
# Uses the project's test PostgreSQL (scripts/pg-test-server.sh) and the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100000 1000000)
mapfile -t sizes < <(printf '%s\n' "${sizes[@]}" | sort -n)
bash scripts/deps.sh
bash scripts/build.sh release
started_server=0
if ! bash scripts/pg-test-server.sh status >/dev/null 2>&1; then
  bash scripts/pg-test-server.sh start >/dev/null
  started_server=1
fi
W=$(mktemp -d)
cleanup() {
  q -c "DROP TABLE IF EXISTS bench.pipeline_mc" >/dev/null 2>&1 || true
  [ "$started_server" = 1 ] && bash scripts/pg-test-server.sh stop >/dev/null 2>&1 || true
  rm -rf "$W"
}
trap cleanup EXIT
. tests/out/pg.env
export PGOPTIONS="-c client_min_messages=warning"
q() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }
E=$ROOT/build/engram
G=$ROOT/build/engram-gen
C=$ROOT/build/engram-bench-cooccur
R=$ROOT/build/engram-bench-recall
NOW=2026-11-20T00:00:00Z
NOW2=2026-11-21T00:00:00Z # the incremental run: one day later
NOW3=2026-11-20T23:59:59Z # the same-day incremental run (e)
NOON=2026-11-20T12:00:00Z # (f): the first of two runs in that day
DAYS=30
best() { sort -n | head -1; } # best of the runs: the machine's noise only ever adds time
mib() { awk -v k="$1" 'BEGIN { printf "%.0f MiB", k / 1024 }'; }
# numbers out of engram's one-line JSON reports: the last "key":number in the text given
num() { sed -E "s/.*\"$2\":(-?[0-9.]+).*/\1/" <<<"$1"; }
# a failed command: its exit status and last stderr line, for the table instead of a number
failure() { echo "FAILED (exit $1: $(tail -1 "$2" | tr '|' '/' | cut -c1-160))"; }
us_of() { date -u -d "$1" +%s000000; }
# timed_run STORE NOW: `engram run --json` under /usr/bin/time; on success sets run_s, run_kb,
# rep, ing (the ingest's report) and pip (the pipeline's) and returns 0; on failure prints the
# error, sets fail_cell (a table cell saying so) and returns 1
timed_run() {
  local st
  # the copies of the stores (several GB at 1M) are written back first: a run measured while
  # the kernel writes them back waits for it (the next-day run's snapshot write 245 -> 400 ms)
  sync
  set +e
  /usr/bin/time -f '%e %M' -o "$W/t_run" "$E" --store "$1" --now "$2" run --json >"$W/run.json" 2>"$W/run.err"
  st=$?
  set -e
  if [ $st -gt 1 ] || [ ! -s "$W/run.json" ]; then
    fail_cell=$(failure $st "$W/run.err")
    echo "n=$n run FAILED: $E --store $1 --now $2 run --json (exit $st)" >&2
    cat "$W/run.err" >&2
    return 1
  fi
  read -r run_s run_kb < <(tail -1 "$W/t_run")
  rep=$(cat "$W/run.json")
  ing=${rep%%,\"pipeline\":*} pip=${rep#*,\"pipeline\":}
}

q -c "CREATE SCHEMA IF NOT EXISTS bench"
rows_a=() rows_b=() rows_c=() rows_d=() rows_e=() rows_f=()
for n in "${sizes[@]}"; do
  S=$W/s$n.db
  # ---- (a) full run over a new store --------------------------------------------------------
  "$G" bench --n "$n" --seed 7 --end "$NOW" --span-days 730 --format jsonl >"$W/m$n.jsonl"
  /usr/bin/time -f '%e %M' -o "$W/t_imp" "$E" --store "$S" --now "$NOW" import -q "$W/m$n.jsonl" || [ $? = 1 ]
  read -r imp_s _ < <(tail -1 "$W/t_imp")
  if ! timed_run "$S" "$NOW"; then
    rows_a+=("| $n | $imp_s s | $fail_cell | | | | | | | | |")
    continue
  fi
  staged=$(num "$pip" memories)
  rows_a+=("| $n | $staged | $imp_s s | **$run_s s** | $(num "$ing" total) | $(num "$pip" load) | $(num "$pip" engine) | $(num "$pip" snapshot) | $(num "$pip" save) | $(num "$pip" total) | **$(mib "$run_kb")** | $(num "$pip" consolidated) / $(num "$pip" forgotten) |")
  # A store that has run before has both snapshot files (a run writes the one it did not go on
  # from): a second run at the same now (it changes nothing) writes the other, so that (b), (e)
  # and (f) measure what every later run does, writing over a file, not the one-off first
  # creation of the second (800 MB at 1M: 2 s)
  "$E" --store "$S" --now "$NOW" run -q
  # the store as (a) left it, for (e) and (f)
  cp "$S" "$W/e$n.db"
  cp "$S" "$W/f$n.db"
  for f in "$S"-snapshot*; do
    [ -f "$f" ] || continue
    cp "$f" "$W/e$n.db${f#"$S"}"
    cp "$f" "$W/f$n.db${f#"$S"}"
  done
  echo "n=$n import=${imp_s}s run=${run_s}s peak=${run_kb}KiB report: $rep" >&2

  # ---- (d) co-occurrence: C over the store against the same self-join in PostgreSQL ---------
  "$C" --store "$S" --now "$NOW" --days "$DAYS" --repeat 5 --dump "$W/eg.csv" >"$W/co.txt"
  co() { awk -v k="$1" '$1 == k { print $2 }' "$W/co.txt"; }
  hi=$(us_of "$NOW") lo=$(($(us_of "$NOW") - DAYS * 86400000000))
  sqlite3 -csv "$S" "SELECT mc.memory_rowid, mc.concept_id FROM memory AS m JOIN memory_concept AS mc
                     ON mc.memory_rowid = m.rowid WHERE m.created_at > $lo AND m.created_at <= $hi" >"$W/mc.csv"
  q -c "DROP TABLE IF EXISTS bench.pipeline_mc"
  q -c "CREATE UNLOGGED TABLE bench.pipeline_mc (memory bigint NOT NULL, concept_id bigint NOT NULL)"
  q -c "\\copy bench.pipeline_mc FROM '$W/mc.csv' CSV"
  q -c "CREATE INDEX ON bench.pipeline_mc (memory, concept_id)"
  q -c "VACUUM ANALYZE bench.pipeline_mc"
  pairs_sql="SELECT a.concept_id AS a, b.concept_id AS b, count(*) AS n FROM bench.pipeline_mc a JOIN bench.pipeline_mc b
             ON a.memory = b.memory AND a.concept_id < b.concept_id GROUP BY 1, 2"
  # best of 3, each in its own session (the temp table goes with it); psql's \timing (client
  # side, no connection or start-up time); server defaults, then tuned (work_mem 256MB, no JIT)
  pg_ms() {
    for _ in 1 2 3; do
      psql -X -v ON_ERROR_STOP=1 -c '\timing on' -c "$1" -c "CREATE TEMP TABLE cc AS $pairs_sql" |
        sed -nE 's/^Time: ([0-9.]+) ms.*/\1/p' | tail -1
    done | best
  }
  pg_def=$(pg_ms "SELECT 1")
  pg_tuned=$(pg_ms "SET work_mem = '256MB'; SET jit = off")
  q -F, -c "$pairs_sql ORDER BY 1, 2" >"$W/pg.csv"
  if cmp -s "$W/eg.csv" "$W/pg.csv"; then same="identical ($(wc -l <"$W/pg.csv") lines)"; else same="**DIFFERENT**"; fi
  pg_best=$(printf '%s\n%s\n' "$pg_def" "$pg_tuned" | best)
  speed=$(awk -v p="$pg_best" -v e="$(co count_ms)" 'BEGIN { printf "%.0f×", p / e }')
  speed_all=$(awk -v p="$pg_best" -v e="$(co count_ms)" -v l="$(co load_ms)" 'BEGIN { printf "%.0f×", p / (e + l) }')
  rows_d+=("| $n | $(co memories) | $(co rows) | $(co pairs) | $(co distinct) | $(co load_ms) ms | **$(co count_ms) ms** | $pg_def ms | $pg_tuned ms | **$speed** | $speed_all | $same |")
  echo "n=$n cooccur: $(tr '\n' ' ' <"$W/co.txt") pg default=${pg_def}ms tuned=${pg_tuned}ms equal=$same" >&2
  q -c "DROP TABLE bench.pipeline_mc"

  # ---- (b) incremental: 1,000 memories created in the day after now -------------------------
  "$G" bench --n 1000 --seed 8 --end "$NOW2" --span-days 1 --format jsonl >"$W/new.jsonl"
  /usr/bin/time -f '%e %M' -o "$W/t_imp" "$E" --store "$S" --now "$NOW2" import -q "$W/new.jsonl" || [ $? = 1 ]
  read -r imp2_s _ < <(tail -1 "$W/t_imp")
  if ! timed_run "$S" "$NOW2"; then
    rows_b+=("| $n | 1000 | $imp2_s s | $fail_cell | | | | | | |")
  else
    rows_b+=("| $n | $(num "$ing" inserted) | $imp2_s s | **$run_s s** | $(num "$ing" total) | $(num "$pip" load) | $(num "$pip" engine) | $(num "$pip" save) | $(num "$pip" total) | $(mib "$run_kb") |")
    echo "n=$n incremental import=${imp2_s}s run=${run_s}s peak=${run_kb}KiB report: $rep" >&2
  fi

  # ---- (e) the same memories, the same UTC day: the run resumes from (a)'s snapshot ------------
  SE=$W/e$n.db
  /usr/bin/time -f '%e %M' -o "$W/t_imp" "$E" --store "$SE" --now "$NOW3" import -q "$W/new.jsonl" || [ $? = 1 ]
  read -r imp3_s _ < <(tail -1 "$W/t_imp")
  if ! timed_run "$SE" "$NOW3"; then
    rows_e+=("| $n | $imp3_s s | $fail_cell | | | | | | | | | |")
  else
    resumed=$(sed -E 's/.*"resumed":(true|false).*/\1/' <<<"$pip")
    rows_e+=("| $n | $imp3_s s | **$run_s s** | $resumed | $(num "$ing" total) | $(num "$ing" restage) | $(num "$pip" load) | $(num "$pip" engine) | $(num "$pip" snapshot) | $(num "$pip" save) | $(sed -E 's/.*"written":([0-9]+).*/\1/' <<<"$pip") of $(sed -E 's/.*"writes":\{"rows":([0-9]+).*/\1/' <<<"$pip") | $(mib "$run_kb") |")
    echo "n=$n same-day incremental import=${imp3_s}s run=${run_s}s peak=${run_kb}KiB report: $rep" >&2
  fi
  rm -f "$SE"*

  # ---- (f) the same day in two runs, as a scheduler would run it: the memories up to noon, a
  # run at noon, the rest, a run at 23:59:59 (measured: it goes on from the snapshot the noon
  # run wrote over the last one) ------------------------------------------------------------
  SF=$W/f$n.db
  awk 'match($0, /"created_at":"[^"]*"/) { if (substr($0, RSTART + 14, RLENGTH - 15) <= "'"$NOON"'") print }' "$W/new.jsonl" >"$W/new_am.jsonl"
  awk 'match($0, /"created_at":"[^"]*"/) { if (substr($0, RSTART + 14, RLENGTH - 15) > "'"$NOON"'") print }' "$W/new.jsonl" >"$W/new_pm.jsonl"
  "$E" --store "$SF" --now "$NOON" import -q "$W/new_am.jsonl" || [ $? = 1 ]
  "$E" --store "$SF" --now "$NOON" run -q >/dev/null 2>"$W/run.err" || [ $? = 1 ]
  "$E" --store "$SF" --now "$NOW3" import -q "$W/new_pm.jsonl" || [ $? = 1 ]
  if ! timed_run "$SF" "$NOW3"; then
    rows_f+=("| $n | $(wc -l <"$W/new_pm.jsonl") | $fail_cell | | | | | | | | |")
  else
    resumed=$(sed -E 's/.*"resumed":(true|false).*/\1/' <<<"$pip")
    rows_f+=("| $n | $(wc -l <"$W/new_pm.jsonl") | **$run_s s** | $resumed | $(num "$ing" total) | $(num "$pip" load) | $(num "$pip" engine) | $(num "$pip" snapshot) | $(num "$pip" save) | $(num "$pip" total) | $(mib "$run_kb") |")
    echo "n=$n second same-day run=${run_s}s peak=${run_kb}KiB report: $rep" >&2
  fi
  rm -f "$SF"*
  last_store=$S last_n=$n
done

# ---- (c) recall on the biggest store ----------------------------------------------------------
if [ -n "${last_store:-}" ] && "$E" recall --help >/dev/null 2>&1; then
  n=$last_n
  # 1,000 queries: words of 4+ letters from every k-th generated memory, chosen by line number;
  # one word or two (deterministic)
  awk -v step=$((n / 1100 > 0 ? n / 1100 : 1)) '
    NR % step == 0 && nq < 1000 && match($0, /"content":"[^"]*/) {
      m = split(tolower(substr($0, RSTART + 11, RLENGTH - 11)), w, /[^a-z]+/); k = 0
      for (i = 1; i <= m; i++) if (length(w[i]) >= 4) g[++k] = w[i]
      if (k >= 2) {
        nq++; a = g[1 + NR % k]; b = g[1 + int(NR / 7) % k]
        printf "{\"id\":%d,\"query\":\"%s\"}\n", nq, (nq % 3 == 1) ? a : a " " b
      }
    }' "$W/m$n.jsonl" >"$W/q.jsonl"
  nq=$(wc -l <"$W/q.jsonl")
  head -1 "$W/q.jsonl" >"$W/q1.jsonl"
  recall=("$E" --store "$last_store" --now "$NOW2" recall --no-rehearse --k 10 --queries)
  # per-query latency seen from outside the process: the answers are line-buffered (stdbuf -oL)
  # and time-stamped as they arrive; a query's latency is the gap to the previous answer (the
  # first answer, which carries the start-up, is left out)
  gaps='push @t, time();
    END { @d = sort { $a <=> $b } map { ($t[$_] - $t[$_ - 1]) * 1000 } 1 .. $#t; $n = @d; $s = 0; $s += $_ for @d;
          printf "%.2f %.2f %.2f %.2f\n", $s / $n, $d[int(0.5 * ($n - 1))], $d[int(0.99 * $n + 0.999999) - 1], $d[-1] }'
  perl -MTime::HiRes -e 1 2>/dev/null || gaps='END { print "n/a n/a n/a n/a\n" }'
  set +e
  /usr/bin/time -f '%e %M' -o "$W/t1" "${recall[@]}" "$W/q1.jsonl" >/dev/null 2>"$W/rec.err"
  st1=$?
  /usr/bin/time -f '%e %M' -o "$W/tn" stdbuf -oL "${recall[@]}" "$W/q.jsonl" 2>>"$W/rec.err" |
    perl -MTime::HiRes=time -ne "$gaps" >"$W/gaps"
  stn=${PIPESTATUS[0]}
  # the same queries timed inside the process: eg_recall alone, after 50 untimed warm-up queries
  "$R" --store "$last_store" --now "$NOW2" --queries "$W/q.jsonl" --k 10 >"$W/inproc" 2>"$W/inproc.err"
  sti=$?
  set -e
  if [ "$sti" -eq 0 ]; then
    read -r in_p50 in_p99 in_mean < <(awk '{ v[$1] = $2 } END { print v["p50_ms"], v["p99_ms"], v["mean_ms"] }' "$W/inproc")
    inproc="$in_p50 / **$in_p99** / $in_mean ms"
    echo "n=$n recall in-process: $(tr '\n' ' ' <"$W/inproc")" >&2
  else
    inproc=$(failure $sti "$W/inproc.err")
    echo "n=$n in-process recall FAILED: $R --store S --now $NOW2 --queries q.jsonl --k 10 (exit $sti)" >&2
    cat "$W/inproc.err" >&2
  fi
  if [ "$st1" -ne 0 ] || [ "$stn" -ne 0 ]; then
    rows_c+=("| $n | $nq | $(failure $((st1 ? st1 : stn)) "$W/rec.err") | | | | | | | | $inproc |")
    echo "n=$n recall FAILED:" >&2
    cat "$W/rec.err" >&2
  else
    read -r one_s _ < <(tail -1 "$W/t1")
    read -r all_s rec_kb < <(tail -1 "$W/tn")
    read -r lat_mean lat_p50 lat_p99 lat_max <"$W/gaps"
    mean_wall=$(awk -v a="$all_s" -v o="$one_s" -v q="$nq" 'BEGIN { printf "%.2f", (a - o) * 1000 / (q - 1) }')
    rows_c+=("| $n | $nq | $one_s s | $all_s s | $mean_wall ms | $lat_mean ms | $lat_p50 ms | **$lat_p99 ms** | $lat_max ms | $(mib "$rec_kb") | $inproc |")
    echo "n=$n recall: 1 query ${one_s}s, $nq queries ${all_s}s, mean ${mean_wall}ms; answer gaps mean/p50/p99/max: $(cat "$W/gaps")" >&2
  fi
else
  rows_c+=("| ${last_n:-} | — | \`engram recall\` not available | | | | | | | | |")
fi

machine="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(. /etc/os-release; echo "$PRETTY_NAME"), PostgreSQL $(q -c 'SHOW server_version'), SQLite $(sqlite3 --version | cut -d' ' -f1)"
echo "### (a) full run: \`engram run\` over a new store (now $NOW)"
echo "| memories | in the pipeline (staged) | import | engram run (wall) | ingest ms | pipeline load ms | engine ms | snapshot ms | save ms | whole run ms (engram) | peak RSS | consolidated / forgotten |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows_a[@]}"
echo
echo "### (b) incremental run: 1,000 new memories, then \`engram run\` at $NOW2"
echo "| memories in store | new | import | engram run (wall) | ingest ms | pipeline load ms | engine ms | save ms | whole run ms (engram) | peak RSS |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows_b[@]}"
echo
echo "### (e) same-day incremental run: the same 1,000 memories into the store of (a), \`engram run\` at $NOW3"
echo "| memories in store | import | engram run (wall) | resumed | ingest ms | of it restage ms | pipeline load ms | engine ms | snapshot ms | save ms | output rows written | peak RSS |"
echo "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows_e[@]}"
echo
echo "### (f) the same day in two runs: the memories up to noon and a run at $NOON, then the rest and a run at $NOW3 (measured)"
echo "| memories in store | new since noon | engram run (wall) | resumed | ingest ms | pipeline load ms | engine ms | snapshot ms | save ms | whole run ms (engram) | peak RSS |"
echo "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows_f[@]}"
echo
echo "### (c) recall, \`--queries FILE --no-rehearse --k 10\`, one process"
echo "| memories | queries | 1 query (wall) | all queries (wall) | mean per query (wall difference) | mean (answer gaps) | p50 (answer gaps) | p99 (answer gaps) | max (answer gaps) | peak RSS | in-process p50 / p99 / mean |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows_c[@]}"
echo
echo "### (d) concept co-occurrence, memories of the last $DAYS days"
echo "| memories | in window | (memory, concept) rows | pairs counted | distinct pairs | engram load | engram count (best of 5) | PostgreSQL, defaults (best of 3) | PostgreSQL, work_mem 256MB, no JIT (best of 3) | speedup (count) | speedup (load + count) | results |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
printf '%s\n' "${rows_d[@]}"
echo
echo "machine: $machine"

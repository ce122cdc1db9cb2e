#!/usr/bin/env bash
# Recall quality benchmark (SPEC §8, §14): does engram's recall find planted facts better than
# plain full-text search over the same memories?
#
# Generates (deterministically, awk with its own Park–Miller generator, no network) a stream of
# everyday background memories over 60 days with facts planted in it, in four kinds of query:
#   direct       the query names the fact's person, thing and "code"      (BM25's home ground)
#   morphology   the query uses other word forms ("paint the kayak" for "painting the kayaks")
#   association  the answer shares no word with the query, but the two memories written just
#                before it in the same conversation do (they were in working memory together)
#   update       the fact was restated six times with new values; the query wants the latest
# imports them into a fresh store, runs `engram run`, then answers every query twice:
#   engram   `engram recall --queries` (the default recall.* parameters unless overridden)
#   control  SQLite FTS5 alone on the same memory_fts index: the query's words OR-ed,
#            ORDER BY bm25(memory_fts) LIMIT 10 (via the sqlite3 command-line shell)
# and prints recall@5 and recall@10 (share of queries whose answer is in the top 5 / 10), overall
# and per kind, as a Markdown table.
#
# Usage: bench/bench_recall.sh [--seed N] [--background N] [--facts N] [--keep DIR]
#   --facts N        facts per kind (default 30; 4 kinds)
#   --background N   background memories (default 3000)
#   ENGRAM_BIN=path  use this binary instead of building build/engram (release)
#   ENGRAM_CONFIG    a config file with other recall.* values (to compare settings)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
seed=20261120
nbg=3000
nfacts=30
keep=""
while [ $# -gt 0 ]; do
  case "$1" in
    --seed) seed=$2; shift 2 ;;
    --background) nbg=$2; shift 2 ;;
    --facts) nfacts=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    *) echo "usage: $0 [--seed N] [--background N] [--facts N] [--keep DIR]" >&2; exit 2 ;;
  esac
done
command -v sqlite3 >/dev/null || { echo "bench_recall: needs the sqlite3 command-line shell" >&2; exit 2; }
if [ -z "${ENGRAM_BIN:-}" ]; then
  bash scripts/build.sh release
  ENGRAM_BIN=$ROOT/build/engram
fi
E=$ENGRAM_BIN
if [ -n "$keep" ]; then
  W=$keep
  mkdir -p "$W"
else
  W=$(mktemp -d)
  trap 'rm -rf "$W"' EXIT
fi
NOW=2026-11-20T00:00:00Z
START_EPOCH=1789603200 # 2026-09-17T00:00:00Z: 64 days before NOW

# ---- the dataset -------------------------------------------------------------------------------
awk -v seed="$seed" -v nbg="$nbg" -v nfacts="$nfacts" -v start="$START_EPOCH" -v out="$W" '
function rnd() { x = (x * 16807) % 2147483647; return x / 2147483647 }
function pick(arr, n) { return arr[int(rnd() * n) + 1] }
function iso(t,   days, secs, z, era, doe, yoe, y, doy, mp, d, m) {
  days = int(t / 86400); secs = t - days * 86400
  z = days + 719468; era = int(z / 146097); doe = z - era * 146097
  yoe = int((doe - int(doe / 1460) + int(doe / 36524) - int(doe / 146096)) / 365)
  y = yoe + era * 400; doy = doe - (365 * yoe + int(yoe / 4) - int(yoe / 100))
  mp = int((5 * doy + 2) / 153); d = doy - int((153 * mp + 2) / 5) + 1
  m = mp < 10 ? mp + 3 : mp - 9; if (m <= 2) y++
  return sprintf("%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, int(secs / 3600), int(secs % 3600 / 60), secs % 60)
}
# a daytime moment (08:00-21:00) on a random day in [d0, d1)
function daytime(d0, d1) { return start + (d0 + int(rnd() * (d1 - d0))) * 86400 + 8 * 3600 + int(rnd() * 13 * 3600) }
function mem(id, t, text) { printf "%012d\t{\"id\":\"%s\",\"content\":\"%s\",\"created_at\":\"%s\"}\n", t, id, text, iso(t) > (out "/mem.tsv") }
function query(qid, kind, text, answer) {
  printf "{\"id\":\"%s\",\"query\":\"%s\"}\n", qid, text > (out "/queries.jsonl")
  printf "%s\t%s\t%s\t%s\n", qid, kind, answer, text > (out "/qrels.tsv")
}
BEGIN {
  x = seed % 2147483646 + 1
  np = split("Maya Jonas Priya Omar Lena Frida Tomas Nadia Viktor Sofia", P, " ")
  nl = split("gym office kitchen station library cafe clinic school park bakery", L, " ")
  nt = split("locker mailbox bicycle router scooter printer thermostat dishwasher passport " \
             "laptop tablet camera piano violin aquarium greenhouse boiler chimney fence balcony " \
             "attic basement trailer kayak tent telescope projector drone freezer microwave " \
             "treadmill wardrobe sofa carpet lamp ladder heater mirror stroller canoe", T, " ")
  nv = split("fix paint clean move sell repair check replace order return", V, " ")
  split("fixing painting cleaning moving selling repairing checking replacing ordering returning", VI, " ")
  nd = split("Monday Tuesday Wednesday Thursday Friday Saturday Sunday", D, " ")
  # background: everyday notes that share names, places, things and verbs with the facts
  for (i = 1; i <= nbg; i++) {
    p = pick(P, np); l = pick(L, nl); t = pick(T, nt); k = int(rnd() * nv) + 1; d = pick(D, nd)
    r = int(rnd() * 13)
    if (r == 0) s = "Had lunch with " p " at the " l "; we talked about the " t "."
    else if (r == 1) s = "Need to " V[k] " the " t " before " d "."
    else if (r == 2) s = p " called about the " t " again."
    else if (r == 3) s = "Reminder: bring the " t " to the " l " on " d "."
    else if (r == 4) s = "Spent the morning at the " l " with " p ". Nothing special."
    else if (r == 5) s = "The " t " at the " l " is broken, " p " will " V[k] " it."
    else if (r == 6) s = "Bought a new " t " for the " l "."
    else if (r == 7) s = p " asked whether I could " V[k] " the " t " this week."
    else if (r == 8) s = "Quiet day. Read a book and went for a walk in the park."
    else if (r == 9) s = "Meeting with " p " moved to " d "."
    else if (r == 10) s = "Paid the " t " invoice; " p " sent the code by email."
    else if (r == 11) s = p " was " VI[k] " " t "s at the " l " yesterday."
    else s = "Long call with " p " about work, the " t " and plans for " d "."
    mem(sprintf("bg-%05d", i), daytime(0, 64), s)
  }
  # planted facts: person and thing cycle so that every (person, thing) pair is distinct
  for (f = 1; f <= nfacts; f++) {
    for (kind = 1; kind <= 4; kind++) {
      n = (f - 1) * 4 + kind
      p = P[(n - 1 + 3 * int((n - 1) / nt)) % np + 1]; t = T[(n - 1) % nt + 1]; l = pick(L, nl)
      val = 1000 + int(rnd() * 9000)
      if (kind == 1) {          # direct
        id = sprintf("fact-direct-%03d", f)
        mem(id, daytime(0, 63), p "\x27s " t " code is " val ".")
        query("direct-" f, "direct", "What is " p "\x27s " t " code?", id)
      } else if (kind == 2) {   # morphology: the answer says painting/kayaks, the query paint/kayak
        k = int(rnd() * nv) + 1
        id = sprintf("fact-morph-%03d", f)
        mem(id, daytime(0, 63), p " was " VI[k] " the " t "s all weekend, " val " of them.")
        query("morph-" f, "morphology", "Did " p " " V[k] " the " t "?", id)
      } else if (kind == 3) {   # association: episode of three, the answer shares no query word
        t0 = daytime(0, 63)
        mem(sprintf("fact-assoc-%03d-a", f), t0, "Met " p " at the " l " to look at the " t ".")
        mem(sprintf("fact-assoc-%03d-b", f), t0 + 60, p " thinks the " t " needs a proper fix before " pick(D, nd) ".")
        a = int(rnd() * 4)
        if (a == 0) s = "Wrote down final number: " val "."
        else if (a == 1) s = "Agreed on " val " euros, cash on delivery."
        else if (a == 2) s = "Final decision: option " val "."
        else s = "Deadline fixed: day " (val % 28 + 1) ", no exceptions."
        id = sprintf("fact-assoc-%03d-c", f)
        mem(id, t0 + 120, s)
        query("assoc-" f, "association", "What did " p " and I settle about the " t " at the " l "?", id)
      } else {                  # update: restated six times, the newest is the answer
        dd = int(rnd() * 20)
        for (v = 1; v <= 6; v++) {
          id = sprintf("fact-update-%03d-v%d", f, v)
          mem(id, daytime(dd + (v - 1) * 7, dd + (v - 1) * 7 + 6), p "\x27s " t " is now kept in room " (val + v) ".")
        }
        query("update-" f, "update", "Where is " p "\x27s " t " kept now?", id)
      }
    }
  }
}'
sort "$W/mem.tsv" | cut -f2- >"$W/memories.jsonl"
nmem=$(wc -l <"$W/memories.jsonl")
nq=$(wc -l <"$W/queries.jsonl")
echo "bench_recall: $nmem memories, $nq queries (seed $seed) in $W" >&2

# ---- engram ----------------------------------------------------------------------------------
S="$W/bench.db"
rm -f "$S" "$S-wal" "$S-shm"
"$E" --store "$S" init -q
"$E" --store "$S" import -q "$W/memories.jsonl"
"$E" --store "$S" --now "$NOW" run -q
t0=$(date +%s%N)
"$E" --store "$S" --now "$NOW" recall --queries "$W/queries.jsonl" --k 10 >"$W/engram.jsonl"
t1=$(date +%s%N)
# one line per query: id, then the ids ranked
jq -r '[.id] + [.results[].memory_id] | @tsv' "$W/engram.jsonl" >"$W/engram.tsv"

# ---- control: FTS5 BM25 alone ----------------------------------------------------------------
jq -r '[.id, .query] | @tsv' "$W/queries.jsonl" | awk -F'\t' '
{
  q = tolower($2); gsub(/[^a-z0-9]+/, " ", q); n = split(q, w, " "); m = ""
  for (i = 1; i <= n; i++) m = m (m == "" ? "" : " OR ") "\"" w[i] "\""
  gsub(/\x27/, "\x27\x27", m)
  printf "SELECT \x27%s\x27, m.id FROM memory_fts JOIN memory m ON m.rowid = memory_fts.rowid WHERE memory_fts MATCH \x27%s\x27 ORDER BY bm25(memory_fts) LIMIT 10;\n", $1, m
}' >"$W/control.sql"
t2=$(date +%s%N)
sqlite3 -separator $'\t' "$S" <"$W/control.sql" |
  awk -F'\t' '{ r[$1] = r[$1] "\t" $2 } END { for (q in r) print q r[q] }' >"$W/control.tsv"
t3=$(date +%s%N)

# ---- recall@k ----------------------------------------------------------------------------------
score() { # RANKINGS.tsv -> "kind r5 r10 n" lines (kind "all" too)
  awk -F'\t' 'NR == FNR { kind[$1] = $2; ans[$1] = $3; next }
    ($1 in ans) { for (i = 2; i <= NF && i <= 11; i++) if ($i == ans[$1]) { if (i <= 6) h5[$1] = 1; h10[$1] = 1 } }
    END {
      for (q in ans) { k = kind[q]; n[k]++; n["all"]++; a5[k] += h5[q]; a10[k] += h10[q]; a5["all"] += h5[q]; a10["all"] += h10[q] }
      split("all direct morphology association update", ks, " ")
      for (i = 1; i <= 5; i++) { k = ks[i]; if (n[k]) printf "%s %.3f %.3f %d\n", k, a5[k] / n[k], a10[k] / n[k], n[k] }
    }' "$W/qrels.tsv" "$1"
}
score "$W/engram.tsv" >"$W/engram.score"
score "$W/control.tsv" >"$W/control.score"
cell() { awk -v k="$2" -v c="$3" '$1 == k { print $c }' "$1"; }
printf '| system | recall@5 | recall@10 | direct @5/@10 | morphology @5/@10 | association @5/@10 | update @5/@10 | ms per query |\n'
printf '|---|---|---|---|---|---|---|---|\n'
for sys in engram control; do
  f="$W/$sys.score"
  if [ $sys = engram ]; then ms=$(( (t1 - t0) / 1000000 )); else ms=$(( (t3 - t2) / 1000000 )); fi
  printf '| %s | %s | %s | %s / %s | %s / %s | %s / %s | %s / %s | %s |\n' "$sys" \
    "$(cell "$f" all 2)" "$(cell "$f" all 3)" \
    "$(cell "$f" direct 2)" "$(cell "$f" direct 3)" \
    "$(cell "$f" morphology 2)" "$(cell "$f" morphology 3)" \
    "$(cell "$f" association 2)" "$(cell "$f" association 3)" \
    "$(cell "$f" update 2)" "$(cell "$f" update 3)" \
    "$(awk -v t="$ms" -v n="$nq" 'BEGIN { printf "%.2f", t / n }')"
done
echo
echo "$nmem memories ($nbg background), $nq queries ($nfacts per kind), seed $seed, --now $NOW;" \
  "ms per query: whole process time / queries (engram: one process for all queries; control: one sqlite3 process)."
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)," \
  "$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), SQLite $(sqlite3 --version | cut -d' ' -f1)," \
  "$("$E" --version)"

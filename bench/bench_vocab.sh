#!/usr/bin/env bash
# Benchmark: the pipeline on text with a realistic (large) vocabulary. engram-gen's bench data
# draws from a few thousand words, so its concept graph stays small (2,110 concepts at 1M
# memories); people's notes use tens of thousands of words. This script writes N memories over
# DAYS days (60 by default) whose words follow a long-tailed (log-uniform rank) distribution
# over V pseudo-words (awk with a fixed seed: the same bytes every time, no network), imports
# them into a new store and runs `engram run` once per setting of hebbian.max_concepts (the
# concepts of each memory that take part in concept learning), reporting wall time, peak RSS,
# the engine and save times and the sizes of the graphs.
#
# Usage: bench/bench_vocab.sh [N] [V] [MAX_CONCEPTS...]   (default 100000 200000 8 4)
#   ENGRAM_BIN=path  use this binary instead of building build/engram (release)
#   DAYS=n           spread the memories over n days before the run (default 60; 730 is the
#                    two years of the pipeline benchmark)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
days=${DAYS:-60}
v=${2:-200000}
shift $(($# > 2 ? 2 : $#)) || true
caps=("$@")
[ ${#caps[@]} -gt 0 ] || caps=(8 4)
if [ -z "${ENGRAM_BIN:-}" ]; then
  bash scripts/build.sh release >/dev/null
  ENGRAM_BIN=$PWD/build/engram
fi
E=$ENGRAM_BIN
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
NOW=2025-11-20T00:00:00Z
awk -v N="$n" -v V="$v" -v D="$days" 'BEGIN {
  srand(42)
  split("ka ri to mu se la vo ne pi da go fu hi jo be ru", syl, " ")
  start = 1763596800 - D * 86400    # D days before the run
  for (i = 0; i < N; i++) {
    k = 12 + int(rand() * 30); s = ""
    for (j = 0; j < k; j++) {
      r = int(exp(rand() * log(V)))   # word rank: log-uniform, a long tail
      w = ""; x = r; do { w = w syl[(x % 16) + 1]; x = int(x / 16) } while (x > 0)
      s = s (j ? " " : "") w
    }
    t = start + int(i * (D * 86400 / N)) + int(rand() * 30)
    printf "{\"id\":\"z%07d\",\"content\":\"%s\",\"created_at\":\"%s\"}\n", i, s, strftime("%Y-%m-%dT%H:%M:%SZ", t, 1)
  }
}' >"$W/m.jsonl"
echo "| memories | vocabulary | hebbian.max_concepts | engram run (wall) | peak RSS | engine ms | save ms | concepts | concept edges | memory associations | consolidated |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for mc in "${caps[@]}"; do
  S=$W/s$mc.db
  "$E" --store "$S" init -q
  "$E" --store "$S" import -q "$W/m.jsonl"
  printf 'hebbian.max_concepts = %s\n' "$mc" >"$W/c$mc.conf"
  ENGRAM_CONFIG=$W/c$mc.conf /usr/bin/time -f '%e %M' -o "$W/t$mc" "$E" --store "$S" --now "$NOW" run --json >"$W/r$mc.json"
  read -r wall kb <"$W/t$mc"
  jq -r --arg n "$n" --arg v "$v" --arg mc "$mc" --arg wall "$wall" --arg kb "$kb" \
    '.pipeline | "| \($n) | \($v) | \($mc) | \($wall) s | \(($kb | tonumber) / 1024 | floor) MiB | \(.ms.engine) | \(.ms.save) | \(.concepts) | \(.concept_edges) | \(.assoc_edges) | \(.by_status.consolidated) |"' "$W/r$mc.json"
  rm -f "$S"*
done
echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), SQLite $(sqlite3 --version | cut -d' ' -f1)"

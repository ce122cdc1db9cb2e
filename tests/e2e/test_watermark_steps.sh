#!/usr/bin/env bash
# Runs in steps end with the watermark one run at the last now gives (regression: with every row
# imported up front, the first run capped the watermark at its now, and the later runs, which
# read the store's own table by its change log and so read nothing new, never advanced it). Also
# for a SQLite file as the source, read by watermark, and with a row added between the steps.
. "$(dirname "$0")/lib.sh"
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
SAMPLE="$ENGRAM_SRC/data/sample-memories.jsonl" # keys up to 2026-11-19T19:33:04.5Z (an updated_at)
wm() { E --store "$1" stats --json | python3 -c 'import json,sys; print(",".join(w["watermark"] for w in json.load(sys.stdin)["watermarks"]))'; }

# the embedded source: everything imported first, then runs at three clocks vs one run
for s in steps once; do
  E --store "$T/$s.db" init -q && E --store "$T/$s.db" import -q "$SAMPLE" || fail "import into $s"
done
for now in 2026-11-09T12:20:00Z 2026-11-15T00:00:00Z 2026-11-25T00:00:00Z; do
  E --store "$T/steps.db" --now $now run -q || fail "run at $now"
done
E --store "$T/once.db" --now 2026-11-25T00:00:00Z run -q || fail "one run"
check "embedded: the one run's watermark is the newest key" "2026-11-19T19:33:04.500000Z" "$(wm "$T/once.db")"
check "embedded: steps end at the one run's watermark" "$(wm "$T/once.db")" "$(wm "$T/steps.db")"

# a step whose now lies before the newest row keeps the cap, the next one lifts it
E --store "$T/two.db" init -q && E --store "$T/two.db" import -q "$SAMPLE"
E --store "$T/two.db" --now 2026-11-09T12:20:00Z run -q
check "embedded: a run before the newest row caps the watermark at its now" "2026-11-09T12:20:00Z" "$(wm "$T/two.db")"
E --store "$T/two.db" --now 2026-11-12T00:00:00Z run -q
check "embedded: the next run lifts it to its own now" "2026-11-12T00:00:00Z" "$(wm "$T/two.db")"

# a SQLite file as the source (read by watermark, not by change log)
E --store "$T/src.db" init -q && E --store "$T/src.db" import -q "$SAMPLE"
for s in fsteps fonce; do rm -f "$T/$s.db"; done
for now in 2026-11-09T12:20:00Z 2026-11-25T00:00:00Z; do
  E --source "sqlite:$T/src.db" --store "$T/fsteps.db" --now $now run -q || fail "sqlite source: run at $now"
done
E --source "sqlite:$T/src.db" --store "$T/fonce.db" --now 2026-11-25T00:00:00Z run -q || fail "sqlite source: one run"
check "sqlite source: steps end at the one run's watermark" "$(wm "$T/fonce.db")" "$(wm "$T/fsteps.db")"
finish

# export --what staging|features|ltm|concepts|edges (SPEC §13) on the sample data at a fixed clock:
# the header and first rows of each, CSV and JSONL; the row counts match `stats`; the same store
# gives the same bytes (again, and after a run at the same clock); an unknown --what is refused.
# --output - (or -o -) is standard output, not a file named "-".
engram --store s.db init -q
engram --store s.db import -q "$ENGRAM_SRC/data/sample-memories.jsonl"
engram --store s.db --now 2026-11-20T00:00:00Z run -q
engram --store s.db export --what features | head -3
engram --store s.db export --what features --format jsonl | head -2
engram --store s.db export --what ltm | head -3
engram --store s.db export --what ltm --json | head -2
engram --store s.db export --what concepts | head -4
engram --store s.db export --what concepts --format jsonl | tail -2
engram --store s.db export --what edges | head -4
engram --store s.db export --what edges --format jsonl | head -2
for w in staging features ltm concepts edges; do printf '%s ' $w; engram --store s.db export --what $w --format jsonl | wc -l; done
engram --store s.db stats --json | grep -o '"\(concepts\|concept_edges\|long_term\)":[0-9]*' | head -3
for w in staging features ltm concepts edges; do engram --store s.db export --what $w -o $w.1.csv; done
engram --store s.db --now 2026-11-20T00:00:00Z run -q
for w in staging features ltm concepts edges; do engram --store s.db export --what $w | cmp - $w.1.csv && echo "$w: same bytes"; done
for w in features ltm; do engram --store s.db export --what $w | tail -n +2 | cut -d, -f1 | LC_ALL=C sort -c -u && echo "$w: ordered by memory_id"; done
engram --store s.db export --what concepts | tail -n +2 | cut -d, -f1 | LC_ALL=C sort -c -u && echo "concepts: ordered by name"
engram --store s.db export --what memories
engram --store missing.db export --what edges
engram --store s.db export --what ltm -o - | head -2
engram --store s.db export --what ltm --output - --format jsonl | head -1
ls -- -

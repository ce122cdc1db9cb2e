# Recall and trace (SPEC §8, §9) on the sample data at a fixed clock: ranked results with every
# term explained, JSON, --queries, a recall that rehearses (and the presentation it records),
# traces of a consolidated, a forgotten and a skipped memory, and the errors.
engram --store s.db init -q
engram --store s.db import -q "$ENGRAM_SRC/data/sample-memories.jsonl"
engram --store s.db --now 2026-11-20T00:00:00Z run -q
engram --store s.db --now 2026-11-20T00:00:00Z recall --no-rehearse --k 3 --explain "replication lag"
engram --store s.db --now 2026-11-20T00:00:00Z recall --no-rehearse --k 2 --json "garden Maya"
engram --store s.db --now 2026-11-20T00:00:00Z recall --no-rehearse --k 3 --at 2026-08-01T00:00:00Z "dentist"
printf '%s\n' '{"id":"a","query":"oat milk"}' '{"id":"b","query":"connection pool José"}' | engram --store s.db --now 2026-11-20T00:00:00Z recall --queries - --k 3
# --explain is for one QUERY: with --queries it is a usage error (it was ignored)
printf '%s\n' '{"id":"a","query":"oat milk"}' | engram --store s.db --now 2026-11-20T00:00:00Z recall --queries - --explain
engram --store s.db --now 2026-11-20T00:00:00Z recall --k 1 "dry cleaning"
engram --store s.db --now 2026-11-20T00:00:00Z recall --no-rehearse --k 1 "dry cleaning"
engram --store s.db --now 2026-11-20T00:00:00Z recall --no-rehearse --k 1 'the "dry" cleaning \ bill'
engram --store s.db trace 003739eb-925c-4ad4-a5df-936a1742be4a --now 2026-11-20T00:00:00Z
engram --store s.db trace 003884a3-cba6-41d6-b4ce-e310d15c8af2 --now 2026-11-20T00:00:00Z
engram --store s.db trace 15005367-00f5-4b45-9728-56c9854f166b --now 2026-11-20T00:00:00Z
engram --store s.db --now 2026-11-20T00:00:00Z trace --json 4978787e-1045-4d24-9c78-03ddd18e80a2
engram --store s.db trace no-such-memory
engram --store s.db recall
engram --store s.db recall --at never "garden"
engram --store missing.db recall "garden"
engram recall --help
engram trace --help
# one candidate is "1 candidate"; bytes of the query that are not UTF-8 print as U+FFFD, as in
# --json (they went to the terminal raw)
engram --store one.db --now 2026-11-20T00:00:00Z remember -q --id solo "A note about the harbor"
engram --store one.db --now 2026-11-20T00:00:00Z ingest -q
engram --store one.db --now 2026-11-20T00:00:00Z recall --no-rehearse "$(printf 'harbor caf\351')" | head -1

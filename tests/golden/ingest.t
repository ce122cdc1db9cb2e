# ingest and run: rows quarantined by a read make the exit code 1 (a warning, as for import);
# --full says so in the report; a missing store is an error unless an external --source fills it.
engram --store s.db --now 2026-11-19T08:00:00Z remember --id g1 "Planning the garden with Maya"
sqlite3 s.db "INSERT INTO memories VALUES ('b1', 'a note with no usable time', 'yesterday', NULL, NULL)"
engram --store s.db --now 2026-11-20T00:00:00Z ingest
engram --store s.db --now 2026-11-20T00:00:00Z ingest
engram --store s.db --now 2026-11-20T00:00:00Z ingest --full --json | grep -o '"full":[a-z]*,"change_log":[a-z]*,"read":[0-9]*'
engram --store s.db --now 2026-11-20T00:00:00Z ingest --full
engram --store s.db --now 2026-11-20T00:00:00Z run -q
sqlite3 s.db "INSERT INTO memories VALUES ('b2', 'another', '2026-11-19T25:00:00Z', NULL, NULL)"
engram --store s.db --now 2026-11-20T01:00:00Z run -q
engram --store s.db --now 2026-11-20T01:00:00Z run -q
engram --store typo.db run
engram --store typo.db ingest -q
ls typo.db
engram --store new.db --source sqlite:s.db --now 2026-11-20T00:00:00Z ingest -q
ls new.db
# a bad option in the connection string is a configuration error (exit 2, not retried); the hint
# names where the string comes from (it named an ENGRAM_SOURCE variable that does not exist)
engram --store pg.db --source 'host=127.0.0.1 port=1 dbname=notes user=reader sslmode=bogus' ingest

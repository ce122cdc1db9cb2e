# The embedded default end to end: init, import with bad lines, run at a fixed clock, stats,
# export, a second run at the same clock (changes nothing), remember, and a later run.
engram --store s.db init
printf '%s\n' '{"id":"m1","content":"Planning the garden with Maya: tomatoes, basil and a small pond.","created_at":"2026-11-19T09:00:00Z","metadata":{"source":"note"}}' '{"id":"m2","content":"","created_at":"2026-11-19T09:05:00Z"}' 'not json at all' '{"content":"no id here","created_at":"2026-11-19T09:06:00Z"}' '{"id":"m3","content":null,"created_at":"2026-11-19T09:07:00Z"}' '{"id":"m4","content":"Réunion à Paris — 東京 next 🙂","created_at":"2026-11-13T09:00:00Z","updated_at":"2026-11-15T10:00:00Z","metadata":{"concepts":["paris","tokyo",7]}}' '{"id":"m5","content":"Ancient note","created_at":"2024-01-01T00:00:00Z","metadata":"{broken"}' > in.jsonl
printf '%s\n' '{"id":"m7","content":"   \t  ","created_at":"2026-11-18T09:00:00Z","metadata":[1,2]}' '{"id":"m9","content":"ok","created_at":"yesterday"}' >> in.jsonl
printf '{"id":"m8","content":"bad \xff\xfe bytes","created_at":"2026-11-18T09:00:00Z"}\n' >> in.jsonl
engram --store s.db import in.jsonl
engram --store s.db --now 2026-11-20T00:00:00Z run
engram --store s.db export --what staging
engram --store s.db --now 2026-11-20T00:00:00Z run --json
engram --store s.db stats --json | sed -E 's/"store":"[^"]*"/"store":"S"/; s/"bytes":[0-9]+/"bytes":N/'
engram --store s.db --now 2026-11-20T08:00:00Z remember --id m6 "Call the plumber about the leak today, urgent!"
engram --store s.db --now 2026-11-20T09:00:00Z run
engram --store s.db export --format jsonl | grep m6

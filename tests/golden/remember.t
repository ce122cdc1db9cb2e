# remember: an empty or whitespace-only text is refused (65) before any store is made; --id is
# 1 to 36 characters (code points, not bytes); a text that starts with "-" goes after --.
engram --store r.db remember ""
engram --store r.db remember "   	  "
ls r.db
engram --store r.db --now 2026-11-20T00:00:00Z remember --id "ééééééééééééééééééééééééééééééééééé€" "thirty-six characters, 73 bytes"
engram --store r.db remember --id "ééééééééééééééééééééééééééééééééééé€x" "one too many"
engram --store r.db remember --id "" "empty id"
engram --store r.db remember --metadata '[1]' "metadata not an object"
engram --store r.db --now 2026-11-20T00:00:00Z remember -- "-5 degrees today"
engram --store r.db --now 2026-11-20T00:00:00Z ingest -q
engram --store r.db export --format jsonl | cut -c1-100
# --json prints the id as an object; --help says so
engram --store r.db --now 2026-11-20T00:00:00Z remember --json --id j1 "a json note"
engram remember --help | grep -e --json

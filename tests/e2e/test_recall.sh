#!/usr/bin/env bash
# Recall and trace (SPEC §8, §9) end to end on the embedded store (no PostgreSQL needed): a
# constructed stream at fixed clocks, then recall by a word a memory contains; a memory reached
# only through a learned association (co-active in working memory with the match, sharing no word
# with the query); a rehearsed memory ranking above an otherwise equal stale one; --no-rehearse
# leaving the presentation table alone while a plain recall adds 'recalled' rows; the --json and
# --queries shapes; usage errors; trace of a consolidated, a forgotten, a skipped and an unknown
# memory, a row rejected at import and one not ingested yet.
. "$(dirname "$0")/../integration/lib.sh"
for tool in jq sqlite3 iconv; do
  command -v "$tool" >/dev/null || { echo "skipped: needs $tool"; exit 77; }
done
NOW=2026-11-20T00:00:00Z
count() { sqlite3 "$1" "$2"; }

# ---- a small stream: two memories a minute apart (co-active in working memory), one two days
# later, one outside the staging window, one empty ----
A="$T/a.db"
engram --store "$A" init -q
cat >"$T/a.jsonl" <<'EOF'
{"id":"harbour","content":"We watched the zeppelin drift over the harbour at dusk.","created_at":"2026-11-10T10:00:00Z"}
{"id":"paint","content":"Remember to buy green paint for the garden fence.","created_at":"2026-11-10T10:01:00Z"}
{"id":"dentist","content":"Dentist appointment moved to Thursday morning.","created_at":"2026-11-12T15:00:00Z"}
{"id":"postcard","content":"Ancient zeppelin postcard from grandma.","created_at":"2020-01-01T00:00:00Z"}
{"id":"blank","content":"","created_at":"2026-11-10T09:00:00Z"}
EOF
engram --store "$A" import -q "$T/a.jsonl"
engram --store "$A" --now "$NOW" run -q || fail "engram run"

# recall finds a memory by a word it contains; a memory outside the staging window is found too
# (the pipeline took it at its own time, docs/adr/0010), below the recent one
engram --store "$A" --now "$NOW" recall --no-rehearse --json zeppelin >"$T/z.json"
check "recall finds the memory containing the word" harbour "$(jq -r '.results[0].memory_id' "$T/z.json")"
check "a memory outside the staging window is recalled, below it" postcard \
  "$(jq -r '.results[] | select(.memory_id == "postcard" and .lexical > 0) | .memory_id' "$T/z.json")"
check "with the status the pipeline gave it (alone in 2020: no associates)" forgotten "$(jq -r '.results[] | select(.memory_id == "postcard") | .status' "$T/z.json")"
check "the best lexical score is 1" 1 "$(jq -r '[.results[].lexical] | max' "$T/z.json")"
check "an empty memory is never recalled" "" "$(jq -r '.results[] | select(.memory_id == "blank") | .memory_id' "$T/z.json")"
# a query that is not UTF-8 is echoed as valid JSON: the bad byte becomes U+FFFD
engram --store "$A" --now "$NOW" recall --no-rehearse --json "$(printf 'zeppelin \xff')" >"$T/bad.json"
check "recall --json of a query with a byte that is not UTF-8 is valid UTF-8 JSON" \
  "$(printf 'zeppelin \xef\xbf\xbd')" \
  "$(iconv -f UTF-8 -t UTF-8 "$T/bad.json" >/dev/null 2>&1 && jq -r .query "$T/bad.json" 2>&1)"

# the association: paint shares no word with the query, but was in working memory with harbour
check "paint and harbour are associated" 1 \
  "$(count "$A" "SELECT count(*) FROM assoc a JOIN memory x ON x.rowid = a.a JOIN memory y ON y.rowid = a.b WHERE x.id IN ('harbour','paint') AND y.id IN ('harbour','paint')")"
check "recall reaches paint through the association" paint \
  "$(jq -r '.results[] | select(.memory_id == "paint") | .memory_id' "$T/z.json")"
check "paint has no lexical score" 0 "$(jq -r '.results[] | select(.memory_id == "paint") | .lexical' "$T/z.json")"
check "paint is reached by spread" true "$(jq -r '.results[] | select(.memory_id == "paint") | .spread > 0' "$T/z.json")"
check "an unrelated memory is not recalled" "" "$(jq -r '.results[] | select(.memory_id == "dentist") | .memory_id' "$T/z.json")"
engram --store "$A" --now "$NOW" recall --no-rehearse --explain zeppelin >"$T/z.txt"
contains "--explain prints the terms" "spread" "$T/z.txt"
contains "--explain prints P(recall)" "P(recall)" "$T/z.txt"
# the full-text search takes at most 32 words of a query; stopwords and short words (searched
# only when nothing else is left) do not crowd out a later word that counts
long="the a an of to in on at by for with from as is was be are were it this that these those"
long="$long me my we our you your he she they them his her its and or but if so do did us up"
engram --store "$A" --now "$NOW" recall --no-rehearse --json "$long zeppelin" >"$T/long.json"
check "a word after 45 stopwords is searched in full text, alone: lexical as for it alone" \
  "$(jq -c '[.results[] | {memory_id, lexical}] | sort_by(.memory_id)' "$T/z.json")" \
  "$(jq -c '[.results[] | {memory_id, lexical}] | sort_by(.memory_id)' "$T/long.json")"

# --json shape
check "--json has query and at" "zeppelin $NOW" "$(jq -r '"\(.query) \(.at)"' "$T/z.json")"
check "--json result fields" '["activation","content","created_at","lexical","memory_id","p_recall","score","spread","status"]' \
  "$(jq -c '.results[0] | keys' "$T/z.json")"
check "--json status is the pipeline's" true "$(jq -r '.results[0].status | IN("consolidated","forgotten","in_stm","in_wm","unattended","staged")' "$T/z.json")"

# --no-rehearse leaves the presentation table unchanged; a plain recall adds one row per result
before=$(count "$A" "SELECT count(*) FROM presentation")
engram --store "$A" --now "$NOW" recall --no-rehearse zeppelin >/dev/null
check "--no-rehearse adds no presentation" "$before" "$(count "$A" "SELECT count(*) FROM presentation")"
n=$(engram --store "$A" --now "$NOW" recall --json zeppelin | jq '.results | length')
check "a recall adds a presentation per result" $((before + n)) "$(count "$A" "SELECT count(*) FROM presentation")"
check "they are recalls at --now" "$n" \
  "$(count "$A" "SELECT count(*) FROM presentation WHERE kind = 'recalled' AND at = strftime('%s', '2026-11-20T00:00:00') * 1000000")"
engram --store "$A" --now "$NOW" recall zeppelin >/dev/null
check "the same recall at the same time adds nothing (INSERT OR IGNORE)" $((before + n)) \
  "$(count "$A" "SELECT count(*) FROM presentation")"

# --queries: one output line per input line, bad lines reported with FILE:LINE and exit 65
printf '%s\n' '{"id":"q1","query":"zeppelin"}' '' '{"id":2,"query":"dentist Thursday"}' >"$T/q.jsonl"
engram --store "$A" --now "$NOW" recall --queries "$T/q.jsonl" --k 3 >"$T/q.out"
check "--queries exit code" 0 $?
check "--queries answers every query" 2 "$(wc -l <"$T/q.out")"
check "--queries line shape" '["id","results"]' "$(head -1 "$T/q.out" | jq -c 'keys')"
check "--queries keeps the id as given" "q1 2" "$(jq -r '.id' "$T/q.out" | paste -sd' ')"
check "--queries result shape" '["memory_id","score"]' "$(head -1 "$T/q.out" | jq -c '.results[0] | keys')"
check "--queries finds the dentist" dentist "$(sed -n 2p "$T/q.out" | jq -r '.results[0].memory_id')"
printf '%s\n' '{"id":"ok","query":"paint"}' 'not json' '{"query":"no id"}' '{"id":"e","query":"  "}' >"$T/bad.jsonl"
engram --store "$A" --now "$NOW" recall --queries "$T/bad.jsonl" >"$T/bad.out" 2>"$T/bad.err"
check "bad --queries lines exit 65" 65 $?
check "the good line is still answered" ok "$(jq -r '.id' "$T/bad.out")"
contains "a bad line is named by file and line" "bad.jsonl:2:" "$T/bad.err"
contains "a line without id" "bad.jsonl:3: no \"id\"" "$T/bad.err"
contains "an empty query" "bad.jsonl:4: the query is empty" "$T/bad.err"
# a key named twice is a bad line, as in import (the answer carried the last id given), and a
# NUL is named in words (the reason was jansson's "without JSON_ALLOW_NUL")
printf '%s\n' '{"id":"a","query":"paint","id":"b"}' '{"id":"n","query":"pa\u0000int"}' \
  '{"id":"ok2","query":"paint"}' >"$T/dupkey.jsonl"
engram --store "$A" --now "$NOW" recall --queries "$T/dupkey.jsonl" >"$T/dupkey.out" 2>"$T/dupkey.err"
check "a --queries line naming a key twice exits 65" 65 $?
contains "and is reported" 'dupkey.jsonl:1: not JSON: duplicate object key' "$T/dupkey.err"
contains "a NUL in the query is named" 'dupkey.jsonl:2: the query contains a NUL character (\u0000)' "$T/dupkey.err"
lacks "in words" "JSON_ALLOW_NUL" "$T/dupkey.err"
check "the good line alone is answered" ok2 "$(jq -r '.id' "$T/dupkey.out" | paste -sd' ')"
# a query of line breaks alone is empty too: a bad line, not the end of the batch (it stopped
# every query after it, exit 2)
printf '%s\n' '{"id":"nl","query":"\n\r\n"}' '{"id":"after","query":"paint"}' >"$T/nl.jsonl"
engram --store "$A" --now "$NOW" recall --queries "$T/nl.jsonl" >"$T/nl.out" 2>"$T/nl.err"
check "a --queries line whose query is only line breaks exits 65" 65 $?
contains "and is reported as empty" "nl.jsonl:1: the query is empty" "$T/nl.err"
check "the lines after it are answered" after "$(jq -r '.id' "$T/nl.out")"
# a byte order mark, as an editor saves UTF-8 on Windows, is skipped as `import` skips it (the
# first line was a bad line)
printf '\357\273\277%s\r\n' '{"id":"bom","query":"paint"}' >"$T/bom.jsonl"
engram --store "$A" --now "$NOW" recall --queries "$T/bom.jsonl" >"$T/bom.out" 2>"$T/bom.err"
check "--queries skips a byte order mark" "0 bom" "$? $(jq -r '.id' "$T/bom.out")"

# usage errors
engram --store "$A" recall "" 2>"$T/e1"; check "empty query exits 2" 2 $?
contains "empty query message" "non-empty QUERY" "$T/e1"
engram --store "$A" recall --at yesterday zeppelin 2>"$T/e2"; check "bad --at exits 2" 2 $?
contains "bad --at message" "not an ISO 8601 time" "$T/e2"
engram --store "$A" recall --k 0 zeppelin 2>/dev/null; check "bad --k exits 2" 2 $?
# a rehearsing recall is recorded at --at: never in the future (it was, and the next run took
# it as a presentation to come); without rehearsal a later --at only ranks
n0=$(sqlite3 "$A" "SELECT count(*) FROM presentation WHERE kind = 'recalled'")
engram --store "$A" --now "$NOW" recall --at 2999-01-01T00:00:00Z zeppelin >/dev/null 2>"$T/e6"
check "a rehearsing recall --at after now exits 2" 2 $?
contains "and says why and what to do" "add --no-rehearse" "$T/e6"
check "and records nothing" "$n0" "$(sqlite3 "$A" "SELECT count(*) FROM presentation WHERE kind = 'recalled'")"
engram --store "$A" --now "$NOW" recall --no-rehearse --at 2999-01-01T00:00:00Z zeppelin >/dev/null
check "recall --no-rehearse --at after now ranks" 0 $?
engram --store "$A" recall --queries "$T/missing.jsonl" 2>"$T/e3"; check "unreadable --queries exits 2" 2 $?
contains "unreadable --queries message" "missing.jsonl" "$T/e3"
engram --store "$T/nowhere.db" recall zeppelin 2>"$T/e4"; check "missing store exits 2" 2 $?
contains "missing store hint" "engram init" "$T/e4"
engram --store "$A" --now "$NOW" recall --no-rehearse '"NEAR( *) AND' >/dev/null 2>"$T/e5"
check "FTS5 syntax in a query is only words" 0 $?
engram --store "$A" --now 2026-11-10T09:30:00Z recall --no-rehearse --json zeppelin >"$T/early.json"
check "memories created after --at are not recalled (only the 2020 postcard is)" postcard \
  "$(jq -r '[.results[].memory_id] | join(" ")' "$T/early.json")"

# a past --at finds the full-text matches created by then, however many newer ones there are:
# the search read the newest 2,000 matches of the whole store, all created after --at here, and
# the memories of the word before it came to mind without their lexical score (or not at all)
P="$T/p.db"
engram --store "$P" init -q
awk 'BEGIN { for (i = 0; i < 2500; i++) printf "{\"id\":\"p%04d\",\"content\":\"quince jelly batch %d\",\"created_at\":\"2026-%02d-%02dT10:00:00Z\"}\n", i, i, 1 + int(i / 250), 1 + (i % 250) % 28 }' >"$T/p.jsonl"
engram --store "$P" import -q "$T/p.jsonl"
engram --store "$P" --now "$NOW" ingest -q
engram --store "$P" --now "$NOW" recall --no-rehearse --json --at 2026-01-31T12:00:00Z --k 5 quince >"$T/past.json"
check "a past --at recalls the memories created by then" 5 "$(jq '[.results[] | select(.created_at <= "2026-01-31T12:00:00Z")] | length' "$T/past.json")"
check "with their lexical score" true "$(jq '[.results[].lexical] | min > 0' "$T/past.json")"
# the same through a concept: 6,000 memories whose only tie to the query is a metadata concept
# (more than the 5,000 a concept has all read: its newest 1,000 are). A past --at read the
# newest of the whole store, all too new, and recalled none of them.
Z="$T/z.db"
engram --store "$Z" init -q
awk 'BEGIN { for (i = 0; i < 6000; i++) printf "{\"id\":\"z%04d\",\"content\":\"field note %d\",\"created_at\":\"2026-%02d-%02dT%02d:00:00Z\",\"metadata\":{\"concepts\":[\"zebrafish\"]}}\n", i, i, 1 + int(i / 3000), 1 + int((i % 3000) / 120), i % 24 }' >"$T/z.jsonl"
engram --store "$Z" import -q "$T/z.jsonl"
engram --store "$Z" --now 2026-03-01T00:00:00Z run -q
engram --store "$Z" --now 2026-03-01T00:00:00Z recall --no-rehearse --json --at 2026-01-20T00:00:00Z --k 5 zebrafish >"$T/z.json"
check "a past --at recalls through a concept the memories created by then" 5 \
  "$(jq '[.results[] | select(.created_at <= "2026-01-20T00:00:00Z")] | length' "$T/z.json")"

# text output is for a terminal: control characters of a memory's content or id, or of the
# query, print as spaces (an escape sequence in a memory recoloured the terminal, a line break
# in an id broke the line); --json keeps them, escaped
C="$T/c.db"
engram --store "$C" init -q
printf '%s\n' '{"id":"ctl\u001b[2Jid\nx","content":"bell\u0007 esc\u001b[31m red\u0085 nel\u007f del walrus","created_at":"2026-11-10T10:00:00Z"}' >"$T/c.jsonl"
engram --store "$C" import -q "$T/c.jsonl"
engram --store "$C" --now "$NOW" ingest -q
engram --store "$C" --now "$NOW" recall --no-rehearse --explain "$(printf 'walrus\033[0m')" >"$T/c.txt"
check "recall's text output has no control character" 0 \
  "$(LC_ALL=C tr -d '\n' <"$T/c.txt" | LC_ALL=C tr -dc '\000-\037\177' | wc -c)"
check "nor a C1 control (U+0085)" 0 "$(grep -c "$(printf '\302\205')" "$T/c.txt")"
contains "the content shows spaces in their place" "bell  esc [31m red  nel  del walrus" "$T/c.txt"
contains "and so do the query and the id" 'recall "walrus [0m"' "$T/c.txt"
contains "the id on one line" "ctl [2Jid x  [staged" "$T/c.txt"
check "--json keeps the content as it is" "$(printf 'bell\a esc\033[31m red\302\205 nel\177 del walrus')" \
  "$(engram --store "$C" --now "$NOW" recall --no-rehearse --json walrus | jq -r '.results[0].content')"
engram --store "$C" --now "$NOW" trace "$(printf 'ctl\033[2Jid\nx')" >"$T/c-trace.txt"
check "trace's text output has no control character" 0 \
  "$(LC_ALL=C tr -d '\n' <"$T/c-trace.txt" | LC_ALL=C tr -dc '\000-\037\177' | wc -c)"
contains "trace names the id on one line" 'trace of memory "ctl [2Jid x"' "$T/c-trace.txt"
# the bidirectional overrides and isolates, and U+2028/U+2029, print as spaces too: an override
# left open in an id reversed the rest of the line as a terminal shows it
printf '%s\n' '{"id":"rlo\u202eabc","content":"gnu\u202e reversed \u2066 isolate \u2028 ls \u2029 ps zebra","created_at":"2026-11-10T10:00:00Z"}' >"$T/bidi.jsonl"
engram --store "$C" import -q "$T/bidi.jsonl"
engram --store "$C" --now "$NOW" ingest -q
engram --store "$C" --now "$NOW" recall --no-rehearse zebra >"$T/bidi.txt"
engram --store "$C" --now "$NOW" trace "$(printf 'rlo\342\200\256abc')" >>"$T/bidi.txt"
check "no bidirectional control nor line separator in text output" 0 \
  "$(grep -c -e "$(printf '\342\200\256')" -e "$(printf '\342\201\246')" -e "$(printf '\342\200\250')" -e "$(printf '\342\200\251')" "$T/bidi.txt")"
contains "they print as spaces" "gnu  reversed   isolate   ls   ps zebra" "$T/bidi.txt"
contains "in the id too" 'trace of memory "rlo abc"' "$T/bidi.txt"
check "--json keeps them" "$(printf 'rlo\342\200\256abc')" \
  "$(engram --store "$C" --now "$NOW" recall --no-rehearse --json zebra | jq -r '.results[0].memory_id')"

# ---- rehearsal: two equal memories; the one recalled before ranks first ----
H="$T/h.db"
engram --store "$H" init -q
printf '%s\n' '{"id":"z-alpha","content":"Project kiwi meeting notes alpha","created_at":"2026-11-01T10:00:00Z"}' \
  '{"id":"a-gamma","content":"Project kiwi meeting notes gamma","created_at":"2026-11-01T10:00:00Z"}' >"$T/h.jsonl"
engram --store "$H" import -q "$T/h.jsonl"
engram --store "$H" --now "$NOW" ingest -q
engram --store "$H" --now "$NOW" recall --no-rehearse --json kiwi >"$T/h0.json"
check "equal memories tie, the smaller id first" "a-gamma z-alpha" "$(jq -r '[.results[].memory_id] | join(" ")' "$T/h0.json")"
check "and their scores are equal" true "$(jq '.results[0].score == .results[1].score' "$T/h0.json")"
engram --store "$H" --now 2026-11-19T10:00:00Z recall alpha >/dev/null
engram --store "$H" --now 2026-11-19T16:00:00Z recall alpha >/dev/null
engram --store "$H" --now "$NOW" recall --no-rehearse --json kiwi >"$T/h1.json"
check "the rehearsed memory ranks first" z-alpha "$(jq -r '.results[0].memory_id' "$T/h1.json")"
check "because its base-level activation is higher" true "$(jq '.results[0].activation > .results[1].activation' "$T/h1.json")"
engram --store "$H" --now "$NOW" run -q
engram --store "$H" --now "$NOW" recall --no-rehearse --json kiwi >"$T/h2.json"
check "recalls stay presentations after a run" z-alpha "$(jq -r '.results[0].memory_id' "$T/h2.json")"

# ---- trace ----
engram --store "$A" --now "$NOW" trace postcard >"$T/t1.txt"
contains "trace of a memory outside the staging window says so" "outside the staging window" "$T/t1.txt"
lacks "and goes on through the pipeline" "skipped at staging" "$T/t1.txt"
engram --store "$A" --now "$NOW" trace blank >"$T/t2.txt"
contains "trace of an empty memory" "diagnosis: skipped at staging: empty_content" "$T/t2.txt"
engram --store "$A" --now "$NOW" trace nope 2>"$T/t3.txt"
check "unknown id exits 2" 2 $?
contains "unknown id message" 'memory "nope" not found in store' "$T/t3.txt"
printf '%s\n' '{"id":"late","content":"x","created_at":"never"}' >"$T/bad-import.jsonl"
engram --store "$A" import -q "$T/bad-import.jsonl" 2>/dev/null
engram --store "$A" --now "$NOW" trace late >"$T/t7.txt"
contains "trace of a row rejected at import" "diagnosis: rejected at ingest: " "$T/t7.txt"
# a reject of the whole line has no field: its reason follows the reference alone (it printed
# "(...): : not a JSON object")
printf '%s\n' '[1,2]' >"$T/bad-line.jsonl"
engram --store "$A" import -q "$T/bad-line.jsonl" 2>/dev/null
engram --store "$A" --now "$NOW" trace "$T/bad-line.jsonl:1" >"$T/t7l.txt"
contains "trace of a whole-line reject names no field" \
  "rejected at ingest (import:$T/bad-line.jsonl $T/bad-line.jsonl:1): not a JSON object" "$T/t7l.txt"
# an integer id is the id's text, in import as in trace (trace compared it as a number: not found)
printf '%s\n' '{"id":4242,"content":"x","created_at":"never"}' >"$T/bad-import-int.jsonl"
engram --store "$A" import -q "$T/bad-import-int.jsonl" 2>/dev/null
engram --store "$A" --now "$NOW" trace 4242 >"$T/t7i.txt" 2>&1
contains "trace of an import line with an integer id" "diagnosis: rejected at ingest: " "$T/t7i.txt"
# an id that is not UTF-8, quarantined at ingest from a SQLite source: traced, its bytes shown
# as U+FFFD (the trace failed with "out of memory", jansson refusing the id)
Q="$T/q.db"
sqlite3 "$T/bad-src.db" "CREATE TABLE memories (id TEXT PRIMARY KEY, content TEXT, created_at TEXT, updated_at TEXT, metadata TEXT); INSERT INTO memories VALUES (CAST(X'6964FF' AS TEXT), 'an id that is not UTF-8', '2026-11-10T10:00:00Z', NULL, NULL)"
engram --store "$Q" init -q
engram --store "$Q" --source "sqlite:$T/bad-src.db" --now "$NOW" ingest -q 2>/dev/null
engram --store "$Q" --now "$NOW" trace --json "$(printf 'id\xff')" >"$T/t11.json" 2>"$T/t11.err"
check "trace of a quarantined id that is not UTF-8 exits 0" 0 $?
check "its --json is valid UTF-8 with U+FFFD for the bad byte" "$(printf 'id\xef\xbf\xbd')" \
  "$(iconv -f UTF-8 -t UTF-8 "$T/t11.json" >/dev/null 2>&1 && jq -r .memory_id "$T/t11.json" 2>&1)"
check "and names the quarantined row" "$(printf 'rejected at ingest (sqlite id\xef\xbf\xbd): id: invalid UTF-8')" \
  "$(jq -r '.steps[0].line' "$T/t11.json" 2>&1)"
# the ingest's warning shows such ids as JSON strings: written raw, an ESC reached the terminal
# and a line break split the warning; a plain id is shown as it is
sqlite3 "$T/bad-src.db" "INSERT INTO memories VALUES ('esc' || char(27) || '[31m' || char(10) || 'x', 'y', 'never', NULL, NULL), ('plain-id', 'z', 'never', NULL, NULL)"
engram --store "$T/q2.db" --source "sqlite:$T/bad-src.db" --now "$NOW" ingest >/dev/null 2>"$T/q2.err"
contains "an id with control characters is escaped in ingest's warning" \
  'source row "esc\u001b[31m\nx": created_at: not a timestamp (quarantined)' "$T/q2.err"
contains "and one not UTF-8, with U+FFFD" "$(printf 'source row "id\357\277\275": id: invalid UTF-8')" "$T/q2.err"
contains "a plain id is shown as it is" 'source row plain-id: created_at' "$T/q2.err"
check "no ESC in the warnings" 0 "$(LC_ALL=C grep -c "$(printf '\033')" "$T/q2.err")"
engram --store "$Q" --now "$NOW" trace "$(printf 'id\xff')" >"$T/t11.txt" 2>&1
contains "in text too" "diagnosis: rejected at ingest: invalid UTF-8" "$T/t11.txt"
# a long id quarantined at ingest is kept whole: trace finds it (the quarantine kept its first
# 60 bytes, and trace said "not found")
long_id=$(printf 'long-%0100d' 7)
sqlite3 "$T/bad-src.db" "INSERT INTO memories VALUES ('$long_id', CAST(X'FF' AS TEXT), '2026-11-10T10:00:00Z', NULL, NULL)"
engram --store "$Q" --source "sqlite:$T/bad-src.db" --now "$NOW" ingest -q 2>/dev/null
engram --store "$Q" --now "$NOW" trace "$long_id" >"$T/t12.txt" 2>&1
contains "trace of a quarantined row with a long id" "diagnosis: rejected at ingest: invalid UTF-8" "$T/t12.txt"
engram --store "$A" --now "$NOW" remember --id fresh "A new thought about kites" >/dev/null
engram --store "$A" --now "$NOW" trace fresh >"$T/t8.txt"
contains "trace of a memory not ingested yet" 'diagnosis: not ingested yet: `engram ingest` makes it recallable, `engram run` also takes it through the pipeline' "$T/t8.txt"
# a memory dated after now (clock skew, a scheduled note) is staged but not taken by a run at
# now: trace says when a run takes it (regression: "waiting for the next `engram run`", which
# a run at the wall clock does not end)
engram --store "$T/f.db" --now 2027-03-01T10:00:00Z remember --id later "A note, dated ahead" >/dev/null
engram --store "$T/f.db" --now "$NOW" remember --id today "A note of today" >/dev/null
engram --store "$T/f.db" --now "$NOW" run -q 2>/dev/null
engram --store "$T/f.db" --now "$NOW" trace later >"$T/t8f.txt"
contains "trace of a memory dated after now says a run at its time takes it" \
  'diagnosis: staged, dated after now (created 2027-03-01T10:00:00Z): the first `engram run` whose --now is at or after that takes it' "$T/t8f.txt"
# a memory deleted at the source: the store's copy, not the source, is what trace found
sqlite3 "$A" "UPDATE memory SET deleted_at_source = 1795000000000000 WHERE id = 'blank'"
engram --store "$A" --now "$NOW" trace blank >"$T/t9.txt"
contains "trace of a memory deleted at the source says it found the store's copy" \
  "gone from the source, the store's copy:" "$T/t9.txt"
contains "and why it stopped" "diagnosis: deleted at the source" "$T/t9.txt"
sqlite3 "$A" "UPDATE memory SET deleted_at_source = NULL WHERE id = 'blank'"
# as documented (remember, man page): recall does not find it before an ingest, and finds it after
# one, staged, by its words alone (no spread before the next run)
check "a remembered note is not recalled before an ingest" 0 \
  "$(engram --store "$A" --now "$NOW" recall --json --no-rehearse kites | jq '[.results[] | select(.memory_id == "fresh")] | length')"
engram --store "$A" --now "$NOW" ingest -q || fail "ingest of the remembered note"
engram --store "$A" --now "$NOW" recall --json --no-rehearse kites >"$T/r-fresh.json"
check "after an ingest it is recalled, staged, with no spread" "staged 0" \
  "$(jq -r '.results[] | select(.memory_id == "fresh") | "\(.status) \(.spread)"' "$T/r-fresh.json")"
# a late arrival (created before the last run's now, SPEC §2) says so in text and JSON
engram --store "$A" --now 2026-11-15T00:00:00Z remember -q --id tardy "A note about the kite string that came in late"
engram --store "$A" --now 2026-11-21T00:00:00Z run -q || fail "run with a late arrival"
check "the store flags it late" 1 "$(count "$A" "SELECT late FROM memory WHERE id = 'tardy'")"
engram --store "$A" --now 2026-11-21T00:00:00Z trace tardy >"$T/t9.txt"
contains "trace shows a late arrival" "; arrived late at 2026-11-20T00:00:00" "$T/t9.txt"
engram --store "$A" --now 2026-11-21T00:00:00Z trace --json tardy >"$T/t9.json"
check "trace --json flags it late" true "$(jq '.steps[0].late' "$T/t9.json")"
check "with its arrival" 2026-11-20T00:00:00 "$(jq -r '.steps[0].arrived_at[0:19]' "$T/t9.json")"
engram --store "$A" --now 2026-11-21T00:00:00Z trace --json harbour >"$T/t10.json"
check "a memory that came in time is not late" false "$(jq '.steps[0].late' "$T/t10.json")"
engram --store "$A" --now "$NOW" trace --json harbour >"$T/t4.json"
check "trace --json steps" "source staging features working_memory short_term consolidation long_term activation" \
  "$(jq -r '[.steps[].step] | join(" ")' "$T/t4.json")"
check "trace --json has a diagnosis" true "$(jq '.diagnosis | length > 0' "$T/t4.json")"

# consolidated and forgotten memories of the sample data
D="$T/d.db"
engram --store "$D" init -q
engram --store "$D" import -q "$ENGRAM_SRC/data/sample-memories.jsonl"
engram --store "$D" --now "$NOW" run -q
cons=$(count "$D" "SELECT m.id FROM memory m JOIN pipeline p ON p.memory_rowid = m.rowid WHERE p.status = 'consolidated' ORDER BY m.id LIMIT 1")
forg=$(count "$D" "SELECT m.id FROM memory m JOIN pipeline p ON p.memory_rowid = m.rowid WHERE p.status = 'forgotten' ORDER BY m.id LIMIT 1")
engram --store "$D" --now "$NOW" trace "$cons" >"$T/t5.txt"
check "trace of a consolidated memory ends with long-term memory" "diagnosis: reached long-term memory" "$(tail -1 "$T/t5.txt")"
contains "it shows the long-term step" "long-term       category" "$T/t5.txt"
# its long-term step in JSON is the `ltm` view's row (docs/adr/0012): the rank, strength and
# age the view computes at the checkpoint, for the record deepest in a column (ties included)
read -r deep rank rs age < <(sqlite3 -separator ' ' "$D" "SELECT m.id, l.column_rank, printf('%.6g', l.retrieval_strength), l.memory_age FROM ltm l JOIN memory m ON m.rowid = l.memory_rowid ORDER BY l.column_rank DESC, m.id LIMIT 1")
engram --store "$D" --now "$NOW" trace --json "$deep" >"$T/t7.json"
check "trace --json's long-term step is the view's row" "$rank $rs $age" \
  "$(jq -r '.steps[] | select(.step == "long_term") | "\(.column_rank) \(.retrieval_strength) \(.memory_age)"' "$T/t7.json")"
engram --store "$D" --now "$NOW" trace "$forg" >"$T/t6.txt"
contains "trace of a forgotten memory" "diagnosis: forgotten after" "$T/t6.txt"
contains "with its pre-strength" "pre-strength" "$T/t6.txt"
# with wm.jitter each tick has its own capacity: trace gives the range, not wm.capacity as if it
# were that tick's ("best slot 8 of 7" was possible)
printf 'wm.jitter = 2\n' >"$T/jitter.conf"
cp "$D" "$T/jit.db"
engram --config "$T/jitter.conf" --store "$T/jit.db" --now "$NOW" run -q
jid=$(count "$T/jit.db" "SELECT m.id FROM memory m JOIN pipeline p ON p.memory_rowid = m.rowid WHERE p.wm_ticks > 0 ORDER BY m.id LIMIT 1")
engram --config "$T/jitter.conf" --store "$T/jit.db" --now "$NOW" trace "$jid" >"$T/t8.txt"
contains "trace gives the capacity's range under jitter" " of 7±2, best priority" "$T/t8.txt"
# the full-text index's term counts (fts_term, which recall's BM25 reads: store/fts.h) follow an
# edited memory: its old words leave them, its new ones enter them
printf '%s\n' '{"id":"paint","content":"Remember to buy blue varnish for the garden fence.","created_at":"2026-11-10T10:01:00Z","updated_at":"2026-11-12T10:00:00Z"}' >"$T/edit.jsonl"
engram --store "$A" import -q "$T/edit.jsonl"
engram --store "$A" --now "$NOW" run -q || fail "run after an edit"
check "an edited memory's old word leaves the term counts" "" "$(sqlite3 "$A" "SELECT docs FROM fts_term WHERE term = 'paint'")"
check "its new word enters them" 1 "$(sqlite3 "$A" "SELECT docs FROM fts_term WHERE term = 'varnish'")"
check "the term counts are the index's own after the edit" 0 "$(fts_terms_differ "$A")"
finish

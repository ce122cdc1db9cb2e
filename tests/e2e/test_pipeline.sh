#!/usr/bin/env bash
# The pipeline end to end on the embedded store (no PostgreSQL needed): on the bundled sample
# every stage is reached; two runs on the same input give identical outputs; re-running at the
# same now changes nothing; running up to T in several steps equals one run up to T; --rebuild
# equals a new store.
. "$(dirname "$0")/lib.sh"
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
positive() { if [ "${2:-0}" -gt 0 ] 2>/dev/null; then ok "$1 ($2)"; else fail "$1: got [${2:-}]"; fi; }
NOW=2026-11-20T00:00:00Z
SAMPLE="$ENGRAM_SRC/data/sample-memories.jsonl"

fresh() { # STORE: a new store with the sample imported
  E --store "$1" init -q && E --store "$1" import "$SAMPLE" -q
  return 0
}
# the pipeline's outputs, in a stable order, without run timestamps
dump() {
  sqlite3 "$1" <<'SQL'
.mode list
SELECT 'p', m.id, p.status, p.wm_ticks, p.wm_best_slot, round(p.wm_best_priority, 9), p.encoded_at,
       p.episode_id, round(p.stm_strength, 9), p.replays, round(p.pre_strength, 9),
       p.consolidated_at, p.forgotten_at FROM pipeline p JOIN memory m ON m.rowid = p.memory_rowid ORDER BY m.id;
SELECT 'j', m.id, j.seq, j.at, j.stage, j.event, j.detail FROM journey j JOIN memory m ON m.rowid = j.memory_rowid ORDER BY m.id, j.seq;
SELECT 'a', min(ma.id, mb.id), max(ma.id, mb.id), round(weight, 9), coact, last_at FROM assoc JOIN memory ma ON ma.rowid = a JOIN memory mb ON mb.rowid = b ORDER BY 2, 3;
SELECT 'c', ca.name, cb.name, round(weight, 9), coact FROM concept_edge JOIN concept ca ON ca.concept_id = a JOIN concept cb ON cb.concept_id = b ORDER BY 2, 3;
SELECT 'e', episode_id, started_at, ended_at, size, goal FROM episode ORDER BY 2;
SELECT 'l', m.id, l.semantic_category, l.cortical_region, l.column_rank, round(l.retrieval_strength, 9), l.consolidation_state FROM ltm l JOIN memory m ON m.rowid = l.memory_rowid ORDER BY 2;
SELECT 'r', min(ma.id, mb.id), max(ma.id, mb.id), at, bridge, round(strength, 9) FROM creative JOIN memory ma ON ma.rowid = a JOIN memory mb ON mb.rowid = b ORDER BY 4, 2, 3;
SELECT 'v', m.id, p.at, p.kind FROM presentation p JOIN memory m ON m.rowid = p.memory_rowid ORDER BY 2, 3, 4;
SQL
}

fresh "$T/a.db"
E --store "$T/a.db" --now "$NOW" run -q || fail "run on the sample"
stats=$(E --store "$T/a.db" stats --json)
num() { echo "$stats" | sed -E "s/.*\"$1\":([0-9]+).*/\\1/"; }
# --json writes each real in its shortest exact form: the run's timings (recorded with one
# decimal) come back as they were written, 4.1 and not jansson's 4.0999999999999996
check "stats --json writes reals in their shortest form" \
  "\"ms\":$(sqlite3 "$T/a.db" "SELECT json_extract(counts, '$.ms') FROM runs WHERE command = 'pipeline' ORDER BY run_id DESC LIMIT 1")" \
  "$(grep -o '"last_run":{.*' <<<"$stats" | grep -o '"ms":{[^}]*}' | head -1)"
positive "memories reach working memory" "$(sqlite3 "$T/a.db" 'SELECT count(*) FROM pipeline WHERE wm_ticks > 0')"
positive "episodes are formed" "$(num episodes)"
positive "memories are consolidated" "$(sqlite3 "$T/a.db" "SELECT count(*) FROM pipeline WHERE status = 'consolidated'")"
positive "long-term records exist" "$(num long_term)"
positive "some memories are forgotten" "$(sqlite3 "$T/a.db" "SELECT count(*) FROM pipeline WHERE status = 'forgotten'")"
positive "the concept graph has weighted edges" "$(sqlite3 "$T/a.db" 'SELECT count(*) FROM concept_edge WHERE weight > 0')"
positive "REM recorded creative associations" "$(num creative_associations)"
positive "replays are presentations" "$(sqlite3 "$T/a.db" "SELECT count(*) FROM presentation WHERE kind = 'replayed'")"
check "every staged memory has exactly one pipeline status" \
  "$(sqlite3 "$T/a.db" "SELECT count(*) FROM memory WHERE status = 'staged'")" \
  "$(sqlite3 "$T/a.db" 'SELECT count(DISTINCT memory_rowid) FROM pipeline')"
check "every memory in the pipeline has a journey" 0 \
  "$(sqlite3 "$T/a.db" 'SELECT count(*) FROM pipeline p WHERE NOT EXISTS (SELECT 1 FROM journey j WHERE j.memory_rowid = p.memory_rowid)')"
check "Hebbian weights stay in [0, 1)" 0 \
  "$(sqlite3 "$T/a.db" 'SELECT (SELECT count(*) FROM assoc WHERE weight < 0 OR weight >= 1) + (SELECT count(*) FROM concept_edge WHERE weight < 0 OR weight >= 1)')"

# a memory's concepts live on its pipeline row; each concept's memories in posting chunks
# (rowid >> 12; blobs of 8-byte little-endian rowids, newest first); memory_concept is a view
# over the first
check "memory_concept lists each memory's concepts once" 0 \
  "$(sqlite3 "$T/a.db" 'SELECT count(*) FROM (SELECT concept_id, memory_rowid FROM memory_concept GROUP BY 1, 2 HAVING count(*) > 1)')"
check "every concept's posting list holds as many memories as memory_concept gives it" 0 \
  "$(sqlite3 "$T/a.db" 'SELECT count(*) FROM concept c WHERE coalesce((SELECT sum(length(p.postings)) FROM concept_posting p WHERE p.concept_id = c.concept_id), 0) <> 8 * c.memories OR c.memories <> (SELECT count(*) FROM memory_concept mc WHERE mc.concept_id = c.concept_id)')"
check "every posting chunk holds only its rowids" 0 \
  "$(sqlite3 "$T/a.db" 'SELECT count(*) FROM concept_posting p WHERE length(p.postings) = 0 OR length(p.postings) % 8 <> 0')"
le64() { # hex of 8 little-endian bytes -> decimal
  local h=$1 r="" i
  for i in 14 12 10 8 6 4 2 0; do r="$r${h:$i:2}"; done
  echo $((16#$r))
}
cid=$(sqlite3 "$T/a.db" 'SELECT concept_id FROM concept ORDER BY memories DESC, concept_id LIMIT 1')
want=$(sqlite3 "$T/a.db" "SELECT group_concat(memory_rowid, ' ') FROM (SELECT memory_rowid FROM memory_concept WHERE concept_id = $cid ORDER BY memory_rowid DESC LIMIT 3)")
got=""
for k in 0 1 2; do
  got="$got${got:+ }$(le64 "$(sqlite3 "$T/a.db" "SELECT hex(substr(postings, $((k * 8 + 1)), 8)) FROM concept_posting WHERE concept_id = $cid ORDER BY chunk DESC LIMIT 1")")"
done
check "a posting list starts with the concept's newest memories" "$want" "$got"

# posting chunks over more than one chunk: the same sample in a store whose rowids start at 4001
# (after a row gone from the source), so that memories fall in chunks 0 and 1
E --store "$T/c.db" init -q
sqlite3 "$T/c.db" "INSERT INTO memory (rowid, id, source_system, fingerprint, status, skip_reason, first_seen_at, deleted_at_source) VALUES (4000, 'gone', 'test', 0, 'skipped', 'null_content', 0, 0)"
E --store "$T/c.db" import "$SAMPLE" -q
E --store "$T/c.db" --now "$NOW" run -q || fail "run on the sample at rowids from 4001"
# (episode ids are their opener's rowid: left out, in journeys too)
by_ids() { dump "$1" | awk -F'|' -v OFS='|' '$1 == "e" { next } $1 == "p" { $8 = "" } { print }' | sed -E 's/episode [0-9]+/episode N/g' | md5sum; }
check "the outputs do not depend on the rowids" "$(by_ids "$T/a.db")" "$(by_ids "$T/c.db")"
# rowids against time: the sample imported last line first, so that every table's keys come out
# of the model in reverse rowid order and the save sorts them (by radix, beyond 512 rows)
tac "$SAMPLE" >"$T/reversed.jsonl"
E --store "$T/d.db" init -q
E --store "$T/d.db" import "$T/reversed.jsonl" -q
E --store "$T/d.db" --now "$NOW" run -q || fail "run on the sample imported in reverse"
check "the outputs do not depend on the import order" "$(by_ids "$T/a.db")" "$(by_ids "$T/d.db")"
rm -f "$T/d.db"*
check "memories sit in two posting chunks" "0 1" "$(sqlite3 "$T/c.db" 'SELECT group_concat(chunk, " ") FROM (SELECT DISTINCT chunk FROM concept_posting ORDER BY 1)')"
check "every concept's chunks hold as many memories as memory_concept gives it" 0 \
  "$(sqlite3 "$T/c.db" 'SELECT count(*) FROM concept c WHERE coalesce((SELECT sum(length(p.postings)) FROM concept_posting p WHERE p.concept_id = c.concept_id), 0) <> 8 * c.memories')"
misplaced=0
while IFS='|' read -r chunk first last; do
  f=$(le64 "$first") l=$(le64 "$last")
  if [ $((f >> 12)) != "$chunk" ] || [ $((l >> 12)) != "$chunk" ] || [ "$f" -lt "$l" ]; then misplaced=$((misplaced + 1)); fi
done < <(sqlite3 "$T/c.db" 'SELECT chunk, hex(substr(postings, 1, 8)), hex(substr(postings, -8, 8)) FROM concept_posting')
check "each chunk holds its own rowids, newest first" 0 "$misplaced"
for q in "garden pond" "replication lag" "plumber"; do
  check "recall of \"$q\" does not depend on the rowids" \
    "$(E --store "$T/a.db" --now "$NOW" recall --no-rehearse --k 5 "$q")" \
    "$(E --store "$T/c.db" --now "$NOW" recall --no-rehearse --k 5 "$q")"
done

# the watermark does not depend on how the store's path is spelled: a copied store, or the same
# store named by a relative and then an absolute path, reads only the rows near its watermark
total=$(sqlite3 "$T/a.db" 'SELECT count(*) FROM memories')
cp "$T/a.db" "$T/moved.db"
read_moved=$(cd "$T" && E --store moved.db --now "$NOW" ingest --json | jq -r .read)
read_abs=$(E --store "$T/moved.db" --now "$NOW" ingest --json | jq -r .read)
if [ "${read_moved:-x}" -lt $((total / 2)) ] 2>/dev/null && [ "${read_abs:-x}" -lt $((total / 2)) ] 2>/dev/null; then
  ok "a moved store, named two ways, keeps its watermark (read $read_moved and $read_abs of $total rows)"
else
  fail "a moved store read [$read_moved] and [$read_abs] of $total rows: its watermark was lost"
fi
rm -f "$T/moved.db"*

# a store of schema 3 (memory_concept a table) keeps its recall through migration 4: the
# migration carries each memory's concepts and each concept's postings over before the next run
# (and migration 8 cuts them into chunks: the store of rowids from 4001 has two)
cp "$T/c.db" "$T/v3.db"
sqlite3 "$T/v3.db" <<'SQL'
DROP VIEW staging;
DELETE FROM meta WHERE key = 'staged_at';
DROP INDEX memory_status;
CREATE INDEX memory_status ON memory(status);
ALTER TABLE memory ADD COLUMN activation_strength REAL;
ALTER TABLE memory ADD COLUMN importance_score REAL;
CREATE INDEX memory_activation ON memory(activation_strength);
DROP INDEX memory_arrived;
DROP INDEX memory_input;
DROP TRIGGER memory_inputs_changed;
DROP TRIGGER memory_inputs_deleted;
DELETE FROM sim_state WHERE key = 'inputs';
DROP INDEX memory_updated;
DROP INDEX presentation_recalled;
DROP TRIGGER memories_logged_insert;
DROP TRIGGER memories_logged_update;
DROP TABLE memories_log;
DELETE FROM meta WHERE key = 'memories_log_read';
CREATE TABLE mc3 AS SELECT concept_id, memory_rowid FROM memory_concept;
DROP VIEW memory_concept;
CREATE TABLE memory_concept (concept_id INTEGER NOT NULL, memory_rowid INTEGER NOT NULL,
  PRIMARY KEY (concept_id, memory_rowid)) WITHOUT ROWID;
INSERT INTO memory_concept SELECT concept_id, memory_rowid FROM mc3;
DROP TABLE mc3;
CREATE INDEX memory_concept_memory ON memory_concept(memory_rowid);
ALTER TABLE pipeline DROP COLUMN concept_ids;
ALTER TABLE memory DROP COLUMN source_key;
ALTER TABLE runs DROP COLUMN pid;
ALTER TABLE runs DROP COLUMN host;
DROP TABLE concept_posting;
-- the long-term records as a table with every column, as schemas before 16 stored them
CREATE TABLE ltm16 AS SELECT * FROM ltm;
DROP VIEW ltm;
DROP TABLE ltm_record;
CREATE TABLE ltm (
  memory_rowid INTEGER PRIMARY KEY, semantic_category TEXT, knowledge_type TEXT,
  cortical_region TEXT, abstraction_level INTEGER, minicolumn_id INTEGER,
  macrocolumn_id INTEGER, column_rank INTEGER, retrieval_strength REAL, memory_age TEXT,
  consolidation_state TEXT);
INSERT INTO ltm SELECT * FROM ltm16;
DROP TABLE ltm16;
-- no count of the full-text index's terms (migration 19)
DROP TABLE fts_term;
-- a row outside the staging window, as schemas before 13 stored it: without concepts or features
INSERT INTO memory (rowid, id, source_system, content, fingerprint, created_at, status,
  skip_reason, first_seen_at, processed_at)
  VALUES (9000, 'old-quokka', 'test', 'Notes on the Zanzibar quokka expedition', 0,
  1704103200000000, 'skipped', 'out_of_window', 0, 0);
PRAGMA user_version = 3;
SQL
# a migration whose carrying-over step fails (a trigger injects it): the store stays at schema
# 3, whole, with an error that names the migration; once the cause is gone it migrates
cp "$T/v3.db" "$T/v3b.db"
sqlite3 "$T/v3b.db" "CREATE TRIGGER broken BEFORE UPDATE ON concept BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
err=$(E --store "$T/v3b.db" stats 2>&1)
st=$?
check "a failing migration stops the command (exit 2)" 2 "$st"
case "$err" in
*"migration 4"*"injected failure"*) ok "and names the migration and the cause" ;;
*) fail "the error does not name migration 4 and the cause: [$err]" ;;
esac
check "the store stays at schema 3" 3 "$(sqlite3 "$T/v3b.db" 'PRAGMA user_version')"
check "with its memory_concept table" "table" "$(sqlite3 "$T/v3b.db" "SELECT type FROM sqlite_master WHERE name = 'memory_concept'")"
sqlite3 "$T/v3b.db" "DROP TRIGGER broken"
E --store "$T/v3b.db" stats >/dev/null || fail "stats after the cause is gone"
check "then it migrates" "$(sqlite3 "$T/a.db" 'PRAGMA user_version')" "$(sqlite3 "$T/v3b.db" 'PRAGMA user_version')"
rm -f "$T/v3b.db"*
for q in "garden pond" "replication lag" "plumber"; do
  check "recall of \"$q\" is the same after migrating a schema-3 store" \
    "$(E --store "$T/a.db" --now "$NOW" recall --no-rehearse --k 5 "$q")" \
    "$(E --store "$T/v3.db" --now "$NOW" recall --no-rehearse --k 5 "$q")"
done
check "the migrated store is at the latest schema" "$(sqlite3 "$T/a.db" 'PRAGMA user_version')" "$(sqlite3 "$T/v3.db" 'PRAGMA user_version')"
check "its long-term records read the same through the ltm view (migration 16)" \
  "$(sqlite3 "$T/c.db" 'SELECT * FROM ltm ORDER BY 1' | md5sum)" \
  "$(sqlite3 "$T/v3.db" 'SELECT * FROM ltm ORDER BY 1' | md5sum)"
check "the migrated memory_concept view has every pair" \
  "$(sqlite3 "$T/c.db" 'SELECT count(*) FROM memory_concept')" "$(sqlite3 "$T/v3.db" 'SELECT count(*) FROM memory_concept')"
check "the migrated posting chunks are the ones a run writes" \
  "$(sqlite3 "$T/c.db" 'SELECT concept_id, chunk, hex(postings) FROM concept_posting ORDER BY 1, 2' | md5sum)" \
  "$(sqlite3 "$T/v3.db" 'SELECT concept_id, chunk, hex(postings) FROM concept_posting ORDER BY 1, 2' | md5sum)"
# migration 13: the rows outside the window get the pipeline's inputs at the next run, once
check "a row outside the window stored without concepts is marked to be restaged" 1 \
  "$(sqlite3 "$T/v3.db" "SELECT count(*) FROM meta WHERE key = 'restage_out_of_window'")"
E --store "$T/v3.db" --now "$NOW" run -q || fail "run after migrating"
check "the next run gives it concepts and features, and the pipeline takes it" "1|1|1" \
  "$(sqlite3 "$T/v3.db" "SELECT m.concepts LIKE '%quokka%', m.importance IS NOT NULL, count(p.memory_rowid) FROM memory m LEFT JOIN pipeline p ON p.memory_rowid = m.rowid WHERE m.id = 'old-quokka'")"
check "and it stays outside the staging window" "skipped|out_of_window" \
  "$(sqlite3 "$T/v3.db" "SELECT status || '|' || skip_reason FROM memory WHERE id = 'old-quokka'")"
check "the mark is gone" 0 "$(sqlite3 "$T/v3.db" "SELECT count(*) FROM meta WHERE key = 'restage_out_of_window'")"
rm -f "$T/v3.db"*

dump "$T/a.db" >"$T/a.txt"
fresh "$T/b.db"
E --store "$T/b.db" --now "$NOW" run -q
dump "$T/b.db" >"$T/b.txt"
if cmp -s "$T/a.txt" "$T/b.txt"; then ok "two runs on the same input give identical outputs ($(wc -l <"$T/a.txt") rows)"; else fail "two runs differ"; diff "$T/a.txt" "$T/b.txt" | head -5; fi

rerun=$(E --store "$T/a.db" --now "$NOW" run --json)
dump "$T/a.db" >"$T/a2.txt"
if cmp -s "$T/a.txt" "$T/a2.txt"; then ok "re-running at the same now changes nothing"; else fail "re-running changed the outputs"; diff "$T/a.txt" "$T/a2.txt" | head -5; fi
# ... and writes nothing: the save compares the computed rows with the stored ones
check "re-running at the same now writes no output row" '"written":0,"deleted":0,"tables_rewritten":0' \
  "$(grep -o '"written":[0-9]*,"deleted":[0-9]*,"tables_rewritten":[0-9]*' <<<"$rerun")"

fresh "$T/k.db"
for t in 2026-07-01T00:00:00Z 2026-08-15T12:34:56Z 2026-10-01T00:00:00Z "$NOW"; do
  E --store "$T/k.db" --now "$t" run -q || fail "step run at $t"
done
dump "$T/k.db" >"$T/k.txt"
if cmp -s "$T/a.txt" "$T/k.txt"; then ok "running up to T in 4 steps equals one run up to T"; else fail "k steps differ from one run"; diff "$T/a.txt" "$T/k.txt" | head -5; fi
# the staging columns too: a step restages only what depends on now (and the window) of the
# rows it staged before, and ends where staging everything at T ends
E --store "$T/a.db" --now "$NOW" export --what staging >"$T/a.csv"
E --store "$T/k.db" --now "$NOW" export --what staging >"$T/k.csv"
if cmp -s "$T/a.csv" "$T/k.csv"; then ok "staging after 4 steps equals staging in one run ($(wc -l <"$T/a.csv") lines)"; else fail "staging after k steps differs"; diff "$T/a.csv" "$T/k.csv" | head -5; fi

E --store "$T/k.db" --now "$NOW" run --rebuild -q
dump "$T/k.db" >"$T/r.txt"
if cmp -s "$T/a.txt" "$T/r.txt"; then ok "--rebuild equals a new store"; else fail "--rebuild differs from a new store"; diff "$T/a.txt" "$T/r.txt" | head -5; fi

# a memory that arrives after a run but was created before it is late: processed at arrival
E --store "$T/l.db" init -q
printf '%s\n' '{"id":"early","content":"Planning the garden pond with Maya","created_at":"2026-11-01T10:00:00Z"}' >"$T/l1.jsonl"
E --store "$T/l.db" import "$T/l1.jsonl" -q
E --store "$T/l.db" --now 2026-11-10T00:00:00Z run -q
printf '%s\n' '{"id":"late","content":"Maya found a leak in the garden pond","created_at":"2026-11-05T10:00:00Z"}' >"$T/l2.jsonl"
E --store "$T/l.db" import "$T/l2.jsonl" -q
E --store "$T/l.db" --now 2026-11-12T00:00:00Z run -q
check "a late arrival is flagged" "late|1|2026-11-10T00:00:00Z" \
  "$(sqlite3 "$T/l.db" "SELECT id, late, strftime('%Y-%m-%dT%H:%M:%SZ', arrived_at / 1000000, 'unixepoch') FROM memory WHERE id = 'late'")"
check "a memory on time is not" "early|0" "$(sqlite3 "$T/l.db" "SELECT id, late FROM memory WHERE id = 'early'")"
check "the late memory was presented at its arrival" "1" \
  "$(sqlite3 "$T/l.db" "SELECT count(*) FROM presentation p JOIN memory m ON m.rowid = p.memory_rowid WHERE m.id = 'late' AND p.kind = 'created' AND p.at = m.arrived_at")"

# a run whose full-text indexing (on its own thread, beside the simulation) fails: an error that
# says why, and nothing of the run is kept; the next run completes it
E --store "$T/x.db" init -q
head -300 "$SAMPLE" >"$T/x1.jsonl"
sed -n 301,400p "$SAMPLE" >"$T/x2.jsonl"
E --store "$T/x.db" import "$T/x1.jsonl" -q
E --store "$T/x.db" --now "$NOW" run -q
before=$(dump "$T/x.db" | md5sum)
E --store "$T/x.db" import "$T/x2.jsonl" -q
# (a row waiting in fts_pending, whose clean-up the trigger breaks)
sqlite3 "$T/x.db" "CREATE TRIGGER broken BEFORE DELETE ON fts_pending BEGIN SELECT RAISE(ABORT, 'injected failure'); END; INSERT INTO fts_pending VALUES (1)"
err=$(E --store "$T/x.db" --now 2026-11-21T00:00:00Z run -q 2>&1)
st=$?
check "a run whose full-text index fails exits 2" 2 "$st"
check "and says why" 'engram: error: store "'"$T/x.db"'": injected failure' "$err"
check "its ingest is rolled back" 300 "$(sqlite3 "$T/x.db" 'SELECT count(*) FROM memory')"
check "the outputs are the previous run's" "$before" "$(dump "$T/x.db" | md5sum)"
check "the runs table records the failure" "failed|injected failure" \
  "$(sqlite3 "$T/x.db" "SELECT outcome, substr(error, length(error) - 15) FROM runs ORDER BY run_id DESC LIMIT 1")"
sqlite3 "$T/x.db" "DROP TRIGGER broken"
E --store "$T/x.db" --now 2026-11-21T00:00:00Z run -q || fail "the run after the failure"
check "the next run completes it" 400 "$(sqlite3 "$T/x.db" 'SELECT count(*) FROM memory')"
check "every memory is in the full-text index" 0 \
  "$(sqlite3 "$T/x.db" "SELECT count(*) FROM memory m WHERE m.content <> '' AND NOT EXISTS (SELECT 1 FROM memory_fts f WHERE f.rowid = m.rowid)")"

# the ingest stages its work items (4,096 rows each) on two threads and stores them in the
# reader's order: 20,000 rows read from the store's own table get their rowids in that order
G="${ENGRAM_GEN:-$(dirname "$ENGRAM_BIN")/engram-gen}"
"$G" bench --n 20000 --seed 3 --end "$NOW" --span-days 30 --format jsonl >"$T/many.jsonl"
E --store "$T/many.db" init -q
E --store "$T/many.db" import "$T/many.jsonl" -q
cp "$T/many.db" "$T/many2.db"
# a first load reads the store's own table through the store's connection (no second
# connection), so that the store can write it once through a rollback journal; rows the source
# rejects (here 40 with invalid UTF-8, spread over the table) are handed over while the writer
# works on the same connection
sqlite3 "$T/many.db" "UPDATE memories SET content = CAST(X'66FF6F' AS TEXT) WHERE rowid % 500 = 7"
rep=$(E --store "$T/many.db" --now "$NOW" --json ingest)
check "ingest of 20,000 rows with 40 quarantined exits 1 (a warning)" 1 "$?"
check "a first load with no other connection to the store goes through a rollback journal" \
  '"rollback_journal":true' "$(grep -o '"rollback_journal":[a-z]*' <<<"$rep")"
check "and every row is accounted for: 19,960 stored, 40 quarantined" '19960|40' \
  "$(sqlite3 "$T/many.db" 'SELECT (SELECT count(*) FROM memory), (SELECT count(*) FROM quarantine)')"
check "rows are stored in the order they were read, across the stagers' work items" \
  "$(sqlite3 "$T/many.db" 'SELECT id FROM memories WHERE rowid % 500 <> 7 ORDER BY rowid' | md5sum)" \
  "$(sqlite3 "$T/many.db" 'SELECT id FROM memory ORDER BY rowid' | md5sum)"
check "the store is back in WAL mode" wal "$(sqlite3 "$T/many.db" 'PRAGMA journal_mode')"
# another connection holding the store open (a reader: engram serve, a dashboard) keeps it in
# WAL mode; the load reads through its own connection then, and stores the same
mkfifo "$T/hold"
sqlite3 "$T/many2.db" <"$T/hold" >/dev/null &
holder=$!
exec 7>"$T/hold"
echo "SELECT count(*) FROM memories;" >&7
sleep 0.5
rep=$(E --store "$T/many2.db" --now "$NOW" --json ingest) || fail "ingest with a reader"
check "with a reader holding the store open, the first load goes through the WAL" \
  '"rollback_journal":false' "$(grep -o '"rollback_journal":[a-z]*' <<<"$rep")"
exec 7>&-
wait "$holder" 2>/dev/null || true
check "and stores every row, in the order read" \
  "$(sqlite3 "$T/many2.db" 'SELECT id FROM memories ORDER BY rowid' | md5sum)" \
  "$(sqlite3 "$T/many2.db" 'SELECT id FROM memory ORDER BY rowid' | md5sum)"
# while a first load holds the store through its rollback journal (simulated: another connection
# in DELETE mode with the write lock taken), a reader does not fail on the switch to WAL mode
# (which needs the file to itself and which SQLite does not wait for): it reads beside the writer
E --store "$T/held.db" init -q
E --store "$T/held.db" import "$SAMPLE" -q
mkfifo "$T/hold2"
sqlite3 "$T/held.db" <"$T/hold2" >/dev/null 2>&1 &
holder=$!
exec 8>"$T/hold2"
printf 'PRAGMA journal_mode=DELETE;\nBEGIN IMMEDIATE;\nINSERT INTO meta VALUES (%s, 1);\n' "'held'" >&8
sleep 0.5
out=$(E --store "$T/held.db" stats 2>&1) && code=0 || code=$?
check "a reader of a store held through a rollback journal reads it (exit 0)" 0 "$code"
grep -q "could not switch to WAL" <<<"$out" && fail "the reader failed on the WAL switch: $out"
exec 8>&-
wait "$holder" 2>/dev/null || true
check "and the store is back in WAL mode at the next writer" wal \
  "$(E --store "$T/held.db" stats -q >/dev/null 2>&1; sqlite3 "$T/held.db" 'PRAGMA journal_mode')"
rm -f "$T/many.db"* "$T/many2.db"* "$T/held.db"*

# a store with nothing to run on: a run that says so, not a crash
E --store "$T/empty.db" init -q
check "a run over an empty store succeeds with no memories" '{"memories":0' \
  "$(E --store "$T/empty.db" --now "$NOW" run --json | grep -o '{"memories":0')"

# memories imported with times older than the embedded source's watermark are read by the next
# run, not only by --full (the table's change log has them); a row without times too
printf '%s\n' '{"id":"archive1","content":"Old notes about the garden pond pump","created_at":"2026-06-02T10:00:00Z"}' >"$T/arch.jsonl"
E --store "$T/l.db" import "$T/arch.jsonl" -q
E --store "$T/l.db" --now 2026-11-12T00:00:00Z run -q
check "an imported memory older than the watermark is ingested by the next run" "archive1|staged|1" \
  "$(sqlite3 "$T/l.db" "SELECT id, status, late FROM memory WHERE id = 'archive1'")"
E --store "$T/l.db" --now 2026-11-12T00:00:00Z run -q
check "the watermark is back at the newest row after that run" "2026-11-05T10:00:00Z" \
  "$(sqlite3 "$T/l.db" "SELECT strftime('%Y-%m-%dT%H:%M:%SZ', key_at / 1000000, 'unixepoch') FROM watermark WHERE source = 'embedded table=memories'")"
rm -f "$T/l.db"* 
E --store "$T/l.db" init -q
E --store "$T/l.db" import "$T/l1.jsonl" -q
E --store "$T/l.db" --now 2026-11-10T00:00:00Z run -q
E --store "$T/l.db" import "$T/l2.jsonl" -q
E --store "$T/l.db" --now 2026-11-12T00:00:00Z run -q

# the store's own table logs the rows written to it (migration 9): after a first read, a run
# reads only those, whatever their times, so an old row edited by hand is picked up without
# --full, and a run with nothing written reads nothing
rm -f "$T/g.db"*
fresh "$T/g.db"
E --store "$T/g.db" --now "$NOW" run -q
check "the change log is emptied by the run that read it" 0 "$(sqlite3 "$T/g.db" 'SELECT count(*) FROM memories_log')"
rep=$(E --store "$T/g.db" --now "$NOW" run --json)
check "a run with nothing written since reads nothing" '"change_log":true,"read":0' "$(grep -o '"change_log":[a-z]*,"read":[0-9]*' <<<"$rep")"
old=$(sqlite3 "$T/g.db" "SELECT id FROM memories WHERE created_at < '2026-07-01' AND content IS NOT NULL ORDER BY created_at LIMIT 1")
sqlite3 "$T/g.db" "UPDATE memories SET content = 'edited by hand: the garden pond pump' WHERE id = '$old'"
rep=$(E --store "$T/g.db" --now "$NOW" run --json)
check "an old row edited by hand is read by the next run" '"change_log":true,"read":1,"inserted":0,"updated":1' \
  "$(grep -o '"change_log":[a-z]*,"read":[0-9]*,"inserted":[0-9]*,"updated":[0-9]*' <<<"$rep")"
check "and its new content is stored" "edited by hand: the garden pond pump" \
  "$(sqlite3 "$T/g.db" "SELECT content FROM memory WHERE id = '$old'")"
rep=$(E --store "$T/g.db" --now "$NOW" ingest --full --json)
check "--full still reads every row" "$(sqlite3 "$T/g.db" 'SELECT count(*) FROM memories')" "$(jq -r .read <<<"$rep")"
rm -f "$T/g.db"*

# --rebuild equals a new store with the same memories, also when the store has a late arrival
# and a memory the rebuild's full read brings in for the first time (not late either: a new
# store has no checkpoint)
printf '%s\n' '{"id":"old","content":"The garden pond liner was ordered from the shop","created_at":"2026-10-02T10:00:00Z"}' >"$T/l3.jsonl"
E --store "$T/l.db" import "$T/l3.jsonl" -q
E --store "$T/l.db" --now 2026-11-12T00:00:00Z run --rebuild -q
E --store "$T/lf.db" init -q
cat "$T/l1.jsonl" "$T/l2.jsonl" "$T/l3.jsonl" >"$T/lf.jsonl"
E --store "$T/lf.db" import "$T/lf.jsonl" -q
E --store "$T/lf.db" --now 2026-11-12T00:00:00Z run -q
check "after --rebuild no memory is late" "0" "$(sqlite3 "$T/l.db" 'SELECT count(*) FROM memory WHERE late')"
if cmp -s <(dump "$T/l.db") <(dump "$T/lf.db"); then ok "--rebuild over late arrivals equals a new store"; else fail "--rebuild over late arrivals differs from a new store"; diff <(dump "$T/l.db") <(dump "$T/lf.db") | head -5; fi


# staging.language and staging.max_concepts shape every memory's concepts: changing one on a
# store that ran before makes the concepts anew (before, the stored ones stayed, even with
# --rebuild, and the run only said the configuration changed), so the store ends as a new store
# with that setting; changing it back ends as before
printf 'staging.max_concepts = 3\n' >"$T/c3.conf"
: >"$T/c0.conf"
rep=$(E --config "$T/c3.conf" --store "$T/a.db" --now "$NOW" run --json)
check "a changed staging.max_concepts recomputes" '"recomputed_because":"the configuration changed"' \
  "$(grep -o '"recomputed_because":"[^"]*"' <<<"$rep")"
fresh "$T/c3.db"
E --config "$T/c3.conf" --store "$T/c3.db" --now "$NOW" run -q
if cmp -s <(dump "$T/a.db") <(dump "$T/c3.db"); then ok "a changed staging.max_concepts gives what a new store with it gives"; else fail "a changed staging.max_concepts differs from a new store with it"; diff <(dump "$T/a.db") <(dump "$T/c3.db") | head -5; fi
E --config "$T/c0.conf" --store "$T/a.db" --now "$NOW" run -q
if cmp -s <(dump "$T/a.db") "$T/a.txt"; then ok "changing it back gives the first outputs again"; else fail "changing staging.max_concepts back differs"; diff <(dump "$T/a.db") "$T/a.txt" | head -5; fi
# an ingest with other settings leaves rows of two settings: the next run makes them all anew
printf '%s\n' '{"id":"extra","content":"Maya and Jonas repainted the garden shed door in bright blue","created_at":"2026-11-19T10:00:00Z"}' >"$T/x.jsonl"
E --store "$T/a.db" import "$T/x.jsonl" -q
E --config "$T/c3.conf" --store "$T/a.db" --now "$NOW" ingest -q
E --config "$T/c0.conf" --store "$T/a.db" --now "$NOW" run -q
fresh "$T/x.db"
E --store "$T/x.db" import "$T/x.jsonl" -q
E --config "$T/c0.conf" --store "$T/x.db" --now "$NOW" run -q
check "after an ingest with other settings, the run's concepts are those of a new store" "" \
  "$(diff <(sqlite3 "$T/a.db" 'SELECT id, concepts FROM memory ORDER BY id') <(sqlite3 "$T/x.db" 'SELECT id, concepts FROM memory ORDER BY id') | head -3)"
# concepts made by other rules (an older build's, EG_CONCEPT_RULES) are made anew too: a store
# whose concepts were made by rules 1, with one memory's concepts as those rules left them
check "the store records the rules and settings its concepts were made with" "rules " \
  "$(sqlite3 "$T/a.db" "SELECT substr(value, 1, 6) FROM meta WHERE key = 'concept_settings'")"
sqlite3 "$T/a.db" "UPDATE meta SET value = 'rules 1' || substr(value, instr(value, '/')) WHERE key = 'concept_settings';
  UPDATE memory SET concepts = '[\"stale\"]' WHERE id = 'extra'"
rep=$(E --config "$T/c0.conf" --store "$T/a.db" --now "$NOW" run --json)
check "a store of other concept rules restages every memory at its next run" \
  "$(sqlite3 "$T/a.db" "SELECT count(*) FROM memory")" \
  "$(grep -o '"restaged":[0-9]*' <<<"$rep" | head -1 | cut -d: -f2)"
check "and its concepts are those of a new store again" "" \
  "$(diff <(sqlite3 "$T/a.db" 'SELECT id, concepts FROM memory ORDER BY id') <(sqlite3 "$T/x.db" 'SELECT id, concepts FROM memory ORDER BY id') | head -3)"

# the pipeline takes every concept staging kept (staging.max_concepts goes up to 1000): the
# loader kept the first 512 of a memory, silently, so the rest had no concept row, no posting
# and no edge
printf 'staging.max_concepts = 1000\n' >"$T/many.conf"
python3 -c 'import json; print(json.dumps({"id": "many", "content": "x", "created_at": "2026-11-01T00:00:00Z", "metadata": {"concepts": ["c%d" % i for i in range(600)]}}))' >"$T/many.jsonl"
E --config "$T/many.conf" --store "$T/many.db" init -q
E --config "$T/many.conf" --store "$T/many.db" import -q "$T/many.jsonl"
E --config "$T/many.conf" --store "$T/many.db" --now "$NOW" run -q || fail "run with 600 concepts"
check "a memory with 600 concepts keeps them all in the pipeline" "600 600 600" \
  "$(sqlite3 -separator " " "$T/many.db" "SELECT (SELECT json_array_length(concepts) FROM memory), (SELECT json_array_length(concept_ids) FROM pipeline), (SELECT count(*) FROM concept)")"

finish

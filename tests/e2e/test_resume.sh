#!/usr/bin/env bash
# Resuming the simulation from the last run's snapshot (docs/adr/0008) on the embedded store: a
# run in the same staging window goes on from the snapshot and ends exactly where recomputing
# the whole history ends (every output column compared, and the staging), also over several
# steps, with memories created after the last run, recalls after it and late arrivals (presented
# just after the last run); and it recomputes, saying why, whenever the snapshot no longer fits:
# a recall dated before the last run's now, a stored memory that changed or left, another
# configuration, a damaged or missing file, --rebuild; it resumes across a UTC midnight, when
# memories leave the staging window (docs/adr/0010). Last, a property:
# generated streams (three seeds) arriving in time order and run in random steps within a day
# end where one run over everything ends; and one stream run once a day for nine days (REM
# nights, a Sunday homeostasis) with a rehearsing recall after each run resumes every day.
. "$(dirname "$0")/lib.sh"
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
SAMPLE="$ENGRAM_SRC/data/sample-memories.jsonl"
# the sample is in time order: the first 1,100 lines end at 2026-11-09T12:18:25Z
head -1100 "$SAMPLE" >"$T/a.jsonl"
tail -n +1101 "$SAMPLE" >"$T/b.jsonl"
T1=2026-11-09T12:20:00Z

# same A B: whether the dumps of stores A and B (store_dump, lib.sh) are equal (a dump that
# fails is a failure)
same() {
  store_dump "$1" >"$T/dump.a" || { fail "could not dump $1"; return 1; }
  store_dump "$2" >"$T/dump.b" || { fail "could not dump $2"; return 1; }
  cmp -s "$T/dump.a" "$T/dump.b" || { diff "$T/dump.a" "$T/dump.b" | head -5; return 1; }
}
# run STORE NOW: the run's JSON report
run() { E --store "$1" --now "$2" run --json; }
# the snapshot file the next run goes on from (a store has two, written in turn)
snapfile() { E --store "$1" stats --json | grep -o '"file":"[^"]*"' | cut -d'"' -f4; }
field() { grep -o "\"$1\":[a-z]*\|\"$1\":\"[^\"]*\"" <<<"$2" | head -1 | sed -E 's/^"[^"]*"://; s/"//g'; }
# resumed STORE NOW NAME: runs STORE at NOW, and a copy of it without its snapshot; the first must
# resume, both must end alike
resumed() {
  cp "$1" "$T/copy.db"
  local rep
  rep=$(run "$1" "$2")
  check "$3: resumed" "true" "$(field resumed "$rep")"
  run "$T/copy.db" "$2" >"$T/copy.json"
  check "$3: the copy without a snapshot recomputes" "the snapshot file is missing or from another version" "$(field recomputed_because "$(cat "$T/copy.json")")"
  if same "$1" "$T/copy.db"; then ok "$3: resuming equals recomputing"; else fail "$3: resuming differs from recomputing"; fi
  rm -f "$T/copy.db"*
}
# recomputed STORE NOW WHY NAME
recomputed() {
  local rep
  rep=$(run "$1" "$2")
  check "$4: recomputed" "false" "$(field resumed "$rep")"
  check "$4: the reason" "$3" "$(field recomputed_because "$rep")"
}
# new STORE FILE...: a new store with the files imported, at rowids from 4001 (after a row gone
# from the source), so that the memories fall in two posting chunks (rowid >> 12) and new ones
# join the second
new() {
  local db=$1
  shift
  rm -f "$db"*
  E --store "$db" init -q
  sqlite3 "$db" "INSERT INTO memory (rowid, id, source_system, fingerprint, status, skip_reason, first_seen_at, deleted_at_source) VALUES (4000, 'gone', 'test', 0, 'skipped', 'null_content', 0, 0)"
  for f in "$@"; do E --store "$db" import "$f" -q; done
}

# 1. memories created after the last run, in the same UTC day: resumed, equal to a new store
new "$T/r.db" "$T/a.jsonl"
rep=$(run "$T/r.db" "$T1")
check "a first run recomputes" "no snapshot" "$(field recomputed_because "$rep")"
check "and writes a snapshot" "true" "$(field snapshot_written "$rep")"
check "the snapshot sits beside the store" "yes" "$([ -s "$T/r.db-snapshot" ] && echo yes)"
# the store's second file is made too (a copy no reader takes), so that the next run writes its
# snapshot in place rather than into a new file
check "with the store's second snapshot file" "yes" "$([ -s "$T/r.db-snapshot-2" ] && echo yes)"
ino=$(stat -c %i "$T/r.db-snapshot-2")
E --store "$T/r.db" import "$T/b.jsonl" -q
rep=$(run "$T/r.db" 2026-11-09T23:00:00Z)
check "new memories after the last run: resumed" "true" "$(field resumed "$rep")"
check "and wrote its snapshot over the second, in place" "$ino" "$(stat -c %i "$T/r.db-snapshot-2")"
new "$T/f.db" "$T/a.jsonl" "$T/b.jsonl"
run "$T/f.db" 2026-11-09T23:00:00Z >/dev/null
if same "$T/r.db" "$T/f.db"; then ok "resumed after new memories equals a new store run once"; else fail "resumed differs from a new store"; fi

# 2. several steps in one day, a recall between two of them; the store also holds a memory from
# 2024 (outside the staging window: the pipeline takes it all the same) and two that leave the
# window at the next UTC midnight (created a year before the first run's day)
cat >"$T/old.jsonl" <<'EOF'
{"id":"old-2024","content":"Planted the first water lilies in the garden pond","created_at":"2024-03-01T09:00:00Z"}
{"id":"old-crossing","content":"Installed the garden pond filter and pump","created_at":"2025-11-09T08:00:00Z"}
{"id":"old-crossing-2","content":"Cleaned the pond pump after the storm","created_at":"2025-11-09T08:01:00Z"}
EOF
new "$T/s.db" "$T/old.jsonl" "$T/a.jsonl" "$T/b.jsonl"
run "$T/s.db" 2026-11-09T13:00:00Z >/dev/null
resumed "$T/s.db" 2026-11-09T15:30:00Z "a later step"
E --store "$T/s.db" recall --at 2026-11-09T16:00:00Z --k 3 "garden pond" >/dev/null
resumed "$T/s.db" 2026-11-09T18:00:00Z "after a recall later than the last run"
resumed "$T/s.db" 2026-11-09T18:00:00Z "the same now again"
check "a rerun at the same now writes nothing" '"written":0' "$(run "$T/s.db" 2026-11-09T18:00:00Z | grep -o '"written":[0-9]*')"

# 3. what makes a run recompute
E --store "$T/s.db" recall --at 2026-11-09T17:00:00Z --k 3 "replication lag" >/dev/null
recomputed "$T/s.db" 2026-11-09T19:00:00Z "recalls at or before the last run's now were added" "a recall dated before the last run"
line=$(sed -n 5p "$T/a.jsonl")
printf '%s\n' "${line/\"content\":\"/\"content\":\"Edited: }" >"$T/edit.jsonl"
E --store "$T/s.db" import "$T/edit.jsonl" -q
recomputed "$T/s.db" 2026-11-09T19:30:00Z "stored memories changed" "an old memory edited"
E --store "$T/s.db" --now 2026-11-09T19:45:00Z run -q
# a memory dated before the last run arrives late: presented at its arrival, just after the
# last run's now, so the simulation can still go on from the snapshot
printf '%s\n' '{"id":"late-one","content":"A note about the garden pond filter","created_at":"2026-11-09T10:00:00Z"}' >"$T/late.jsonl"
E --store "$T/s.db" import "$T/late.jsonl" -q
resumed "$T/s.db" 2026-11-09T20:00:00Z "a late arrival"
check "the late arrival is flagged, arriving just after the last run's now" "1|2026-11-09T19:45:00Z" \
  "$(sqlite3 "$T/s.db" "SELECT late, strftime('%Y-%m-%dT%H:%M:%SZ', arrived_at / 1000000, 'unixepoch') FROM memory WHERE id = 'late-one'")"
check "arrived_at is one microsecond after that now" "1" \
  "$(sqlite3 "$T/s.db" "SELECT arrived_at % 1000000 FROM memory WHERE id = 'late-one'")"
# a memory that left the pipeline (deleted at the source, seen by --full): recomputed
sqlite3 "$T/s.db" "UPDATE memory SET deleted_at_source = 1 WHERE id = 'late-one'"
recomputed "$T/s.db" 2026-11-09T20:10:00Z "stored memories changed" "a memory gone from the source"
# a memory put in the store by hand, dated before the last run and not flagged late (no ingest
# saw it arrive): the simulation up to the last run's now missed it, so the run recomputes
cols=$(sqlite3 "$T/s.db" "SELECT group_concat(name, ', ') FROM pragma_table_info('memory') WHERE name NOT IN ('rowid', 'id', 'late', 'arrived_at')")
sqlite3 "$T/s.db" "INSERT INTO memory (id, late, arrived_at, $cols) SELECT 'by-hand', 0, NULL, $cols FROM memory WHERE status = 'staged' AND NOT late AND deleted_at_source IS NULL ORDER BY rowid LIMIT 1"
recomputed "$T/s.db" 2026-11-09T20:20:00Z "memories arrived before the last run's now" "a memory inserted by hand before the last run's now"
# and that last memory deleted by hand with the trigger that counts deletes dropped (no change
# counted): the store's last rowid is below the snapshot's, so the run recomputes
trig=$(sqlite3 "$T/s.db" "SELECT sql FROM sqlite_schema WHERE name = 'memory_inputs_deleted'")
sqlite3 "$T/s.db" "DROP TRIGGER memory_inputs_deleted; DELETE FROM memory WHERE id = 'by-hand'; $trig;"
recomputed "$T/s.db" 2026-11-09T20:25:00Z "stored memories changed" "the last memory deleted by hand, no change counted"
printf 'hebbian.rate = 0.2\n' >"$T/other.conf"
rep=$(E --config "$T/other.conf" --store "$T/s.db" --now 2026-11-09T20:30:00Z run --json)
check "another configuration: recomputed" "the configuration changed" "$(field recomputed_because "$rep")"
rep=$(run "$T/s.db" 2026-11-09T21:00:00Z)
check "and back to the first: recomputed again" "the configuration changed" "$(field recomputed_because "$rep")"
printf 'garbage' | dd of="$(snapfile "$T/s.db")" bs=1 seek=4096 conv=notrunc status=none
recomputed "$T/s.db" 2026-11-09T21:30:00Z "the snapshot file is damaged" "a damaged snapshot"
rm -f "$T/s.db-snapshot" "$T/s.db-snapshot-2"
check "stats: no snapshot when its files are gone" '"snapshot":null' "$(E --store "$T/s.db" stats --json | grep -o '"snapshot":null')"
recomputed "$T/s.db" 2026-11-09T22:00:00Z "the snapshot file is missing or from another version" "a missing snapshot"
check "stats: the new snapshot is the last run's" '"current":true' "$(E --store "$T/s.db" stats --json | grep -o '"current":[a-z]*')"
# stats says why a snapshot cannot be gone on from: a file another version wrote (its header
# changed here), or another run's (the store names an earlier run)
cur=$(snapfile "$T/s.db")
cp "$cur" "$T/snap.keep"
printf 'EGSNAP\r\nX' | dd of="$cur" bs=1 seek=0 conv=notrunc status=none
check "stats: a snapshot of another version is stale" '"current":false,"stale":"other_version"' \
  "$(E --store "$T/s.db" stats --json | grep -o '"current":false,"stale":"[a-z_]*"')"
check "and its line says so" "1" "$(E --store "$T/s.db" stats | grep -c 'another engram version wrote the file')"
cp "$T/snap.keep" "$cur"
gen=$(sqlite3 "$T/s.db" "SELECT value FROM sim_state WHERE key = 'snapshot'")
sqlite3 "$T/s.db" "UPDATE sim_state SET value = value - 1 WHERE key = 'snapshot'"
check "stats: another run's snapshot is stale" '"current":false,"stale":"other_run"' \
  "$(E --store "$T/s.db" stats --json | grep -o '"current":false,"stale":"[a-z_]*"')"
check "and its line says so" "1" "$(E --store "$T/s.db" stats | grep -c "the file is not that run's")"
sqlite3 "$T/s.db" "UPDATE sim_state SET value = $gen WHERE key = 'snapshot'"
resumed "$T/s.db" 2026-11-09T22:30:00Z "back to resuming once a snapshot is written again"
check "the 2024 memory is outside the staging window, in the pipeline" "skipped|out_of_window|1" \
  "$(sqlite3 "$T/s.db" "SELECT m.status, m.skip_reason, count(p.memory_rowid) FROM memory m LEFT JOIN pipeline p ON p.memory_rowid = m.rowid WHERE m.id = 'old-2024'")"
check "the memories of 2025-11-09 are still in the window" "staged" \
  "$(sqlite3 "$T/s.db" "SELECT DISTINCT status FROM memory WHERE id LIKE 'old-crossing%'")"
before=$(sqlite3 "$T/s.db" "SELECT p.status, p.episode_id FROM pipeline p JOIN memory m ON m.rowid = p.memory_rowid WHERE m.id LIKE 'old-crossing%' ORDER BY m.id")
check "they are in the pipeline" 2 "$(grep -c . <<<"$before")"
# the next UTC day: the window moves past them, and the run still goes on from the snapshot
resumed "$T/s.db" 2026-11-10T01:00:00Z "the next UTC day (the staging window moved)"
check "the memories of 2025-11-09 left the staging window" "skipped|out_of_window" \
  "$(sqlite3 "$T/s.db" "SELECT DISTINCT status || '|' || skip_reason FROM memory WHERE id LIKE 'old-crossing%'")"
check "and keep their place in the pipeline" "$before" \
  "$(sqlite3 "$T/s.db" "SELECT p.status, p.episode_id FROM pipeline p JOIN memory m ON m.rowid = p.memory_rowid WHERE m.id LIKE 'old-crossing%' ORDER BY m.id")"
check "the staging view no longer stages them" "0" \
  "$(sqlite3 "$T/s.db" "SELECT count(*) FROM staging WHERE memory_id LIKE 'old-%' AND status = 'staged'")"
rep=$(E --store "$T/s.db" --now 2026-11-10T01:00:00Z run --rebuild --json)
check "--rebuild recomputes" "--rebuild" "$(field recomputed_because "$rep")"

# 4. a snapshot that cannot be written costs the next run a replay, nothing else
new "$T/w.db" "$T/a.jsonl"
mkdir "$T/w.db-snapshot" # the file cannot be written
rep=$(run "$T/w.db" "$T1" 2>"$T/w.err")
st=$?
check "a run whose snapshot cannot be written still succeeds" "0" "$st"
check "and says so" "false" "$(field snapshot_written "$rep")"
# (the store commits before the snapshot is written, and its run row is completed after)
check "its run row says so too" "0" \
  "$(sqlite3 "$T/w.db" "SELECT json_extract(counts, '\$.snapshot_written') FROM runs WHERE command = 'pipeline' ORDER BY run_id DESC LIMIT 1")"
check "and the store names no snapshot" "0|0" \
  "$(sqlite3 "$T/w.db" "SELECT group_concat(value, '|') FROM (SELECT value FROM sim_state WHERE key IN ('snapshot', 'snapshot_tag') ORDER BY key)")"
# (regression: the write's error was dropped, so a full disk or a file of another user made
# every run replay the history without a word)
case "$(cat "$T/w.err")" in
  *"warning: could not write the snapshot $T/w.db-snapshot: "*"the next one replays the history"*)
    ok "and warns on stderr why" ;;
  *) fail "no warning on stderr: [$(cat "$T/w.err")]" ;;
esac
check "it left no snapshot" "no" "$([ -f "$T/w.db-snapshot" ] && echo yes || echo no)"
# (a warning that -q or a scheduler hides: stats says there is none, it printed nothing)
case "$(E --store "$T/w.db" stats)" in
  *"snapshot       none: the next run replays the history"*) ok "stats says there is no snapshot" ;;
  *) fail "stats says nothing of the missing snapshot" ;;
esac
rmdir "$T/w.db-snapshot"
recomputed "$T/w.db" 2026-11-09T13:00:00Z "no snapshot" "the run after it"
resumed "$T/w.db" 2026-11-09T14:00:00Z "and the one after that"

# 4b. Sunday's homeostasis (03:00) between two runs of one day scales and prunes concept edges
# without touching them: the resumed save must compare the concept graph whole then
new "$T/h.db" "$T/a.jsonl" "$T/b.jsonl"
run "$T/h.db" 2026-11-22T02:00:00Z >/dev/null
resumed "$T/h.db" 2026-11-22T23:00:00Z "across Sunday's homeostasis"
rm -f "$T/h.db"*

# 4c. a run that stops inside an episode (its first memory encoded, the next not yet): the next
# run of the day encodes more memories into it, and the resumed save must see it grow
new "$T/x.db" "$T/a.jsonl" "$T/b.jsonl"
run "$T/x.db" 2026-11-20T00:00:00Z >/dev/null
read -r e1 e2 < <(sqlite3 -separator ' ' "$T/x.db" "SELECT min(encoded_at), max(encoded_at) FROM pipeline GROUP BY episode_id HAVING episode_id IS NOT NULL AND count(*) >= 2 AND min(encoded_at) / 86400000000 = max(encoded_at) / 86400000000 AND max(encoded_at) - min(encoded_at) > 2000000 ORDER BY max(encoded_at) DESC LIMIT 1")
if [ -n "${e1:-}" ]; then
  cut=$(date -u -d "@$((e1 / 1000000 + 1))" +%Y-%m-%dT%H:%M:%SZ)
  eod=$(date -u -d "@$((e2 / 86400000000 * 86400 + 86399))" +%Y-%m-%dT%H:%M:%SZ)
  new "$T/x.db" "$T/a.jsonl" "$T/b.jsonl"
  run "$T/x.db" "$cut" >/dev/null
  resumed "$T/x.db" "$eod" "an episode open at the last run grows (cut at $cut)"
else
  fail "the sample has no episode of two memories encoded in one day"
fi
rm -f "$T/x.db"*

# 4d. a snapshot is written in place over the older of the two files: a write that stops half way
# leaves a file that is refused whole (the header's magic is written last), and the next run
# replays
new "$T/t.db" "$T/a.jsonl"
run "$T/t.db" "$T1" >/dev/null
size=$(stat -c %s "$T/t.db-snapshot")
dd if=/dev/zero of="$T/t.db-snapshot" bs=1 count=8 conv=notrunc status=none # a cleared magic
recomputed "$T/t.db" 2026-11-09T13:00:00Z "the snapshot file is missing or from another version" "a snapshot cut short"
dd if=/dev/urandom of="$T/t.db-snapshot" bs=1 seek=$((size / 2)) count=64 conv=notrunc status=none
recomputed "$T/t.db" 2026-11-09T14:00:00Z "the snapshot file is damaged" "a snapshot damaged in the middle"
resumed "$T/t.db" 2026-11-09T15:00:00Z "and the one after it, from the snapshot written beside it"
rm -f "$T/t.db"*

# 4d'. a run that fails after writing its snapshot leaves the last good one: the next run goes on
# from it (regression: the snapshot was written over in place before the commit, so a failed
# run cost the next one a replay of the whole history)
new "$T/u.db" "$T/a.jsonl"
run "$T/u.db" "$T1" >/dev/null
E --store "$T/u.db" import "$T/b.jsonl" -q
sqlite3 "$T/u.db" "CREATE TRIGGER no_finish BEFORE UPDATE ON runs WHEN NEW.command = 'pipeline'
  AND NEW.outcome = 'ok' BEGIN SELECT RAISE(ABORT, 'the disk is full'); END"
E --store "$T/u.db" --now 2026-11-09T13:00:00Z run -q 2>/dev/null
check "a run that fails at its end exits 2" 2 "$?"
check "after writing its snapshot" 2 "$(ls "$T/u.db-snapshot"* | wc -l)"
sqlite3 "$T/u.db" "DROP TRIGGER no_finish"
resumed "$T/u.db" 2026-11-09T13:00:00Z "the run after a failed one, from the last good snapshot"
new "$T/v.db" "$T/a.jsonl" "$T/b.jsonl"
run "$T/v.db" 2026-11-09T13:00:00Z >/dev/null
if same "$T/u.db" "$T/v.db"; then ok "and ends as a new store run once"; else fail "after a failed run the store differs from a new one"; fi
rm -f "$T/u.db"* "$T/v.db"*

# 4e. a new snapshot is as readable as its store, no more (it holds memory ids and concepts),
# whatever the umask; an existing one keeps the mode it was given
(umask 022 && new "$T/m.db" "$T/a.jsonl" && chmod 600 "$T/m.db" && run "$T/m.db" "$T1" >/dev/null)
check "a new snapshot beside a 0600 store is 0600 (umask 022)" 600 "$(stat -c %a "$T/m.db-snapshot")"
rm -f "$T/m.db"*
(umask 077 && new "$T/m.db" "$T/a.jsonl" && chmod 640 "$T/m.db" && run "$T/m.db" "$T1" >/dev/null)
check "a new snapshot beside a 0640 store is 0640 (umask 077)" 640 "$(stat -c %a "$T/m.db-snapshot")"
chmod 600 "$T/m.db-snapshot"
run "$T/m.db" 2026-11-09T13:00:00Z >/dev/null
check "the second file too takes the store's mode" 640 "$(stat -c %a "$T/m.db-snapshot-2")"
run "$T/m.db" 2026-11-09T14:00:00Z >/dev/null
check "a snapshot written over keeps its mode" 600 "$(stat -c %a "$T/m.db-snapshot")"
rm -f "$T/m.db"*

# 4f. a snapshot of another store, with the same run ids, the same now and as many memories,
# inputs and recalls (one memory's words differ), copied beside this store: its key matched
# this store's and the next run went on from the other store's simulation (regression: the
# other store's concepts appeared in this one). The store records the snapshot's random tag.
new "$T/o.db" "$T/a.jsonl"
sed '100s/"content":"[^"]*"/"content":"Zebras crossed the volcano road on Mars tonight"/' \
  "$T/a.jsonl" >"$T/a2.jsonl"
new "$T/p.db" "$T/a2.jsonl"
run "$T/o.db" "$T1" >/dev/null
run "$T/p.db" "$T1" >/dev/null
cp "$T/p.db" "$T/p-ref.db"
cp "$T/o.db-snapshot" "$T/p.db-snapshot"
check "stats: another store's snapshot is stale" '"current":false,"stale":"other_run"' \
  "$(E --store "$T/p.db" stats --json | grep -o '"current":[a-z]*,"stale":"[a-z_]*"')"
E --store "$T/p.db" import "$T/b.jsonl" -q
E --store "$T/p-ref.db" import "$T/b.jsonl" -q
recomputed "$T/p.db" 2026-11-09T13:00:00Z "the snapshot file is not the last run's" "another store's snapshot"
run "$T/p-ref.db" 2026-11-09T13:00:00Z >/dev/null
if same "$T/p.db" "$T/p-ref.db"; then ok "another store's snapshot: the run ends as without it"; else fail "another store's snapshot: the run took the other store's state"; fi
resumed "$T/p.db" 2026-11-09T14:00:00Z "and the next run goes on from its own snapshot"
rm -f "$T/o.db"* "$T/p.db"* "$T/p-ref.db"*

# 4g. a snapshot path that is a link to the store (symbolic or hard): the run never writes through
# it (regression: the snapshot was written over the store, which then was "not a database"), a
# file of its own takes the link's place, and the runs go on from it
new "$T/l.db" "$T/a.jsonl"
run "$T/l.db" "$T1" >/dev/null
ln -s l.db "$T/l.db-snapshot-2"
resumed "$T/l.db" 2026-11-09T13:00:00Z "a snapshot path that is a symbolic link to the store"
check "the store is intact" "ok" "$(sqlite3 "$T/l.db" 'PRAGMA integrity_check' 2>&1)"
check "a file of its own took the link's place" "yes" \
  "$([ -f "$T/l.db-snapshot-2" ] && [ ! -L "$T/l.db-snapshot-2" ] && echo yes)"
rm "$T/l.db-snapshot"
ln "$T/l.db" "$T/l.db-snapshot"
resumed "$T/l.db" 2026-11-09T14:00:00Z "a snapshot path that is a hard link to the store"
check "the store is intact" "ok" "$(sqlite3 "$T/l.db" 'PRAGMA integrity_check' 2>&1)"
check "the link is gone" "1" "$(stat -c %h "$T/l.db")"
resumed "$T/l.db" 2026-11-09T15:00:00Z "and the next run, from the file that took its place"
rm -f "$T/l.db"*

# 4h. a named pipe at a snapshot name: nothing waits on it (regression: run and stats opened it
# for reading and waited for a writer forever); the run replaces it with a file
new "$T/q.db" "$T/a.jsonl"
run "$T/q.db" "$T1" >/dev/null
run "$T/q.db" 2026-11-09T13:00:00Z >/dev/null # (the current file is the second, the first is read first)
rm "$T/q.db-snapshot"
mkfifo "$T/q.db-snapshot"
check "stats with a pipe at a snapshot name" 0 "$(timeout 30 "$ENGRAM_BIN" --store "$T/q.db" stats >/dev/null 2>&1; echo $?)"
rep=$(timeout 30 "$ENGRAM_BIN" --store "$T/q.db" --now 2026-11-09T14:00:00Z run --json)
check "a run with a pipe at a snapshot name resumes" "true" "$(field resumed "$rep")"
check "and a file took the pipe's place" "yes" "$([ -f "$T/q.db-snapshot" ] && [ ! -p "$T/q.db-snapshot" ] && echo yes)"
rm -f "$T/q.db"*

# 5. property: generated streams arriving in time order, run in k random steps within one UTC
# day (the first step replays, the others resume), end where one run over everything ends
G="${ENGRAM_GEN:-$(dirname "$ENGRAM_BIN")/engram-gen}"
# rows of FILE with created_at in (LO, HI] (ISO text compares in time order); LO empty: also
# the rows without a created_at
between() {
  awk -v lo="$2" -v hi="$3" 'match($0, /"created_at":"[^"]*"/) {
      c = substr($0, RSTART + 14, RLENGTH - 15); if (c > lo && c <= hi) print; next }
    lo == "" { print }' "$1"
}
for seed in 3 17 40; do
  "$G" sample --n 1500 --seed "$seed" --end 2026-11-20T00:00:00Z --span-days 20 >"$T/p.jsonl"
  RANDOM=$seed # (drawn in this shell: a subshell would reseed)
  draws=()
  for _ in 1 2 3 4; do draws+=($((RANDOM % 1380))); done
  mapfile -t mins < <(printf '%s\n' "${draws[@]}" | sort -n -u)
  steps=()
  for m in "${mins[@]}"; do steps+=("$(printf '2026-11-19T%02d:%02d:00Z' $((m / 60)) $((m % 60)))"); done
  steps+=(2026-11-19T23:59:00Z)
  new "$T/k.db"
  prev="" resumed_runs=0
  for t in "${steps[@]}"; do
    between "$T/p.jsonl" "$prev" "$t" >"$T/part.jsonl"
    [ -s "$T/part.jsonl" ] && E --store "$T/k.db" import "$T/part.jsonl" -q
    rep=$(run "$T/k.db" "$t")
    [ "$(field resumed "$rep")" = true ] && resumed_runs=$((resumed_runs + 1))
    prev=$t
  done
  new "$T/one.db"
  between "$T/p.jsonl" "" 2026-11-19T23:59:00Z >"$T/all.jsonl"
  E --store "$T/one.db" import "$T/all.jsonl" -q
  run "$T/one.db" 2026-11-19T23:59:00Z >/dev/null
  check "seed $seed: all the steps after the first resumed" $((${#steps[@]} - 1)) "$resumed_runs"
  if cmp -s <(store_dump "$T/k.db") <(store_dump "$T/one.db"); then
    ok "seed $seed: ${#steps[@]} steps (${steps[*]}) end where one run ends"
  else
    fail "seed $seed: ${#steps[@]} steps (${steps[*]}) differ from one run"
    diff <(store_dump "$T/k.db") <(store_dump "$T/one.db") | head -5
  fi
done


# 6. property over days: a generated stream run at one random time a day for nine days (REM
# nights, Sunday's homeostasis: the categories are taken over or recomputed, the long-term
# records compared only where they can have moved), with a rehearsing recall after each run
"$G" sample --n 1500 --seed 23 --end 2026-11-20T00:00:00Z --span-days 20 >"$T/p.jsonl"
RANDOM=23
new "$T/k.db"
prev="" steps=0
for d in 11 12 13 14 15 16 17 18 19; do
  m=$((RANDOM % 1440))
  t=$(printf '2026-11-%sT%02d:%02d:00Z' "$d" $((m / 60)) $((m % 60)))
  between "$T/p.jsonl" "$prev" "$t" >"$T/part.jsonl"
  [ -s "$T/part.jsonl" ] && E --store "$T/k.db" import "$T/part.jsonl" -q
  if [ -z "$prev" ]; then
    run "$T/k.db" "$t" >/dev/null
  else
    resumed "$T/k.db" "$t" "day $d at $t, after a recall"
  fi
  at=$(date -u -d "$t 1 minute" +%Y-%m-%dT%H:%M:%SZ)
  E --store "$T/k.db" --now "$at" recall --at "$at" --k 5 "garden report" >/dev/null
  prev=$t
done
finish

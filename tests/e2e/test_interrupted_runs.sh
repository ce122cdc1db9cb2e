#!/usr/bin/env bash
# A run whose process died (kill -9, a power loss) stayed 'running' in the runs table for ever:
# /metrics counted it as running and health never counted it as failed. The next run on the
# same host marks it 'interrupted' when its pid no longer exists, or is the new run's own pid
# (reused after a crash); a run of a live pid, or of another host, is left 'running'. A run
# recorded before schema 15 (no pid: an older engram, which cannot open the store any more) was
# left 'running' for ever; the next run marks it interrupted too, whatever the host.
. "$(dirname "$0")/lib.sh"
T="$(mktemp -d)"
LIVE=
trap '[ -n "$LIVE" ] && kill "$LIVE" 2>/dev/null; rm -rf "$T"' EXIT
head -200 "$ENGRAM_SRC/data/sample-memories.jsonl" >"$T/a.jsonl"
DB="$T/s.db"
E --store "$DB" init -q
E --store "$DB" import "$T/a.jsonl" -q
HOST="$(hostname)"
# a pid that does not exist any more: a child that has been reaped
sleep 0 &
DEAD=$!
wait "$DEAD"
kill -0 "$DEAD" 2>/dev/null && fail "the dead pid $DEAD exists"
# a pid that exists while the run happens
sleep 300 &
LIVE=$!
fake() { # RUN_ID PID HOST
  sqlite3 "$DB" "INSERT INTO runs (run_id, command, now, started_at, pid, host)
    VALUES ($1, 'run', 0, strftime('%s', 'now') * 1000000, $2, '$3')"
}
fake 901 "$DEAD" "$HOST"
fake 902 "$LIVE" "$HOST"
fake 903 "$DEAD" "another-host.invalid"
sqlite3 "$DB" "INSERT INTO runs (run_id, command, now, started_at) VALUES (904, 'run', 0, 0)"
outcome() { sqlite3 "$DB" "SELECT outcome || '|' || (finished_at IS NULL) FROM runs WHERE run_id = $1"; }
check "before the run, the dead process's run is running" "running|1" "$(outcome 901)"
E --store "$DB" --now 2026-11-09T12:00:00Z run -q || fail "engram run"
check "the run of a pid that is gone is interrupted, finished_at NULL" "interrupted|1" "$(outcome 901)"
case "$(sqlite3 "$DB" "SELECT error FROM runs WHERE run_id = 901")" in
  *"pid $DEAD on $HOST"*gone*) ok "its error says the process is gone" ;;
  *) fail "its error does not say the process is gone: [$(sqlite3 "$DB" "SELECT error FROM runs WHERE run_id = 901")]" ;;
esac
check "the run of a live pid is left running" "running|1" "$(outcome 902)"
check "the run of another host is left running" "running|1" "$(outcome 903)"
check "a run recorded before the pid was (no pid) is interrupted" "interrupted|1" "$(outcome 904)"
case "$(sqlite3 "$DB" "SELECT error FROM runs WHERE run_id = 904")" in
  *"older than schema 15"*) ok "its error says an older engram began it" ;;
  *) fail "its error does not say why: [$(sqlite3 "$DB" "SELECT error FROM runs WHERE run_id = 904")]" ;;
esac
check "the new run records its pid and host" "1|$HOST" \
  "$(sqlite3 "$DB" "SELECT pid > 0, host FROM runs WHERE command = 'pipeline' ORDER BY run_id DESC LIMIT 1")"
check "the new run is ok" "ok" "$(sqlite3 "$DB" "SELECT outcome FROM runs WHERE command = 'pipeline' ORDER BY run_id DESC LIMIT 1")"
case "$(E --store "$DB" stats)" in
  *"interrupted    2 runs whose process died"*) ok "stats shows the interrupted runs" ;;
  *) fail "stats does not show the interrupted runs: [$(E --store "$DB" stats | grep interrupted)]" ;;
esac
check "stats --json counts them" 2 "$(E --store "$DB" stats --json | sed -n 's/.*"interrupted_runs":\([0-9]*\).*/\1/p')"
case "$(E --store "$DB" --now 2026-11-09T12:00:00Z health 2>&1)" in
  *"1 failed run in the last hour"*) ok "health counts the interrupted run of the last hour as failed" ;;
  *) fail "health does not count the interrupted run: [$(E --store "$DB" --now 2026-11-09T12:00:00Z health 2>&1 | grep -i 'failed run')]" ;;
esac
# once its process is gone, the next run marks the live one too
kill "$LIVE"
wait "$LIVE" 2>/dev/null
LIVE=
E --store "$DB" --now 2026-11-09T13:00:00Z run -q || fail "the second engram run"
check "after its process ended, the next run marks it interrupted" "interrupted|1" "$(outcome 902)"
check "another host's run is still left alone" "running|1" "$(outcome 903)"

# A `run --rebuild` that fails or is killed after its start changes nothing: it cleared the
# late-arrival flags in a transaction of its own before the run's, so the next plain run
# recomputed the history as a rebuild would instead of going on from where the last run stopped
# (regression). A trigger makes the rebuild fail where it begins its pipeline row.
head -1000 "$ENGRAM_SRC/data/sample-memories.jsonl" >"$T/l1.jsonl"
sed -n 1001,1100p "$ENGRAM_SRC/data/sample-memories.jsonl" >"$T/l2.jsonl" # created before 12:20
L="$T/late.db"
E --store "$L" init -q
E --store "$L" import "$T/l1.jsonl" -q
E --store "$L" --now 2026-11-09T12:20:00Z run -q || fail "the first run"
E --store "$L" import "$T/l2.jsonl" -q
E --store "$L" --now 2026-11-09T13:00:00Z run -q || fail "the run that takes the late rows"
late=$(sqlite3 "$L" "SELECT count(*) FROM memory WHERE late")
[ "$late" -gt 0 ] || fail "no memory arrived late"
cp "$L" "$T/late-ref.db"
for f in "$L"-snapshot*; do cp "$f" "$T/late-ref.db${f#"$L"}"; done
sqlite3 "$L" "CREATE TRIGGER no_pipeline BEFORE INSERT ON runs WHEN NEW.command = 'pipeline'
  BEGIN SELECT RAISE(ABORT, 'the disk is full'); END"
E --store "$L" --now 2026-11-09T14:00:00Z run --rebuild -q 2>"$T/err"
check "a rebuild that fails exits 2" 2 "$?"
check "and leaves the late arrivals flagged" "$late" "$(sqlite3 "$L" "SELECT count(*) FROM memory WHERE late")"
sqlite3 "$L" "DROP TRIGGER no_pipeline"
rep=$(E --store "$L" --now 2026-11-09T14:00:00Z run --json)
case "$rep" in
  *'"resumed":true'*) ok "the next run goes on from the last run's snapshot" ;;
  *) fail "the next run does not go on from the snapshot: $(grep -o '"recomputed_because":[^,]*' <<<"$rep")" ;;
esac
E --store "$T/late-ref.db" --now 2026-11-09T14:00:00Z run -q || fail "the reference run"
outputs() {
  sqlite3 -bail "$1" "SELECT * FROM pipeline ORDER BY 1; SELECT * FROM assoc ORDER BY 1, 2;
    SELECT * FROM episode ORDER BY 1; SELECT * FROM ltm ORDER BY 1;
    SELECT rowid, status, late, arrived_at FROM memory ORDER BY 1" | md5sum
}
check "and ends where a run without the failed rebuild ends" "$(outputs "$T/late-ref.db")" "$(outputs "$L")"

# An ingest killed after its commit, before the write that completes its run row (its timings,
# with the commit's): the row already says ok, in the same transaction as the rows. It was
# left 'running', and the next run marked a complete ingest interrupted (health warned of a
# failed run, /metrics counted one). A trigger stands in for the kill: it refuses any write of
# the row whose timings include a commit.
K="$T/k.db"
E --store "$K" init -q
E --store "$K" import -q "$T/a.jsonl"
sqlite3 "$K" "CREATE TRIGGER killed_after_commit BEFORE UPDATE ON runs
  WHEN json_extract(NEW.counts, '\$.ms.commit') > 0 BEGIN SELECT RAISE(ABORT, 'killed'); END"
E --store "$K" --now 2026-11-09T12:00:00Z ingest -q
check "an ingest killed after its commit has its rows" 200 "$(sqlite3 "$K" "SELECT count(*) FROM memory")"
check "and its run row says ok" ok \
  "$(sqlite3 "$K" "SELECT outcome FROM runs WHERE command = 'ingest' ORDER BY run_id DESC LIMIT 1")"

# A run killed while it wrote its snapshot to a new file (instead of in place: over a link, or a
# file another run was reading) left that file, as big as a snapshot, beside the store for ever
# (regression). The next run removes such leftovers of both names, and nothing else.
R="$T/r.db"
E --store "$R" init -q
E --store "$R" import "$T/a.jsonl" -q
E --store "$R" --now 2026-11-09T12:00:00Z run -q || fail "the run before the leftovers"
for f in "$R-snapshot.tmp-Ab12Cd" "$R-snapshot-2.tmp-x9Y8z7"; do head -c 100000 /dev/zero >"$f"; done
: >"$R-snapshot.backup"
: >"$R-snapshot.tmp-keep"
E --store "$R" --now 2026-11-09T13:00:00Z run -q || fail "the run after the leftovers"
check "the next run removes the new files a killed run left" "no" \
  "$([ -e "$R-snapshot.tmp-Ab12Cd" ] || [ -e "$R-snapshot-2.tmp-x9Y8z7" ] && echo yes || echo no)"
check "and leaves other files alone" "yes" \
  "$([ -e "$R-snapshot.backup" ] && [ -e "$R-snapshot.tmp-keep" ] && echo yes || echo no)"
rm -f "$R"-snapshot*.tmp-*
if command -v strace >/dev/null; then
  rm -f "$R-snapshot"
  ln -s "$R" "$R-snapshot" # (written to a new file, renamed over the link)
  strace -f -o /dev/null -e trace=rename -e inject=rename:signal=KILL \
    "$ENGRAM_BIN" --store "$R" --now 2026-11-09T14:00:00Z run -q 2>/dev/null
  check "a run killed before renaming its new snapshot leaves it" 1 "$(ls "$R"-snapshot.tmp-?????? | wc -l)"
  E --store "$R" --now 2026-11-09T14:00:00Z run -q || fail "the run after the killed one"
  check "and the next run removes it" 0 "$(ls "$R"-snapshot.tmp-?????? 2>/dev/null | wc -l)"
fi
finish

#!/usr/bin/env bash
# Upgrading engram: stores written by earlier engrams open, migrate and run with this one, and
# end where a new store fed the same memories ends (every output row compared, as test_resume
# does). Stores of older schemas are made from a store of this one by SQL that puts back what
# the older engram wrote (test_pipeline turns one back to schema 3 the same way).
# Covered: a store whose migration 16 an earlier edition of it made (ltm_record without the
# columns the view ranks by: engram between daafaac and 6aecd73 wrote those), at schema 16 and
# after the unamended 17; two engrams that open a store of an older schema at once; an empty
# store of the first edition of schema 1; health's coverage of a store whose memories were read
# before migration 14 gave them a source key; a migration that waits past the busy timeout for
# another engram's lock; a store of a newer engram, refused by every command, and by health
# with the reason.
. "$(dirname "$0")/lib.sh"
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
SAMPLE="$ENGRAM_SRC/data/sample-memories.jsonl"
head -1100 "$SAMPLE" >"$T/a.jsonl"
tail -n +1101 "$SAMPLE" >"$T/b.jsonl"
T1=2026-11-09T12:20:00Z
T2=2026-11-20T00:00:00Z
LATEST=$(E --store "$T/latest.db" init | sed -E 's/.*schema version ([0-9]+).*/\1/')

# same NAME A B: the dumps of stores A and B are equal
same() {
  store_dump "$2" >"$T/dump.a" || { fail "$1: could not dump $2"; return; }
  store_dump "$3" >"$T/dump.b" || { fail "$1: could not dump $3"; return; }
  if cmp -s "$T/dump.a" "$T/dump.b"; then ok "$1"; else
    fail "$1: $(diff "$T/dump.a" "$T/dump.b" | head -3)"
  fi
}
# the store every other one is made from: the first 1,100 memories, run at T1, one recall
E --store "$T/base.db" init -q
E --store "$T/base.db" --now "$T1" import -q "$T/a.jsonl"
E --store "$T/base.db" --now "$T1" run -q || fail "run of the base store"
E --store "$T/base.db" --now 2026-11-09T13:00:00Z recall -q --k 5 "garden pond" >/dev/null
rm -f "$T/base.db-snapshot"*
# the reference: the base store and the rest of the sample, run at T2
cp "$T/base.db" "$T/ref.db"
E --store "$T/ref.db" --now "$T2" import -q "$T/b.jsonl"
E --store "$T/ref.db" --now "$T2" run -q || fail "run of the reference store"
# upgraded NAME STORE: STORE (made by an earlier engram) opens with this one at the latest schema,
# recomputes (another engram's snapshot never fits), and ends where the reference ends
upgraded() {
  E --store "$2" stats >/dev/null 2>"$T/err" || fail "$1: stats: $(head -2 "$T/err")"
  check "$1: migrated to the latest schema" "$LATEST" "$(sqlite3 "$2" 'PRAGMA user_version')"
  check "$1: every memory kept" "$(sqlite3 "$T/base.db" 'SELECT group_concat(id) FROM (SELECT id FROM memory ORDER BY id)' | md5sum)" \
    "$(sqlite3 "$2" 'SELECT group_concat(id) FROM (SELECT id FROM memory ORDER BY id)' | md5sum)"
  check "$1: the long-term records read as before" "$(sqlite3 "$T/base.db" 'SELECT * FROM ltm ORDER BY 1' | md5sum)" \
    "$(sqlite3 "$2" 'SELECT * FROM ltm ORDER BY 1' | md5sum)"
  local id
  id=$(sqlite3 "$T/base.db" "SELECT memory_id FROM ltm_record ORDER BY memory_rowid LIMIT 1")
  check "$1: trace of a long-term memory" "$(E --store "$T/base.db" --now "$T1" trace "$id" 2>&1)" \
    "$(E --store "$2" --now "$T1" trace "$id" 2>&1)"
  check "$1: the full-text index's term counts are its own" 0 "$(fts_terms_differ "$2")"
  E --store "$2" --now "$T2" import -q "$T/b.jsonl"
  E --store "$2" --now "$T2" run -q 2>"$T/err" || fail "$1: run: $(head -2 "$T/err")"
  same "$1: the run ends where a new store's ends" "$T/ref.db" "$2"
}

# 1. migration 16 as engram made it before the migration was amended: ltm_record with the
# record and its consolidated strength only, an `ltm` view that joined the rest in from pipeline
# and memory, an index on (category, region, strength)
cp "$T/base.db" "$T/early16.db"
sqlite3 -bail "$T/early16.db" <<'SQL'
DROP TABLE fts_term;
DROP VIEW ltm;
DROP INDEX ltm_record_column;
CREATE TABLE ltm_early AS SELECT memory_rowid, semantic_category, knowledge_type, cortical_region,
  abstraction_level, minicolumn_id, macrocolumn_id, consolidated_strength, consolidation_state
  FROM ltm_record;
DROP TABLE ltm_record;
CREATE TABLE ltm_record (
  memory_rowid INTEGER PRIMARY KEY, semantic_category TEXT, knowledge_type TEXT,
  cortical_region TEXT, abstraction_level INTEGER, minicolumn_id INTEGER,
  macrocolumn_id INTEGER, consolidated_strength REAL, consolidation_state TEXT
);
INSERT INTO ltm_record SELECT * FROM ltm_early;
DROP TABLE ltm_early;
CREATE INDEX ltm_record_column ON ltm_record(semantic_category, cortical_region, consolidated_strength);
CREATE VIEW ltm AS
SELECT memory_rowid, semantic_category, knowledge_type, cortical_region, abstraction_level,
  minicolumn_id, macrocolumn_id, column_rank,
  (0.3 * consolidated_strength + 0.2 / sqrt(column_rank) +
   0.3 * exp(-max(0, now - consolidated_at) / 86400000000.0 / 30.0) +
   0.2 * ln(1 + recalls) / ln(100)) * damping AS retrieval_strength,
  CASE WHEN now - t0 < 86400000000 THEN 'recent'
    WHEN now - t0 < 604800000000 THEN 'week_old'
    WHEN now - t0 < 2592000000000 THEN 'month_old' ELSE 'remote' END AS memory_age,
  consolidation_state
FROM (SELECT r.*, p.consolidated_at, p.recalls, p.damping,
  CASE WHEN m.late AND m.arrived_at IS NOT NULL THEN m.arrived_at ELSE m.created_at END
    AS t0,
  (SELECT value FROM sim_state WHERE key = 'checkpoint') AS now,
  row_number() OVER (PARTITION BY r.semantic_category, r.cortical_region
    ORDER BY r.consolidated_strength DESC, m.id) AS column_rank
  FROM ltm_record r JOIN pipeline p ON p.memory_rowid = r.memory_rowid
  JOIN memory m ON m.rowid = r.memory_rowid);
SQL
# at schema 16 (as that engram left it), and at 17 (opened since by an engram of schema 17,
# which migrated the full-text index and left ltm_record as it was)
cp "$T/early16.db" "$T/early17.db"
sqlite3 "$T/early16.db" "PRAGMA user_version = 16"
sqlite3 "$T/early17.db" "PRAGMA user_version = 17"
upgraded "an early schema-16 store" "$T/early16.db"
upgraded "an early schema-16 store migrated to 17" "$T/early17.db"

# 2. two engrams that open a store of an older schema at once (after an upgrade, a scheduled run
# and `engram serve`, say): each migration is applied once, by whichever takes the write lock
# first, and the other finds it done instead of applying it again ("table ltm_record already
# exists"). A third connection holds the write lock while both open the store and read its
# version, then lets them go.
cp "$T/base.db" "$T/v15.db"
sqlite3 -bail "$T/v15.db" <<'SQL'
DROP TABLE fts_term;
CREATE TABLE ltm15 AS SELECT * FROM ltm;
DROP VIEW ltm;
DROP TABLE ltm_record;
CREATE TABLE ltm (
  memory_rowid INTEGER PRIMARY KEY, semantic_category TEXT, knowledge_type TEXT,
  cortical_region TEXT, abstraction_level INTEGER, minicolumn_id INTEGER,
  macrocolumn_id INTEGER, column_rank INTEGER, retrieval_strength REAL, memory_age TEXT,
  consolidation_state TEXT);
INSERT INTO ltm SELECT * FROM ltm15;
DROP TABLE ltm15;
PRAGMA user_version = 15;
SQL
sqlite3 "$T/v15.db" "BEGIN IMMEDIATE;" ".shell touch $T/locked; sleep 3" "COMMIT;" &
lock=$!
for _ in $(seq 100); do [ -e "$T/locked" ] && break; sleep 0.05; done
E --store "$T/v15.db" stats >/dev/null 2>"$T/err1" &
p1=$!
E --store "$T/v15.db" --now "$T1" recall --no-rehearse pond >/dev/null 2>"$T/err2" &
p2=$!
wait "$p1"
r1=$?
wait "$p2"
r2=$?
wait "$lock"
check "the first of two engrams opening a schema-15 store at once" "0 " "$r1 $(head -1 "$T/err1")"
check "the second" "0 " "$r2 $(head -1 "$T/err2")"
check "the store is at the latest schema" "$LATEST" "$(sqlite3 "$T/v15.db" 'PRAGMA user_version')"
check "with its long-term records" "$(sqlite3 "$T/base.db" 'SELECT * FROM ltm ORDER BY 1' | md5sum)" \
  "$(sqlite3 "$T/v15.db" 'SELECT * FROM ltm ORDER BY 1' | md5sum)"

# 3. the first edition of migration 1 (3555f09) declared memory.id UNIQUE in the table, with no
# index memory_id; the first load into such a store, still empty, drops and builds that index
E --store "$T/first1.db" init -q
sqlite3 "$T/first1.db" "DROP INDEX memory_id"
E --store "$T/first1.db" --now "$T1" import -q "$T/a.jsonl"
E --store "$T/first1.db" --now "$T1" run -q 2>"$T/err" || fail "the first run of an empty store without the index memory_id: $(head -1 "$T/err")"
check "it has the index after its first load" 1 \
  "$(sqlite3 "$T/first1.db" "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'memory_id'")"
check "and every memory" 1100 "$(sqlite3 "$T/first1.db" "SELECT count(*) FROM memory")"

# 4. memories stored before migration 14 have no source key (until a full read reads them
# again): health counts them as the source's they came from, not as missing
cp "$T/base.db" "$T/v13.db"
sqlite3 "$T/v13.db" "UPDATE memory SET source_key = NULL"
vol() { E --store "$1" --now "$T1" health --json | jq -r '.checks[] | select(.name == "volume") | .status + " " + .message'; }
check "health's volume check on a store whose memories predate source keys" "$(vol "$T/base.db")" "$(vol "$T/v13.db")"

# 5. a migration that finds the store's write lock held past the 10 s busy timeout (another
# engram migrating a big store, a long run) is a temporary failure: exit 75 and a hint to try
# again, not 2; once the lock is gone the store migrates
cp "$T/base.db" "$T/busy.db"
sqlite3 "$T/busy.db" "DROP TABLE fts_term; PRAGMA user_version = $((LATEST - 1))"
rm -f "$T/locked"
sqlite3 "$T/busy.db" "BEGIN IMMEDIATE;" ".shell touch $T/locked; sleep 12" "ROLLBACK;" &
lock=$!
for _ in $(seq 100); do [ -e "$T/locked" ] && break; sleep 0.05; done
E --store "$T/busy.db" stats >/dev/null 2>"$T/err"
check "a migration that waits out the busy timeout exits 75" 75 "$?"
grep -q "^HINT: .*try again" "$T/err" && ok "with a hint to try again" || fail "no hint to try again: $(cat "$T/err")"
wait "$lock"
E --store "$T/busy.db" stats >/dev/null 2>&1 || fail "stats once the lock is gone"
check "then it migrates" "$LATEST" "$(sqlite3 "$T/busy.db" 'PRAGMA user_version')"

# 6. a store of a newer engram (a downgrade, or an older binary on the PATH): every command
# refuses it with the reason and changes nothing; health says why in readiness (runs fail on it)
cp "$T/base.db" "$T/newer.db"
sqlite3 "$T/newer.db" "PRAGMA user_version = $((LATEST + 1))"
before=$(sqlite3 "$T/newer.db" "SELECT (SELECT count(*) FROM runs) || ' ' || (SELECT count(*) FROM memories) || ' ' || (SELECT count(*) FROM presentation)")
for cmd in stats "run" "ingest" "recall pond" "trace x" "export" "validate" "remember hello" "import $T/b.jsonl"; do
  # shellcheck disable=SC2086 # the command and its arguments
  E --store "$T/newer.db" --now "$T2" $cmd >/dev/null 2>"$T/err"
  rc=$?
  if [ "$rc" = 2 ] && grep -q "schema version $((LATEST + 1)), newer than this engram ($LATEST)" "$T/err" &&
    grep -q "^HINT: upgrade engram" "$T/err"; then ok "$cmd on a newer store: refused"; else
    fail "$cmd on a newer store: exit $rc: $(head -2 "$T/err")"
  fi
done
check "nothing was written to it" "$before" \
  "$(sqlite3 "$T/newer.db" "SELECT (SELECT count(*) FROM runs) || ' ' || (SELECT count(*) FROM memories) || ' ' || (SELECT count(*) FROM presentation)")"
check "nor its schema version" "$((LATEST + 1))" "$(sqlite3 "$T/newer.db" 'PRAGMA user_version')"
E --store "$T/newer.db" --now "$T1" health --json >"$T/h.json"
check "health on it: readiness is critical" CRITICAL "$(jq -r '.checks[] | select(.name == "readiness") | .status' "$T/h.json")"
case "$(jq -r '.checks[] | select(.name == "readiness") | .message' "$T/h.json")" in
*"the store could not be opened: "*"newer than this engram"*) ok "and says why" ;;
*) fail "health's readiness on a newer store: $(jq -r '.checks[] | select(.name == "readiness") | .message' "$T/h.json")" ;;
esac
check "the pipeline check points there" "UNKNOWN the store could not be opened (see readiness)" \
  "$(jq -r '.checks[] | select(.name == "pipeline") | .status + " " + .message' "$T/h.json")"

finish

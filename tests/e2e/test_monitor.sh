#!/usr/bin/env bash
# health and validate (SPEC §10, §11) on the embedded store (no PostgreSQL needed): a missing
# store is reported and never created, by both, with the same exit code (a source outside the
# store is still validated); health -q and validate -q print only the problems;
# times are read and aged exactly (no microseconds made up by julianday()); a negative age is a
# warning; validate's hint for an unreachable PostgreSQL names its own exit code; health's history
# keeps health.history_keep (90 days).
. "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null || { echo "skip: sqlite3 not installed"; exit 77; }
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
NOW=2026-11-20T00:00:00Z

# ---- a missing store (a typo in --store) ----
E --store "$T/typo.db" --now "$NOW" health >/dev/null 2>&1
HEALTH_RC=$?
E --store "$T/typo.db" --now "$NOW" validate -q 2>"$T/v.err"
check "validate on a missing store exits like health" "$HEALTH_RC" "$?"
check "which is 2" 2 "$HEALTH_RC"
if [ -e "$T/typo.db" ]; then fail "validate created the missing store"; else ok "validate creates no store"; fi
if grep -q 'does not exist' "$T/v.err"; then ok "validate reports the missing store"; else
  fail "validate does not report the missing store: $(cat "$T/v.err")"; fi
E --store "$T/typo.db" --now "$NOW" validate --target store >/dev/null 2>&1
check "validate --target store on a missing store exits 2" 2 "$?"
if [ -e "$T/typo.db" ]; then fail "validate --target store created the missing store"; else ok "nor with --target store"; fi
# a source outside the store can still be checked without it: nothing is recorded, nothing created
S="$T/s.db"
E --store "$S" init -q && E --store "$S" import -q "$ENGRAM_SRC/data/sample-memories.jsonl"
E --store "$T/typo.db" --source "sqlite:$S" --now "$NOW" validate >"$T/v.out" 2>"$T/v.err"
check "validate of a sqlite: source without a store prints its rules" 14 "$(wc -l <"$T/v.out")"
if grep -q 'not recorded' "$T/v.err"; then ok "and says the results are not recorded"; else fail "no note: $(cat "$T/v.err")"; fi
if [ -e "$T/typo.db" ]; then fail "validate created the missing store"; else ok "it creates no store"; fi

# ---- the sample: newest created_at 2026-11-19T18:50:09Z, run at T1 ----
T1=2026-11-19T19:00:00Z
fresh() { E --store "$S" --now "$1" health | awk '$2 == "freshness"'; }
contains_line() { case "$3" in *"$2"*) ok "$1" ;; *) fail "$1: [$2] not in [$3]" ;; esac; }
E --store "$S" --now "$T1" run -q || fail "run on the sample"
# health -q prints only the checks that are not OK; the exit code is the same
E --store "$S" --now "$T1" health -q >"$T/h.out"
check "health -q with every check OK exits 0" 0 "$?"
check "and prints nothing" "" "$(cat "$T/h.out")"
E --store "$S" --now "$T1" health >"$T/h.out"
check "health without -q prints the header, eight checks and the summary" 10 "$(wc -l <"$T/h.out")"
E --store "$S" --now "$NOW" health -q >"$T/h.out"
check "health -q with a stale source exits 1" 1 "$?"
check "and prints only the freshness warning" "WARNING freshness" "$(awk '{print $1, $2}' "$T/h.out")"
# validate -q likewise prints the rules that are not OK (it printed nothing and exited 2)
E --store "$S" --now "$T1" validate >"$T/v.out"
V_RC=$?
E --store "$S" --now "$T1" validate -q >"$T/vq.out"
check "validate -q exits as validate" "$V_RC" "$?"
check "validate -q prints the rules that are not OK, without the summary" \
  "$(awk '$1 != "OK" && NF > 1' "$T/v.out")" "$(cat "$T/vq.out")"
check "the sample has rules that are not OK" 1 "$([ -s "$T/vq.out" ] && echo 1)"

# ---- a --now before the data (or a skewed clock): a negative age is a WARNING that names it,
# beyond validate.future_skew (5 min) as validate's temporal_future rule ----
E --store "$S" --now 2020-01-01T00:00:00Z health >"$T/h.out"
check "health with data from the future exits 1" 1 "$?"
check "freshness ahead of now is a WARNING" WARNING "$(awk '$2 == "freshness" {print $1}' "$T/h.out")"
contains_line "which names it" "after now: clock skew or data from the future" "$(grep freshness "$T/h.out")"
check "a checkpoint after now is a readiness WARNING" WARNING "$(awk '$2 == "readiness" {print $1}' "$T/h.out")"
contains_line "which names it" "the checkpoint is after now" "$(grep readiness "$T/h.out")"
check "freshness 4 min ahead (within validate.future_skew) is OK" OK \
  "$(fresh 2026-11-19T18:46:09Z | awk '{print $1}')"
check "freshness 6 min ahead is a WARNING" WARNING "$(fresh 2026-11-19T18:44:09Z | awk '{print $1}')"

# ---- exact times: the newest created_at is 2026-11-19T18:50:09Z, shown and aged exactly ----
contains_line "health shows the newest created_at as stored" "created 2026-11-19T18:50:09Z," \
  "$(fresh 2026-11-19T19:00:00Z)"
# health.fresh is 1 h: OK a microsecond before the age reaches it, WARNING at it
check "freshness 1 µs under 1 h is OK" OK "$(fresh 2026-11-19T19:50:08.999999Z | awk '{print $1}')"
check "freshness at exactly 1 h is a WARNING" WARNING "$(fresh 2026-11-19T19:50:09Z | awk '{print $1}')"
vfresh() { E --store "$S" --now "$1" validate 2>/dev/null | awk '$3 == "freshness"'; }
contains_line "validate shows the newest created_at as stored" "newest created_at 2026-11-19T18:50:09Z," \
  "$(vfresh 2026-11-20T00:00:00Z)"
# validate's freshness warns when the age exceeds health.stale (24 h)
check "validate freshness at exactly 24 h is OK" OK "$(vfresh 2026-11-20T18:50:09Z | awk '{print $1}')"
check "validate freshness 1 µs over 24 h is a WARNING" WARNING \
  "$(vfresh 2026-11-20T18:50:09.000001Z | awk '{print $1}')"
# fractional seconds and Unix seconds in the embedded table are read as ingest reads them
F="$T/f.db"
E --store "$F" init -q
sqlite3 "$F" "INSERT INTO memories (id, content, created_at) VALUES
  ('a', 'a memory', '2026-11-19T18:50:09.123456Z'), ('b', 'another', 1795100000)"
contains_line "health keeps the microseconds of the newest created_at" "created 2026-11-19T18:50:09.123456Z," \
  "$(E --store "$F" --now 2026-11-19T19:00:00Z health | awk '$2 == "freshness"')"
contains_line "validate keeps them too" "newest created_at 2026-11-19T18:50:09.123456Z," \
  "$(E --store "$F" --now 2026-11-20T00:00:00Z validate 2>/dev/null | awk '$3 == "freshness"')"
# a sqlite: source whose created_at holds Unix seconds (julianday() read them as Julian days)
U="$T/u.db"
sqlite3 "$U" "CREATE TABLE memories (id TEXT PRIMARY KEY, content TEXT, created_at INTEGER,
  updated_at INTEGER, metadata TEXT); INSERT INTO memories VALUES ('b', 'x', 1795100000, NULL, NULL)"
contains_line "validate reads a created_at in Unix seconds" "newest created_at 2026-11-19T14:53:20Z," \
  "$(E --store "$F" --source "sqlite:$U" --now 2026-11-20T00:00:00Z validate 2>/dev/null | awk '$3 == "freshness"')"

# ---- an unreachable PostgreSQL (nothing listens on port 1): validate exits 3, and its hint says
# so (the source's hint speaks of exit 75, which is run's); libpq's two lines stay apart ----
cat >"$T/pg.conf" <<CONF
source = postgresql://u@127.0.0.1:1/db
source.retries = 0
source.connect_timeout = 1s
CONF
E --config "$T/pg.conf" --store "$S" --now "$NOW" validate >/dev/null 2>"$T/pg.err"
check "validate on an unreachable PostgreSQL exits 3" 3 "$?"
if grep -q '^HINT:.*75' "$T/pg.err"; then fail "validate's hint speaks of exit 75: $(grep HINT "$T/pg.err")"; else
  ok "validate's hint does not speak of exit 75"; fi
if grep -q '^HINT:.*exit 3' "$T/pg.err"; then ok "validate's hint names exit 3"; else fail "no exit 3 in the hint: $(cat "$T/pg.err")"; fi
if grep -q '^DETAIL:.*Connection refused; Is the server running' "$T/pg.err"; then
  ok "libpq's lines are joined with '; '"; else fail "libpq's lines: $(grep DETAIL "$T/pg.err")"; fi
# ---- the history's retention (health.history_keep, 90 days) ----
cp "$S" "$T/keep.db"
hist() { sqlite3 "$T/keep.db" "SELECT count(*) FROM health_history WHERE at < $1"; }
E --store "$T/keep.db" --now 2026-01-01T00:00:00Z health -q >/dev/null
E --store "$T/keep.db" --now 2026-03-01T00:00:00Z health -q >/dev/null
jan=1767225601000000 # just after 2026-01-01, in microseconds
check "two months later the first results are kept" 8 "$(hist $jan)"
E --store "$T/keep.db" --now 2026-04-15T00:00:00Z health -q >/dev/null
check "past 90 days they leave the history" 0 "$(hist $jan)"
mar() { sqlite3 "$T/keep.db" "SELECT count(*) FROM health_history WHERE at = 1772323200000000"; }
check "the later ones stay" 8 "$(mar)"
printf 'health.history_keep = 0\n' >"$T/keep.conf"
E --config "$T/keep.conf" --store "$T/keep.db" --now 2027-01-01T00:00:00Z health -q >/dev/null
check "with health.history_keep = 0 nothing leaves" 8 "$(mar)"
E --store "$T/keep.db" --now 2027-01-01T00:00:01Z health -q >/dev/null
check "and with the default they do" 0 "$(mar)"

# ---- validate's example ids come from the data: an id that is not UTF-8 (a SQLite source may
# hold one) is shown with U+FFFD, in text and JSON (jansson refused the rule's whole array, and
# the rule lost every example); control characters in an id print as spaces in the text ----
sqlite3 "$T/ids.db" "CREATE TABLE memories (id TEXT PRIMARY KEY, content TEXT, created_at TEXT, updated_at TEXT, metadata TEXT);
  INSERT INTO memories VALUES (CAST(X'6964FF' AS TEXT), '', '2026-11-19T00:00:00Z', NULL, NULL),
    ('ok', 'fine', '2026-11-19T00:00:00Z', NULL, NULL),
    ('esc' || char(27) || '[2J' || char(10) || 'id', '', '2026-11-19T00:00:00Z', NULL, NULL)"
E --store "$T/ids-store.db" --source "sqlite:$T/ids.db" --now "$NOW" validate --json --examples 5 >"$T/ids.json" 2>/dev/null
check "an id that is not UTF-8 is an example, with U+FFFD" "$(printf 'esc\033[2J\nid|id\357\277\275')" \
  "$(jq -r '.rules[] | select(.rule == "content_empty") | .examples | sort | join("|")' "$T/ids.json")"
E --store "$T/ids-store.db" --source "sqlite:$T/ids.db" --now "$NOW" validate --examples 5 >"$T/ids.txt" 2>/dev/null
check "the text names both, on one line, without control characters" 1 \
  "$(grep -c "content_empty.*e\.g\..*esc \[2J id" "$T/ids.txt")"
check "and the bad bytes as U+FFFD" 1 "$(grep -c "$(printf 'id\357\277\275')" "$T/ids.txt")"
check "no ESC in validate's text" 0 "$(LC_ALL=C grep -c "$(printf '\033')" "$T/ids.txt")"

E --config "$T/pg.conf" --store "$S" --now "$NOW" ingest -q 2>"$T/pg.err"
check "ingest on an unreachable PostgreSQL still exits 75" 75 "$?"
if grep -q '^HINT:.*75' "$T/pg.err"; then ok "and its hint still says 75"; else fail "ingest hint: $(cat "$T/pg.err")"; fi

finish

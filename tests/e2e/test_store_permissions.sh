#!/usr/bin/env bash
# A store its user cannot write: the commands that only read it work, those that write fail
# (exit 2) with an error whose DETAIL names the file that cannot be written, and once that file
# is writable again the same command succeeds. The case that motivated it: a reader that opens a
# store made read-only (chmod 444) leaves a -shm file of mode 0444 beside it; after the store is
# made writable again every write failed with "attempt to write a readonly database" and
# nothing said that the -shm file was the cause. Also a folder the user cannot write (SQLite
# makes the -wal and -shm files there). Runs as an unprivileged user (nobody, through setpriv)
# when started as root, for whom permissions do not apply.
. "$(dirname "$0")/lib.sh"
T="$(mktemp -d)"
SPID=
trap 'chmod -R u+w "$T" 2>/dev/null; [ -n "$SPID" ] && kill "$SPID" 2>/dev/null; rm -rf "$T"' EXIT
NOW=2026-11-20T00:00:00Z
# AS: the unprivileged user's command prefix (exec'd, so that $! of a background job is the
# engram itself)
AS_CMD=()
if [ "$(id -u)" = 0 ]; then
  command -v setpriv >/dev/null || { echo "skip: root without setpriv"; exit 77; }
  chown 65534 "$T"
  AS_CMD=(setpriv --reuid=65534 --regid=65534 --clear-groups)
fi
AS() { "${AS_CMD[@]}" "$@"; }
AS "$ENGRAM_BIN" --version >/dev/null 2>&1 || { echo "skip: the unprivileged user cannot run $ENGRAM_BIN"; exit 77; }
U() { (cd "$T" && AS "$ENGRAM_BIN" --store "$T/s.db" --now "$NOW" "$@"); }
head -50 "$ENGRAM_SRC/data/sample-memories.jsonl" >"$T/a.jsonl"
chmod 644 "$T/a.jsonl"
U init -q && U import -q "$T/a.jsonl" && U run -q || { fail "a store for the test"; finish; exit 1; }

# the store read-only: reads work, writes say which file
AS chmod 444 "$T/s.db"
U stats >/dev/null 2>"$T/err"
check "stats reads a read-only store" 0 "$?"
U recall --no-rehearse meeting >/dev/null 2>"$T/err"
check "recall --no-rehearse reads a read-only store" 0 "$?"
U remember "a note" >/dev/null 2>"$T/err"
check "remember on a read-only store: exit 2" 2 "$?"
if grep -q "^DETAIL: the store $T/s.db is not writable" "$T/err"; then ok "the error names the store"; else
  fail "the error does not say the store is not writable: $(cat "$T/err")"; fi
U validate >"$T/out" 2>"$T/err"
if grep -q "source uniqueness" "$T/out"; then ok "validate checks a read-only store"; else
  fail "validate printed no rule: $(cat "$T/out" "$T/err")"; fi
# (regression: "could not record the validation: attempt to write a readonly database", which
# named no store and no file)
if grep -q "^engram: error: store \"$T/s.db\": could not record the validation" "$T/err" &&
  grep -q "^DETAIL: the store $T/s.db is not writable" "$T/err"; then
  ok "validate's error names the store it could not record in, and why"
else fail "validate's error does not name the store and the cause: $(cat "$T/err")"; fi

# serve on the read-only store: a rehearsing recall is the store's state (503 with the reason,
# detail and hint), not an internal error (regression: 500 {"error":"internal error"}); a plain
# recall answers
if command -v curl >/dev/null && command -v jq >/dev/null; then
  p=$(free_port 18380)
  "${AS_CMD[@]}" "$ENGRAM_BIN" --store "$T/s.db" --now "$NOW" serve --listen "127.0.0.1:$p" \
    2>"$T/serve.log" &
  SPID=$!
  for _ in $(seq 50); do curl -s --max-time 1 "http://127.0.0.1:$p/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  check "serve: a rehearsing recall on a read-only store is 503" 503 \
    "$(curl -s -o "$T/body" -w '%{http_code}' "http://127.0.0.1:$p/api/recall?q=maya&k=2&rehearse=1")"
  check "its error says the store is unavailable" "store unavailable" "$(jq -r .error "$T/body")"
  case "$(jq -r .detail "$T/body")" in
    "the store $T/s.db is not writable"*) ok "its detail names the store that cannot be written" ;;
    *) fail "its detail does not name the store: $(cat "$T/body")" ;;
  esac
  check "serve: a plain recall on it answers" 200 \
    "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$p/api/recall?q=maya&k=2")"
  kill "$SPID"
  wait "$SPID" 2>/dev/null
  SPID=
  if grep -q "error: serve: /api/recall" "$T/serve.log"; then
    fail "the refused rehearsal was logged as an internal error"
  else ok "the refused rehearsal is not logged as an internal error"; fi
fi

# the store writable again, the -shm file the reader made still read-only
AS chmod 644 "$T/s.db"
if [ -e "$T/s.db-shm" ] && ! AS test -w "$T/s.db-shm"; then
  U remember "a note" >/dev/null 2>"$T/err"
  check "remember with a read-only -shm file: exit 2" 2 "$?"
  if grep -q "^DETAIL: the store's shared-memory file $T/s.db-shm is not writable" "$T/err"; then
    ok "the error names the -shm file"
  else fail "the error does not name the -shm file: $(cat "$T/err")"; fi
  U run -q 2>"$T/err"
  check "run with a read-only -shm file: exit 2" 2 "$?"
  if grep -q "s.db-shm is not writable" "$T/err"; then ok "run's error names the -shm file"; else
    fail "run's error does not name the -shm file: $(cat "$T/err")"; fi
  AS chmod u+w "$T/s.db-shm" # as the hint says
else
  echo "note: this SQLite left no read-only -shm file; that part is not tested"
fi
U remember -q "a note" 2>"$T/err"
check "remember once the files are writable" 0 "$?"
check "its memory is stored" 1 "$(AS sqlite3 "$T/s.db" "SELECT count(*) FROM memories WHERE content = 'a note'")"
U run -q 2>"$T/err"
check "run once the files are writable" 0 "$?"

# snapshot files of another user (an operator's `sudo engram run`): the service user's run
# succeeds, warns, and says whose the file is and what to do (regression: only "Permission
# denied", and every run replayed the history from then on)
if [ "$(id -u)" = 0 ]; then
  rm -f "$T/s.db-snapshot" "$T/s.db-snapshot-2"
  (cd "$T" && "$ENGRAM_BIN" --store "$T/s.db" --now 2026-11-21T00:00:00Z run -q) || fail "root's run"
  (cd "$T" && AS "$ENGRAM_BIN" --store "$T/s.db" --now 2026-11-22T00:00:00Z run >/dev/null) 2>"$T/err"
  check "a run beside snapshot files of another user succeeds" 0 "$?"
  if grep -q "could not write the snapshot $T/s.db-snapshot.*the file belongs to uid 0, not to this user (uid 65534): remove it" "$T/err"; then
    ok "its warning says whose the snapshot file is and what to do"
  else fail "the warning does not say whose the file is: $(cat "$T/err")"; fi
  AS rm -f "$T/s.db-snapshot" "$T/s.db-snapshot-2" # as the warning says
  (cd "$T" && AS "$ENGRAM_BIN" --store "$T/s.db" --now 2026-11-23T00:00:00Z run --json) >"$T/rep.json" 2>"$T/err"
  check "the run after their removal writes the snapshot" true "$(jq -r .pipeline.snapshot_written "$T/rep.json")"
fi

# a folder the user cannot write: SQLite cannot make the -wal and -shm files
AS chmod 555 "$T"
U stats >/dev/null 2>"$T/err"
check "stats in a folder that cannot be written: exit 2" 2 "$?"
if grep -q "^DETAIL: the store's folder $T is not writable" "$T/err"; then ok "the error names the folder"; else
  fail "the error does not name the folder: $(cat "$T/err")"; fi
AS chmod 755 "$T"
finish

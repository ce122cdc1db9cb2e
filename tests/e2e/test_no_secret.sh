#!/usr/bin/env bash
# No secret in any output (issue 4): a known password sits in a 0600 config file whose source is
# an unreachable PostgreSQL; every command runs with it, serve answers every route with it, and
# the password must appear in none of their outputs, the metrics, the dashboard or the logs.
. "$(dirname "$0")/lib.sh"
for tool in curl; do command -v "$tool" >/dev/null || { echo "skipped: needs $tool"; exit 77; }; done
T="$(mktemp -d)"
SPID=""
trap '[ -n "$SPID" ] && kill "$SPID" 2>/dev/null; rm -rf "$T"' EXIT
SECRET='Zq8-canary-Pw-41x7'
OUT="$T/all.txt"
: >"$OUT"
NOW=2026-11-20T00:00:00Z
printf 'store = %s/s.db\nsource = postgresql://reader:%s@127.0.0.1:1/notes?connect_timeout=1\nsource.retries = 0\nsource.retry_delay = 10ms\n' "$T" "$SECRET" >"$T/engram.conf"
chmod 600 "$T/engram.conf"
# (lib.sh's E, with the config and the clock, its output collected)
E() { "$ENGRAM_BIN" --config "$T/engram.conf" --now "$NOW" "$@" >>"$OUT" 2>&1; }
# the embedded store, filled without the PostgreSQL source
"$ENGRAM_BIN" --store "$T/s.db" init -q
"$ENGRAM_BIN" --store "$T/s.db" import "$ENGRAM_SRC/data/sample-memories.jsonl" -q
"$ENGRAM_BIN" --store "$T/s.db" --now "$NOW" run -q
ID=$(sqlite3 "$T/s.db" "SELECT id FROM memory WHERE status = 'staged' ORDER BY id LIMIT 1")
E config check
E config check --json
E -v ingest
E -v run
E ingest --json
E stats
E stats --json
E export --what staging
E recall "garden pond" --explain
E recall "garden pond" --json
E trace "$ID"
E health
E health --json
E validate
E validate --json
E --store "$T/none.db" stats
n=$(wc -l <"$OUT")
[ "$n" -gt 100 ] && ok "every command printed something ($n lines)" || fail "too little output ($n lines)"
grep -q "127.0.0.1" "$OUT" && ok "the unreachable source is named" || fail "the source is never named"
PORT=""
for p in $(seq 18380 18420); do
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then PORT=$p; break; fi
done
"$ENGRAM_BIN" --config "$T/engram.conf" --now "$NOW" -v serve --listen "127.0.0.1:$PORT" >"$T/serve.out" 2>"$T/serve.log" &
SPID=$!
for _ in $(seq 1 50); do curl -s --max-time 1 "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
for route in / /healthz /readyz /health /metrics /api/stats "/api/recall?q=garden&k=5" "/api/trace/$ID" /nope; do
  curl -s --max-time 10 "http://127.0.0.1:$PORT$route" >>"$OUT" 2>&1
  echo >>"$OUT"
done
grep -q "engram_" "$OUT" && ok "the metrics were fetched" || fail "no metrics fetched"
grep -q "<svg" "$OUT" && ok "the dashboard was fetched" || fail "no dashboard fetched"
kill "$SPID"
wait "$SPID" 2>/dev/null
SPID=""
cat "$T/serve.out" "$T/serve.log" >>"$OUT"
# a password nested in the keyword form's dbname (a URI as dbname, which libpq expands): the
# commands that describe the source without connecting mask it too
printf 'store = %s/s.db\nsource = host=127.0.0.1 port=1 user=reader connect_timeout=1 dbname=postgresql://reader:%s@127.0.0.1:1/notes\nsource.retries = 0\n' "$T" "$SECRET" >"$T/nested.conf"
chmod 600 "$T/nested.conf"
for args in "health" "health --json" "config check" "ingest" "validate"; do
  # shellcheck disable=SC2086 # the words of args are the command's
  "$ENGRAM_BIN" --config "$T/nested.conf" --now "$NOW" $args >>"$OUT" 2>&1
done
grep -q "dbname=" "$OUT" && ok "the nested source is described" || fail "the nested source is never described"
strings "$T/s.db" "$T/s.db-wal" 2>/dev/null >>"$OUT"
if grep -qF "$SECRET" "$OUT"; then
  fail "the password appears:"
  grep -nF "$SECRET" "$OUT" | head -5
else
  ok "the password appears in no command output, route, metric, dashboard, log or the store"
fi
finish

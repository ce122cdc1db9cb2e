#!/usr/bin/env bash
# Connection strings that can never work fail at once with a configuration error (exit 2) that
# names the bad option, instead of being retried for seconds and reported as a temporary failure
# (exit 75, "check that the server runs"): a port that is not a number, an unknown sslmode or
# target_session_attrs, sslmode=require against a server without SSL (the test server has none),
# and an unknown keyword (which used to give no reason at all). A password in a string that does
# not parse is never printed.
. "$(dirname "$0")/lib.sh"
S=$(new_schema)
memories_table "$S"
# patient retries, so that a retried failure cannot pass for an immediate one
printf 'source.schema = %s\nsource.retries = 3\nsource.retry_delay = 1s\n' "$S" >"$T/e.conf"
base="host=127.0.0.1 port=$PGPORT dbname=$PGDATABASE user=$PGUSER"
uri="postgresql://$PGUSER@127.0.0.1:$PGPORT/$PGDATABASE"
now_ms() { date +%s%3N; }
# bad NAME EXPECTED_TEXT SOURCE: exit 2 within 1.5 s, EXPECTED_TEXT in the output, no "server runs"
bad() {
  local t0 rc ms
  t0=$(now_ms)
  "$ENGRAM_BIN" --config "$T/e.conf" --source "$3" --store "$T/s.db" ingest >"$T/last" 2>&1
  rc=$?
  ms=$(($(now_ms) - t0))
  check "$1: exits 2" 2 "$rc"
  [ "$ms" -lt 1500 ] && ok "$1: fails at once (${ms} ms)" || fail "$1: took ${ms} ms (retried?)"
  contains "$1: names the bad option" "$2" "$T/last"
  lacks "$1: is not reported as temporary" "server runs" "$T/last"
}
bad "port=abc" '"port"' "postgresql://$PGUSER@127.0.0.1:abc/$PGDATABASE"
bad "sslmode=bogus" 'sslmode value: "bogus"' "$uri?sslmode=bogus"
bad "target_session_attrs=bogus" 'target_session_attrs value: "bogus"' \
  "$base target_session_attrs=bogus"
bad "sslmode=require without SSL" "SSL was required" "$uri?sslmode=require"
# the hint turns SSL on in the server; it does not advise dropping encryption without a warning
# (it said "use sslmode=prefer or disable", against docs/SECURITY.md)
contains "sslmode=require without SSL: the hint turns ssl on in the server" "turn on ssl in the server" "$T/last"
contains "and says what lowering sslmode costs" "in clear" "$T/last"
bad "an unknown keyword" 'invalid connection option "bogus"' "$base bogus=1"

# a string that does not parse, with a password in it (from a 0600 config file)
printf 'source = postgresql://u:Sec%%zzr3t-Pw@127.0.0.1/x\n' >"$T/pw.conf"
chmod 600 "$T/pw.conf"
"$ENGRAM_BIN" --config "$T/pw.conf" --store "$T/p.db" ingest >"$T/last" 2>&1
check "unparseable URI with a password: exits 2" 2 $?
contains "unparseable URI: says why" "percent-encoded" "$T/last"
lacks "unparseable URI: the password is not printed" "r3t-Pw" "$T/last"

# the good string still works
"$ENGRAM_BIN" --config "$T/e.conf" --source "$uri?sslmode=disable" --store "$T/s.db" ingest >"$T/last" 2>&1
check "a valid connection string still connects" 0 $?

q -c "DROP SCHEMA $S CASCADE"
finish

#!/usr/bin/env bash
# `engram serve` end to end on the embedded store (no PostgreSQL needed): every route's status
# and JSON, /health's history at most every health.record_interval (never for HEAD), /metrics passes promtool, unknown paths and methods, the nosniff header, an encoded
# NUL (400), an over-long URL or headers (libmicrohttpd's 414 and 431, counted in /metrics), 16 parallel clients while `engram run`
# writes (no failures, no torn reads), a slow client does not block /healthz, an access log that
# a client cannot forge, break or disguise, no password in any answer or log, and no process
# left behind.
. "$(dirname "$0")/lib.sh"
serve_test curl jq promtool iconv sqlite3
NOW=2026-11-20T00:00:00Z
SECRET='Pw-s3cr3t-9f2kq'

E --store "$T/s.db" init -q && E --store "$T/s.db" import "$ENGRAM_SRC/data/sample-memories.jsonl" -q
E --store "$T/s.db" --now "$NOW" run -q || fail "run on the sample"

# get PATH [CURL ARGS]: body to $T/body, prints the status code
get() { local u=$1; shift; curl -s -o "$T/body" -w '%{http_code}' "$@" "http://127.0.0.1:$PORT$u"; }

start_serve "$T/serve.log" --store "$T/s.db" --now "$NOW" --verbose || { fail "serve starts"; exit 1; }
MAIN_SPID=$SPID # not PIDS[0]: that is a serve that found its port taken, when one did
BASE="http://127.0.0.1:$PORT"
ok "serve answers /healthz on port $PORT"

check "/healthz is 200" 200 "$(get /healthz)"
check "/healthz says ok" ok "$(jq -r .status "$T/body")"
check "/readyz is 200" 200 "$(get /readyz)"
check "/readyz says ready" ready "$(jq -r .status "$T/body")"
# the sample at 2026-11-20 is WARNING (freshness: stale), which /health serves as 200
check "/health is 200 for the sample" 200 "$(get /health)"
check "/health reports the §10 summary" WARNING "$(jq -r .status "$T/body")"
check "/health has eight checks" 8 "$(jq '.checks | length' "$T/body")"
# /health appends to the history at most every health.record_interval (5m): a load balancer
# probing every few seconds neither grows it without end nor fills the volume check's window of
# past results with minutes instead of days; a HEAD never records. `engram health` always does.
hist() { sqlite3 "$T/s.db" "SELECT count(*) FROM health_history"; }
check "the first /health recorded its eight results" 8 "$(hist)"
get /health >/dev/null
check "a second /health within 5 minutes recorded nothing" 8 "$(hist)"
check "and its report says so" true \
  "$(jq '.recorded == false and (.note | contains("health.record_interval"))' "$T/body")"
curl -s -o /dev/null -I "http://127.0.0.1:$PORT/health"
check "HEAD /health recorded nothing" 8 "$(hist)"
E --store "$T/s.db" --now "$NOW" health -q >/dev/null
check "engram health records each time" 16 "$(hist)"
check "/api/stats is 200" 200 "$(get /api/stats)"
check "/api/stats counts the staged memories" 1189 "$(jq .memories.by_status.staged "$T/body")"
check "/api/recall is 200" 200 "$(get '/api/recall?q=meeting&k=3')"
check "/api/recall answers k results" 3 "$(jq '.results | length' "$T/body")"
check "/api/recall echoes the query" meeting "$(jq -r .query "$T/body")"
ID=$(jq -r '.results[0].memory_id' "$T/body")
check "/api/recall does not rehearse by default" 0 \
  "$(sqlite3 "$T/s.db" "SELECT count(*) FROM presentation WHERE kind = 'recalled'")"
check "/api/recall matches engram recall --json" \
  "$(E --store "$T/s.db" --now "$NOW" recall --json --no-rehearse --k 3 meeting | jq -c '[.results[].memory_id]')" \
  "$(get '/api/recall?q=meeting&k=3' >/dev/null; jq -c '[.results[].memory_id]' "$T/body")"
check "/api/recall without q is 400" 400 "$(get /api/recall)"
check "/api/recall with a bad k is 400" 400 "$(get '/api/recall?q=x&k=zero')"
check "/api/trace/ID is 200" 200 "$(get "/api/trace/$ID")"
check "/api/trace/ID is the memory's trace" "$ID" "$(jq -r .memory_id "$T/body")"
check "/api/trace matches engram trace --json" \
  "$(E --store "$T/s.db" --now "$NOW" trace --json "$ID" | jq -c .diagnosis)" "$(jq -c .diagnosis "$T/body")"
check "/api/trace of an unknown id is 404" 404 "$(get /api/trace/no-such-memory)"
check "the 404 of trace is JSON" "not found" "$(jq -r .error "$T/body")"
check "/ is 200" 200 "$(get /)"
if grep -qi '<html' "$T/body"; then ok "/ is an HTML page"; else fail "/ is not HTML"; fi
check "an unknown path is 404" 404 "$(get /nope/x)"
check "the 404 names the path" "not found /nope/x" "$(jq -r '.error + " " + .path' "$T/body")"
check "POST is 405" 405 "$(get /healthz -X POST -d x=1)"
check "PUT is 405" 405 "$(get /api/stats -X PUT)"
check "HEAD is 200" 200 "$(curl -s -o /dev/null -w '%{http_code}' -I "$BASE/healthz")"
# a 404 echoes the path: its JSON must never be sniffed as HTML
if curl -s -D - -o /dev/null "$BASE/%3Cscript%3E" | grep -qi '^X-Content-Type-Options: nosniff'; then
  ok "JSON answers are sent with X-Content-Type-Options: nosniff"; else fail "no X-Content-Type-Options: nosniff"; fi

curl -s "$BASE/metrics" >"$T/m.txt"
if promtool check metrics <"$T/m.txt" >"$T/promtool.txt" 2>&1; then ok "promtool check metrics passes"; else
  fail "promtool check metrics"; sed 's/^/    /' "$T/promtool.txt" | head; fi
for m in engram_memories engram_pipeline_memories engram_concept_edges engram_memory_associations \
  engram_episodes engram_long_term_memories engram_creative_associations engram_ingest_lag_seconds \
  engram_last_run_phase_duration_seconds engram_runs_total engram_http_requests_total \
  engram_errors_total engram_staged_activation_strength_bucket engram_ltm_retrieval_strength_bucket \
  engram_recall_latency_seconds_bucket; do
  if grep -q "^$m[{ ]" "$T/m.txt"; then ok "/metrics has $m"; else fail "/metrics lacks $m"; fi
done
check "/metrics counts the sample's pipeline" 738 \
  "$(sed -n 's/^engram_pipeline_memories{status="consolidated"} //p' "$T/m.txt")"
# the retention histogram reads the strengths without the records (one index): the same
# values as the ltm view (docs/adr/0012), to the 9 digits it prints
check "/metrics' retrieval strength histogram counts the long-term records" \
  "$(sqlite3 "$T/s.db" 'SELECT count(*) FROM ltm')" \
  "$(sed -n 's/^engram_ltm_retrieval_strength_count //p' "$T/m.txt")"
check "and sums the ltm view's retrieval strengths" \
  "$(sqlite3 "$T/s.db" "SELECT printf('%.6f', sum(retrieval_strength)) FROM ltm")" \
  "$(sed -n 's/^engram_ltm_retrieval_strength_sum //p' "$T/m.txt" | awk '{ printf "%.6f", $1 }')"
check "and buckets them as the view does" \
  "$(sqlite3 "$T/s.db" 'SELECT count(*) FROM ltm WHERE retrieval_strength <= 0.5')" \
  "$(sed -n 's/^engram_ltm_retrieval_strength_bucket{le="0.5"} //p' "$T/m.txt")"
check "/metrics counts the recall requests" 2 \
  "$(sed -n 's/^engram_recall_latency_seconds_count //p' "$T/m.txt")"

# the ingest lag is measured from the newest created_at at or before now: a row dated in the
# future made it negative (and an alert on it silent) for as long as the row stayed
printf '%s\n' '{"id":"f1","content":"twelve hours old","created_at":"2026-11-19T12:00:00Z"}' \
  '{"id":"f2","content":"dated in the future","created_at":"2062-01-01T00:00:00Z"}' >"$T/f.jsonl"
E --store "$T/f.db" init -q && E --store "$T/f.db" import -q "$T/f.jsonl" &&
  E --store "$T/f.db" --now "$NOW" ingest -q || fail "the store with a row from the future"
MAIN_PORT=$PORT
start_serve "$T/serve-f.log" --store "$T/f.db" --now "$NOW" || fail "serve starts on it"
check "a row dated after now does not make the ingest lag negative" 43200.000000 \
  "$(get /metrics >/dev/null; sed -n 's/^engram_ingest_lag_seconds //p' "$T/body")"
# a run going on is a gauge, not a counter series: counted under outcome="running", the counter
# fell back (or vanished) when the run finished
runs_of() { get /metrics >/dev/null; grep -E '^engram_runs_(total|running)\{command="run"' "$T/body" | tr '\n' ' '; }
check "the store has no run yet (only an ingest)" "" "$(runs_of)"
sqlite3 "$T/f.db" "INSERT INTO runs (command, now, started_at, outcome) VALUES ('run', 0, 0, 'running')"
check "a run going on is engram_runs_running, not engram_runs_total" \
  'engram_runs_running{command="run"} 1 ' "$(runs_of)"
sqlite3 "$T/f.db" "UPDATE runs SET outcome = 'ok', finished_at = 1 WHERE outcome = 'running'"
check "once it finished, the counter counts it and the gauge is 0" \
  'engram_runs_total{command="run",outcome="ok"} 1 engram_runs_running{command="run"} 0 ' "$(runs_of)"
kill "$SPID"; wait "$SPID" 2>/dev/null
PORT=$MAIN_PORT

# text that is not UTF-8 in an id or a path is an unknown id or path: 404 with valid JSON (the
# bad bytes echoed as U+FFFD), not a 500, and no error counted
utf8_json() { # KEY: its value in $T/body, if that is valid UTF-8 (iconv) and valid JSON (jq)
  iconv -f UTF-8 -t UTF-8 "$T/body" >/dev/null 2>&1 || { echo "not UTF-8"; return; }
  jq -r --arg k "$1" '.[$k]' "$T/body" 2>&1
}
errors() { curl -s "$BASE/metrics" | sed -n 's/^engram_errors_total //p'; }
E0=$(errors)
check "/api/trace/ of an id that is not UTF-8 is 404" 404 "$(get '/api/trace/%FF%FE')"
check "its JSON is valid UTF-8 and echoes the id with U+FFFD" "$(printf '\xef\xbf\xbd\xef\xbf\xbd')" "$(utf8_json memory_id)"
check "a path that is not UTF-8 is 404" 404 "$(get '/nope%C3%28')"
check "its JSON is valid UTF-8 and echoes the path with U+FFFD" "$(printf '/nope\xef\xbf\xbd(')" "$(utf8_json path)"
check "/api/recall with a query that is not UTF-8 is valid JSON" "$(printf 'meeting \xef\xbf\xbd')" \
  "$(get '/api/recall?q=meeting%20%FF&k=1' >/dev/null; utf8_json query)"
check "a 404 is no error in engram_errors_total" "$E0" "$(errors)"
# rehearse= takes 1/true/yes and 0/false/no; anything else is a 400; HEAD never rehearses
recalled() { sqlite3 "$T/s.db" "SELECT count(*) FROM presentation WHERE kind = 'recalled'"; }
R0=$(recalled)
check "/api/recall with rehearse=maybe is 400" 400 "$(get '/api/recall?q=meeting&k=1&rehearse=maybe')"
check "HEAD /api/recall?rehearse=1 is 200" 200 "$(get '/api/recall?q=meeting&k=1&rehearse=1' -I)"
check "HEAD /api/recall records no presentation" "$R0" "$(recalled)"
check "/api/recall with rehearse=no records none" "$R0" "$(get '/api/recall?q=meeting&k=1&rehearse=no' >/dev/null; recalled)"
check "/api/recall with rehearse=yes is 200" 200 "$(get '/api/recall?q=meeting&k=1&rehearse=yes')"
check "rehearse=yes records the presentation" $((R0 + 1)) "$(recalled)"
check "rehearse=true too" $((R0 + 2)) "$(get '/api/recall?q=garden&k=1&rehearse=TRUE' >/dev/null; recalled)"
# an encoded NUL (%00) ended the decoded path or argument early (libmicrohttpd hands them over
# as C strings): /api/trace/ID%00x answered for ID, /healthz%00x was /healthz, rehearse=1%00x
# rehearsed; such a URL is now refused with 400, and %2500 (a literal "%00") is no NUL
check "/api/trace/ID%00x is 400, not the trace of ID" 400 "$(get "/api/trace/$ID%00x")"
check "its JSON names the encoded NUL" "the URL holds an encoded NUL character (%00)" "$(jq -r .error "$T/body")"
check "/healthz%00x is 400" 400 "$(get '/healthz%00x')"
R0=$(recalled)
check "/api/recall with rehearse=1%00x is 400" 400 "$(get '/api/recall?q=marathon&k=1&rehearse=1%00x')"
check "and records no presentation" "$R0" "$(recalled)"
check "/api/recall?q=%2500 (a literal %00) is 200" 200 "$(get '/api/recall?q=%2500&k=1')"
check "and searches for %00" "%00" "$(jq -r .query "$T/body")"
# a request line over libmicrohttpd's 32 KiB buffer is refused by it before the handler, with its
# own HTML body (RUNBOOK: it has no hook for a JSON one); a 20 KiB one is still engram's 404
check "a 40 KiB URL is 414 (libmicrohttpd's answer)" 414 "$(get "/$(printf '%040000d' 0)")"
check "a 20 KiB URL is engram's JSON 404" "404 not found" "$(get "/$(printf '%020000d' 0)") $(jq -r .error "$T/body")"
check "40 KiB of headers are 431 (libmicrohttpd's answer)" 431 "$(get /healthz -H "X-Big: $(printf '%040000d' 0)")"
# answered before engram's handler, they were missing from engram_http_requests_total; they are
# counted under the route "other", as engram's own answers before routing (400, 405)
other() { curl -s "$BASE/metrics" | sed -n "s/^engram_http_requests_total{route=\"other\",code=\"$1\"} //p"; }
check "the 414 is counted in engram_http_requests_total" 1 "$(other 414)"
check "and the 431" 1 "$(other 431)"
# a path with an encoded line break and bytes that are not UTF-8 must not forge or break a line
# of the access log (checked at the end, when the log is complete)
get '/x%0A2026-01-01T00:00:00Z%20127.0.0.1%20GET%20/forged%20200%200%200.0ms%FF' >/dev/null
# nor may valid UTF-8 that breaks a line for many readers (NEL U+0085, U+2028), drives a terminal
# (the C1 CSI U+009B) or reorders what it shows (the right-to-left override U+202E)
get '/y%C2%85b%E2%80%A8c%C2%9B31m%E2%80%AEexe.gnp' >/dev/null

# a slow client: one byte per second of a request, held open while others are served
(
  exec 3<>"/dev/tcp/127.0.0.1/$PORT" || exit 0
  for c in G E T ' ' / h e a l t h; do printf %s "$c" >&3; sleep 1; done
) 2>/dev/null &
SLOW=$!
PIDS+=("$SLOW")
sleep 1.5
if curl -s --max-time 1 "$BASE/healthz" >/dev/null; then ok "/healthz answers within 1 s beside a slow client"; else
  fail "/healthz blocked by a slow client"; fi
# it holds one of the 16 connections allowed per IP: stop it before the 16 clients start
kill "$SLOW" 2>/dev/null
wait "$SLOW" 2>/dev/null

# 16 clients while runs write the store: they start before the first run and stop a second
# after the last (at most 120 s), so they see the store before, between and after the runs
# however slow the machine is
client() { # N: loops on recall, health and stats; records "code route [sum staged]" lines
  local end=$((SECONDS + 120)) out="$T/client.$1" code
  : >"$out"
  while [ "$SECONDS" -lt "$end" ] && [ ! -e "$T/clients.stop" ]; do
    code=$(curl -s --max-time 12 -o "$T/c$1.json" -w '%{http_code}' "$BASE/api/recall?q=project+deadline&k=5")
    echo "$code recall" >>"$out"
    code=$(curl -s --max-time 12 -o "$T/c$1.json" -w '%{http_code}' "$BASE/health")
    echo "$code health $(jq -r .status "$T/c$1.json" 2>/dev/null)" >>"$out"
    code=$(curl -s --max-time 12 -o "$T/c$1.json" -w '%{http_code}' "$BASE/api/stats")
    echo "$code stats $(jq -r '[(.pipeline.by_status // {} | add // 0), .memories.by_status.staged] | map(tostring) | join(" ")' "$T/c$1.json" 2>/dev/null)" >>"$out"
  done
}
CL=()
for n in $(seq 16); do client "$n" & CL+=("$!"); done
# the runs start once every client has seen the store as it is before them
for _ in $(seq 300); do
  [ "$(grep -l ' stats ' "$T"/client.* 2>/dev/null | wc -l)" -ge 16 ] && break
  sleep 0.1
done
RUNS_OK=1
for t in 2026-11-21T00:00:00Z 2026-11-22T06:00:00Z 2026-11-23T12:00:00Z; do
  # new memories each time, so that a torn read (new rows without their pipeline) would show
  for k in 1 2 3; do
    E --store "$T/s.db" --now "$t" remember -q "Served while running: note $k about the project deadline at $t" || RUNS_OK=0
  done
  E --store "$T/s.db" --now "$t" run -q || RUNS_OK=0
done
sleep 1
touch "$T/clients.stop"
wait "${CL[@]}"
check "engram run succeeds while being served" 1 "$RUNS_OK"
cat "$T"/client.* >"$T/all.txt"
TOTAL=$(wc -l <"$T/all.txt")
if [ "$TOTAL" -gt 48 ]; then ok "the clients made $TOTAL requests"; else fail "only $TOTAL requests"; fi
check "no failed recall or stats answer" 0 "$(grep -Ev '^200 (recall|stats)' "$T/all.txt" | grep -cv ' health ')"
grep -Ev '^200 (recall|stats)|^200 health (OK|WARNING)$' "$T/all.txt" | sort | uniq -c | head -5
# /health: 200 for OK/WARNING, 503 only with CRITICAL/UNKNOWN in the body
check "/health answers agree with their status" 0 \
  "$(grep ' health ' "$T/all.txt" | grep -Evc '^200 health (OK|WARNING)$|^503 health (CRITICAL|UNKNOWN)$')"
check "no torn read: pipeline statuses sum to the staged total" 0 \
  "$(awk '$1 == 200 && $2 == "stats" && $3 != $4' "$T/all.txt" | wc -l)"
# the check has teeth only if the clients saw the store at more than one run
seen=$(awk '$1 == 200 && $2 == "stats" { print $4 }' "$T/all.txt" | sort -u | wc -l)
if [ "$seen" -ge 2 ]; then ok "the clients saw $seen different staged totals while runs added memories"; else
  fail "the clients saw only $seen staged total(s)"; fi

# no secret anywhere: a postgresql source with a password in a 0600 config file (unreachable)
cat >"$T/engram.conf" <<CONF
store = $T/s.db
source = postgresql://engram:$SECRET@127.0.0.1:1/engramdb
source.retries = 0
source.connect_timeout = 1s
CONF
chmod 600 "$T/engram.conf"
MAIN_PORT=$PORT
start_serve "$T/serve2.log" --config "$T/engram.conf" --now "$NOW" --verbose || fail "serve starts with a PostgreSQL source"
check "/health is 503 when the source is unreachable" 503 "$(get /health)"
check "/health says CRITICAL" CRITICAL "$(jq -r .status "$T/body")"
cp "$T/body" "$T/secret.health"
for u in /healthz /readyz /metrics /api/stats '/api/recall?q=meeting' "/api/trace/$ID" / /nope; do
  get "$u" >/dev/null
  cat "$T/body" >>"$T/secret.all"
done
cat "$T/secret.health" >>"$T/secret.all"
if grep -qF "$SECRET" "$T/secret.all"; then fail "a response shows the password"; else ok "no response shows the password"; fi

# SIGHUP (a closed terminal, a log rotation) does not stop the server: it logs and goes on
kill -HUP "$SPID"
sleep 0.3
check "serve still answers after SIGHUP" 200 "$(get /healthz)"
if grep -q "SIGHUP received" "$T/serve2.log"; then ok "serve logs the SIGHUP"; else fail "serve does not log the SIGHUP"; fi

# stop both servers; nothing may be left
kill "$SPID"
wait "$SPID"
check "serve exits 0 on SIGTERM" 0 "$?"
PORT=$MAIN_PORT
kill -INT "$MAIN_SPID"
wait "$MAIN_SPID"
check "serve exits 0 on SIGINT" 0 "$?"
if grep -qF "$SECRET" "$T/serve.log" "$T/serve2.log"; then fail "the log shows the password"; else ok "no log shows the password"; fi
if grep -q 'GET /healthz 200' "$T/serve.log"; then ok "--verbose writes an access log"; else fail "no access log"; fi
check "the access log has no forged line" 0 "$(grep -c '^2026-01-01T00:00:00Z' "$T/serve.log")"
if grep -qF 'GET /x\x0a2026-01-01T00:00:00Z 127.0.0.1 GET /forged 200 0 0.0ms\xff 404' "$T/serve.log"; then
  ok "the access log escapes the line break and the byte that is not UTF-8"; else fail "the access log does not escape the path"; fi
if grep -qF 'GET /y\xc2\x85b\xe2\x80\xa8c\xc2\x9b31m\xe2\x80\xaeexe.gnp 404' "$T/serve.log"; then
  ok "the access log escapes NEL, U+2028, the C1 CSI and the RTL override"; else fail "the access log does not escape NEL, U+2028, C1 or bidi controls"; fi
check "the access log holds none of them raw" 0 \
  "$(LC_ALL=C grep -c -e $'\xc2\x85' -e $'\xe2\x80\xa8' -e $'\xc2\x9b' -e $'\xe2\x80\xae' "$T/serve.log")"
if LC_ALL=C grep -q $'\xff' "$T/serve.log"; then fail "the access log holds a raw byte that is not UTF-8"; else ok "the access log holds no raw byte that is not UTF-8"; fi
left=0
for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && left=$((left + 1)); done
check "no serve process is left" 0 "$left"
PIDS=()
finish

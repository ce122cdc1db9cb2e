#!/usr/bin/env bash
# `engram serve` as HTTP clients use it, on the embedded store: HTTP/1.1 keep-alive (one
# connection for several requests, as curl with several URLs, browsers and Prometheus reuse it),
# a GET with a body (answered, then the connection closes), a graceful stop while keep-alive
# clients are busy (every request answered or refused, none cut off, no wait for a client still
# sending its headers), a port in use (the error names the cause), IPv6 loopback, requests that
# wait for the store beside /healthz, a dashboard whose store text is not UTF-8, a request
# target in absolute form, an HTTP/1.1 request without Host (400), and a store that does not
# exist (every route names it, none creates it).
. "$(dirname "$0")/lib.sh"
serve_test curl iconv jq sqlite3
NOW=2026-11-20T00:00:00Z

E --store "$T/s.db" init -q && E --store "$T/s.db" import "$ENGRAM_SRC/data/sample-memories.jsonl" -q
E --store "$T/s.db" --now "$NOW" run -q || fail "run on the sample"
# a failed run whose error holds a byte that is not UTF-8 (a Latin-1 file name): runs.error
E --store "$T/s.db" --now "$NOW" --source "sqlite:$T/caf$(printf '\xe9').db" run -q 2>/dev/null
check "the run from a missing Latin-1 path failed" failed \
  "$(sqlite3 "$T/s.db" 'SELECT outcome FROM runs ORDER BY run_id DESC LIMIT 1')"
# and one whose error holds control characters (ESC of a terminal colour, the C1 NEL)
sqlite3 "$T/s.db" "INSERT INTO runs (command, now, started_at, finished_at, outcome, error)
  VALUES ('run', 0, 0, 1, 'failed', 'red' || char(27) || '[31m nel' || char(133) || '.')"

start_serve "$T/serve.log" --store "$T/s.db" --now "$NOW" || { fail "serve starts"; exit 1; }
BASE="http://127.0.0.1:$PORT"

# ---- keep-alive: an answer queued at libmicrohttpd's first call of the handler was an "early"
# one, sent with Connection: close, so every request needed a new connection ----
curl -sv -o /dev/null -o /dev/null -o /dev/null "$BASE/healthz" "$BASE/metrics" "$BASE/api/stats" \
  2>"$T/keep.txt"
check "three requests in one curl open one connection" 1 "$(grep -c '^\* Connected to' "$T/keep.txt")"
check "and reuse it twice" 2 "$(grep -c 'Re-using existing connection' "$T/keep.txt")"
check "all three are 200" 3 "$(grep -c '^< HTTP/1.1 200' "$T/keep.txt")"
check "no answer closes the connection" 0 "$(grep -ci '^< Connection: close' "$T/keep.txt")"
# ---- the request target and Host (RFC 9112): a target in absolute form, as a proxy sends it,
# is served as its path; an HTTP/1.1 request without Host is 400; HTTP/1.0 needs none ----
check "a target in absolute form is served as its path" 200 \
  "$(curl -s -o /dev/null -w '%{http_code}' --request-target "$BASE/healthz" "$BASE/")"
# its query is kept (libmicrohttpd parses it before the handler), also with no path
check "a recall in absolute form keeps its query" 2 \
  "$(curl -s --request-target "$BASE/api/recall?q=garden&k=2" "$BASE/" | jq '.results | length')"
check "a target in absolute form without a path is /, with its query" 200 \
  "$(curl -s -o /dev/null -w '%{http_code}' --request-target "$BASE?q=garden" "$BASE/")"
check "an HTTP/1.1 request without Host is 400" 400 \
  "$(curl -s -o /dev/null -w '%{http_code}' -H 'Host:' "$BASE/healthz")"
check "an HTTP/1.0 one is served" 200 "$(curl -s -0 -o /dev/null -w '%{http_code}' -H 'Host:' "$BASE/healthz")"
# HTTP/1.0 with Keep-Alive (ab -k, older clients) is kept open too
printf '' >"$T/h10.txt"
curl -s -0 -H 'Connection: keep-alive' -D "$T/h10.txt" -o /dev/null "$BASE/healthz"
check "an HTTP/1.0 keep-alive request is answered with Connection: Keep-Alive" 1 \
  "$(grep -ci '^Connection: Keep-Alive' "$T/h10.txt")"
# a request with a body (no route reads one) is answered at once, and its connection closed
# rather than its body read: libmicrohttpd refuses an answer queued while a body comes in
check "a GET with a body is 200" 200 \
  "$(curl -s -o "$T/body" -D "$T/hb.txt" -w '%{http_code}' -X GET -d 'x=1' "$BASE/healthz")"
check "its answer closes the connection" 1 "$(grep -ci '^Connection: close' "$T/hb.txt")"
check "a chunked GET is 200" 200 \
  "$(curl -s -o /dev/null -w '%{http_code}' -X GET -H 'Transfer-Encoding: chunked' -d 'x=1' "$BASE/healthz")"
check "a POST with a body is 405" 405 "$(curl -s -o /dev/null -w '%{http_code}' -d 'x=1' "$BASE/healthz")"
check "a HEAD is 200 with the GET's length" "$(curl -s "$BASE/api/stats" | wc -c)" \
  "$(curl -sI "$BASE/api/stats" | tr -d '\r' | sed -n 's/^Content-Length: //Ip')"

# ---- the dashboard stays UTF-8 when the store's text is not ----
check "/ is 200" 200 "$(curl -s -o "$T/page.html" -w '%{http_code}' "$BASE/")"
if iconv -f UTF-8 -t UTF-8 "$T/page.html" >/dev/null 2>&1; then ok "the dashboard is valid UTF-8"; else
  fail "the dashboard holds bytes that are not UTF-8"; fi
if grep -qF "caf$(printf '\xef\xbf\xbd').db does not exist" "$T/page.html"; then
  ok "the failed run's error shows U+FFFD for the Latin-1 byte"; else fail "the error is not in the page with U+FFFD"; fi
if grep -qF "red$(printf '\xef\xbf\xbd')[31m nel$(printf '\xef\xbf\xbd')." "$T/page.html"; then
  ok "control characters show as U+FFFD"; else fail "control characters are not replaced"; fi
check "the page holds no ESC and no C1 control" 0 "$(LC_ALL=C grep -c -e $'\x1b' -e $'\xc2\x85' "$T/page.html")"

# ---- a port in use: the error says so ----
E --store "$T/s.db" serve --listen "127.0.0.1:$PORT" 2>"$T/inuse.txt"
check "serve on a port in use exits 2" 2 "$?"
if grep -q "could not listen on 127.0.0.1:$PORT: Address already in use" "$T/inuse.txt"; then
  ok "the error names the cause"; else fail "the error does not say the port is in use: $(head -1 "$T/inuse.txt")"; fi
# TEST-NET-1 (documentation), not an address of this machine unless a sandbox took it: then
# serve would run, and timeout ends it (124: skipped)
timeout 5 "$ENGRAM_BIN" --store "$T/s.db" serve --listen "192.0.2.1:$PORT" 2>"$T/notlocal.txt"
rc=$?
if [ "$rc" = 124 ]; then echo "# 192.0.2.1 is local here: skipped"; else
  check "serve on an address that is not local exits 2" 2 "$rc"
  if grep -q "could not listen on 192.0.2.1:$PORT: Cannot assign requested address" "$T/notlocal.txt"; then
    ok "the error says the address is not local"; else fail "the error does not name the cause: $(head -1 "$T/notlocal.txt")"; fi
fi

# ---- IPv6 loopback, and the address it serves on said as a URL: "::1:PORT" is accepted by
# --listen, but "http://::1:PORT/" (as it was echoed) is no URL ----
P6=$(free_port 18300)
"$ENGRAM_BIN" --store "$T/s.db" serve --listen "::1:$P6" 2>"$T/v6.log" & # not E: $! must be engram
V6=$!
PIDS+=("$V6")
for _ in $(seq 50); do
  grep -q '^engram: serving' "$T/v6.log" && break
  kill -0 "$V6" 2>/dev/null || break
  sleep 0.1
done
if grep -q 'Cannot assign requested address\|Address family not supported' "$T/v6.log"; then
  echo "# no IPv6 loopback here: skipped"
else
  if grep -qF "on http://[::1]:$P6/ (stop" "$T/v6.log"; then ok "serve says its IPv6 URL with brackets"; else
    fail "the IPv6 URL: $(head -1 "$T/v6.log")"; fi
  check "/healthz over IPv6 loopback is 200" 200 "$(curl -s -g -o /dev/null -w '%{http_code}' "http://[::1]:$P6/healthz")"
  check "an IPv6 listener takes no IPv4 connection" 000 \
    "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$P6/healthz")"
fi
kill "$V6" 2>/dev/null
wait "$V6" 2>/dev/null

# ---- requests that wait do not hold up others: 16 reads wait for a lock a sqlite3 shell holds
# (an exclusive lock in a rollback journal, as during a first load: readers wait up to their
# 10 s busy timeout); meanwhile /healthz and /metrics' process part answer at once. With a pool
# of 4 workers, each waiting request held its worker and every connection that worker had
# accepted: /healthz waited as long as the lock ----
rm -f "$T/locked"
printf "PRAGMA journal_mode=DELETE;\nBEGIN EXCLUSIVE;\nUPDATE meta SET value = value WHERE key = 'fts_rowid';\n.shell touch %s; sleep 6\nROLLBACK;\nPRAGMA journal_mode=WAL;\n" \
  "$T/locked" | sqlite3 "$T/s.db" >/dev/null 2>&1 &
LPID=$!
PIDS+=("$LPID")
for _ in $(seq 100); do [ -e "$T/locked" ] && break; sleep 0.05; done
[ -e "$T/locked" ] || fail "the lock holder started"
WT=()
for n in $(seq 16); do
  curl -s -o /dev/null -w '%{http_code}\n' --max-time 15 "$BASE/api/stats" >"$T/wait.$n" &
  WT+=("$!")
  PIDS+=("$!")
done
sleep 1
slow=0
for _ in 1 2 3 4 5; do
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$BASE/healthz")
  [ "$code" = 200 ] || slow=$((slow + 1))
  sleep 0.2
done
check "/healthz answers within 1 s while 16 reads wait for the store" 0 "$slow"
wait "$LPID"
wait "${WT[@]}"
check "and the 16 reads are answered once the lock is gone" 16 "$(cat "$T"/wait.* | grep -c '^200$')"

# ---- a graceful stop while keep-alive clients are busy: each request is answered (200) or, once
# the server stopped accepting, refused (curl exit 7); none is cut off (empty reply 52, reset 56) ----
CL=()
for n in 1 2 3 4; do
  (
    args=()
    for _ in $(seq 400); do args+=(-o /dev/null "$BASE/api/recall?q=garden+pond&k=5"); done
    curl -s -w '%{http_code} %{exitcode}\n' "${args[@]}" >"$T/stop.$n"
  ) &
  CL+=("$!")
  PIDS+=("$!")
done
for _ in $(seq 100); do
  [ "$(cat "$T"/stop.* 2>/dev/null | grep -c '^200 ')" -ge 40 ] && break
  sleep 0.05
done
# and a client that has sent half of its headers: the stop does not wait for it (it waited
# until the connection's 10 s idle timeout, as for a request in progress)
exec 5<>"/dev/tcp/127.0.0.1/$PORT"
printf 'GET /healthz HTTP/1.1\r\nHo' >&5
sleep 0.2
t0=$SECONDS
kill -TERM "$SPID"
wait "$SPID"
check "serve exits 0 on SIGTERM under load" 0 "$?"
took=$((SECONDS - t0))
if [ "$took" -le 3 ]; then ok "the stop took ${took} s beside a half-sent request"; else
  fail "the stop took ${took} s: it waited for the half-sent request"; fi
exec 5>&-
wait "${CL[@]}" 2>/dev/null
cat "$T"/stop.* >"$T/stop.all"
check "every request was answered or refused, none cut off" 0 "$(grep -cvE '^(200 0|000 7)$' "$T/stop.all")"
grep -vE '^(200 0|000 7)$' "$T/stop.all" | sort | uniq -c | head -3
if grep -q '^200 0$' "$T/stop.all"; then ok "the clients were answered before the stop"; else fail "no answer before the stop"; fi

# ---- a store that does not exist (a typo in --store): the routes that read it answered a bare
# {"error":"store unavailable"}, and / that JSON to a browser; they now name the store and say
# how to create it (as /readyz and every command do), / as a page; nothing creates it ----
start_serve "$T/missing.log" --store "$T/typo.db" --now "$NOW" || fail "serve starts on a missing store"
BASE="http://127.0.0.1:$PORT"
code() { curl -s -o "$T/body" -D "$T/head" -w '%{http_code}' "$BASE$1"; }
for u in /api/stats '/api/recall?q=garden' /api/trace/x; do
  check "$u on a missing store is 503" 503 "$(code "$u")"
  check "its JSON names the store" "store unavailable: store \"$T/typo.db\" does not exist" \
    "$(jq -r '.error + ": " + .reason' "$T/body")"
  case "$(jq -r .hint "$T/body")" in
    *"engram init --store $T/typo.db"*) ok "and says how to create it" ;;
    *) fail "$u: no hint to create the store: $(cat "$T/body")" ;;
  esac
done
check "/ on a missing store is 503" 503 "$(code /)"
check "as an HTML page" "text/html; charset=utf-8" "$(tr -d '\r' <"$T/head" | sed -n 's/^Content-Type: //Ip')"
if grep -qF "store &quot;$T/typo.db&quot; does not exist" "$T/body"; then ok "the page names the missing store"; else
  fail "the page does not name the missing store: $(head -c 300 "$T/body")"; fi
check "/readyz on a missing store is 503" 503 "$(code /readyz)"
check "/health on a missing store is 503" 503 "$(code /health)"
check "/metrics says the store is down" "engram_store_up 0" "$(code /metrics >/dev/null; grep '^engram_store_up' "$T/body")"
check "no route created the store" no "$(ls "$T"/typo.db* >/dev/null 2>&1 && echo yes || echo no)"
kill "$SPID"
wait "$SPID" 2>/dev/null
finish

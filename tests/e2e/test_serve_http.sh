#!/usr/bin/env bash
# `engram serve` as HTTP clients use it, on the embedded store: HTTP/1.1 keep-alive (one
# connection for several requests, as curl with several URLs, browsers and Prometheus reuse it),
# a GET with a body (answered, then the connection closes), a graceful stop while keep-alive
# clients are busy (every request answered or refused, none cut off), and a port in use (the
# error names the cause).
. "$(dirname "$0")/lib.sh"
serve_test curl
NOW=2026-11-20T00:00:00Z

E --store "$T/s.db" init -q && E --store "$T/s.db" import "$ENGRAM_SRC/data/sample-memories.jsonl" -q
E --store "$T/s.db" --now "$NOW" run -q || fail "run on the sample"

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

# ---- a port in use: the error says so ----
E --store "$T/s.db" serve --listen "127.0.0.1:$PORT" 2>"$T/inuse.txt"
check "serve on a port in use exits 2" 2 "$?"
if grep -q "could not listen on 127.0.0.1:$PORT: Address already in use" "$T/inuse.txt"; then
  ok "the error names the cause"; else fail "the error does not say the port is in use: $(head -1 "$T/inuse.txt")"; fi
E --store "$T/s.db" serve --listen "192.0.2.1:$PORT" 2>"$T/notlocal.txt" # TEST-NET-1, not local
check "serve on an address that is not local exits 2" 2 "$?"
if grep -q "could not listen on 192.0.2.1:$PORT: Cannot assign requested address" "$T/notlocal.txt"; then
  ok "the error says the address is not local"; else fail "the error does not name the cause: $(head -1 "$T/notlocal.txt")"; fi

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
kill -TERM "$SPID"
wait "$SPID"
check "serve exits 0 on SIGTERM under load" 0 "$?"
wait "${CL[@]}" 2>/dev/null
cat "$T"/stop.* >"$T/stop.all"
check "every request was answered or refused, none cut off" 0 "$(grep -cvE '^(200 0|000 7)$' "$T/stop.all")"
grep -vE '^(200 0|000 7)$' "$T/stop.all" | sort | uniq -c | head -3
if grep -q '^200 0$' "$T/stop.all"; then ok "the clients were answered before the stop"; else fail "no answer before the stop"; fi
finish

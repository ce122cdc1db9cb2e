#!/usr/bin/env bash
# The dashboard page of `engram serve` (SPEC §12) end to end on the embedded store (no
# PostgreSQL needed): the sample memories run at a fixed clock, the server started on a free
# loopback port, `/` fetched with curl (the five charts by id, the numbers of `engram stats`,
# store text HTML-escaped, the same page twice for the same store and --now), then loaded in
# headless Chromium: the charts are in the rendered DOM and a screenshot is written to
# $ENGRAM_TEST_OUT/dashboard.png. Skipped (77) until `engram serve` exists, or without curl/jq.
. "$(dirname "$0")/../integration/lib.sh"
for tool in curl jq; do
  command -v "$tool" >/dev/null || { echo "skipped: needs $tool"; exit 77; }
done
"$ENGRAM_BIN" serve --help >/dev/null 2>&1 || { echo "skipped: engram serve is not built"; exit 77; }
NOW=2026-11-20T00:00:00Z
OUT="${ENGRAM_TEST_OUT:-$T/out}"
mkdir -p "$OUT"
SERVER= # the pid of engram itself (not of a subshell running the engram function)
cleanup() {
  if [ -n "$SERVER" ]; then
    kill "$SERVER" 2>/dev/null
    wait "$SERVER" 2>/dev/null
  fi
  rm -rf "$T"
}
trap cleanup EXIT

# ---- a store from the sample memories, with characters that need escaping in its path ----
S="$T/dash<b>&\"x.db"
engram --store "$S" init -q
engram --store "$S" import -q "$ENGRAM_SRC/data/sample-memories.jsonl"
engram --store "$S" --now "$NOW" run -q || fail "engram run"
engram --store "$S" stats --json >"$T/stats.json"

# ---- the server on the first free port from 18180 ----
PORT=
for p in $(seq 18180 18260); do
  (echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue # taken
  "$ENGRAM_BIN" --store "$S" --now "$NOW" serve --verbose --listen "127.0.0.1:$p" 2>"$T/serve.err" &
  SERVER=$!
  for _ in $(seq 1 100); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$p/healthz" 2>/dev/null; then
      PORT=$p
      break
    fi
    kill -0 "$SERVER" 2>/dev/null || break # exited: the port was taken meanwhile
    sleep 0.1
  done
  [ -n "$PORT" ] && break
  kill "$SERVER" 2>/dev/null
  wait "$SERVER" 2>/dev/null
  SERVER=
done
if [ -z "$PORT" ]; then
  fail "engram serve did not answer /healthz"
  sed 's/^/    /' "$T/serve.err"
  finish
  exit
fi
URL="http://127.0.0.1:$PORT/"

# ---- the page as served ----
ctype=$(curl -fsS -o "$T/page.html" -w '%{content_type}' "$URL") || fail "GET / failed"
check "the page is HTML" true "$(case "$ctype" in text/html*) echo true ;; *) echo "$ctype" ;; esac)"
contains "an HTML5 document" "<!DOCTYPE html>" "$T/page.html"
# defence in depth behind the escaping: a policy that allows no script, frame, form or fetch
curl -fsS -D "$T/head.txt" -o /dev/null "$URL" || fail "GET / (headers) failed"
contains "the page is sent with a Content-Security-Policy that allows nothing but inline CSS" \
  "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; img-src data:;" "$T/head.txt"
contains "and with X-Content-Type-Options: nosniff" "X-Content-Type-Options: nosniff" "$T/head.txt"
for id in funnel activation forgetting freshness; do
  check "the $id chart is an svg" 1 "$(grep -c "<svg id=\"$id\"" "$T/page.html")"
done
contains "the recent runs table" '<table id="runs">' "$T/page.html"
lacks "no external assets" 'src="http' "$T/page.html"
lacks "no script" "<script" "$T/page.html"
# without an icon of its own, each load also asked for /favicon.ico: a 404 and a console error
contains "the page has an inline icon (no /favicon.ico request)" '<link rel="icon" href="data:,">' "$T/page.html"
check "every chart has axis titles" 8 "$(grep -c 'class="axis-title"' "$T/page.html")"

consolidated=$(jq -r '.pipeline.by_status.consolidated' "$T/stats.json")
forgotten=$(jq -r '.pipeline.by_status.forgotten' "$T/stats.json")
staged=$(jq -r '.memories.by_status.staged' "$T/stats.json")
contains "consolidated count of engram stats ($consolidated)" ">$consolidated <tspan" "$T/page.html"
contains "forgotten count of engram stats ($forgotten)" ">$forgotten</text>" "$T/page.html"
contains "staged count of engram stats ($staged)" "activation strength of the $staged staged" "$T/page.html"
contains "the checkpoint is the run's clock" '<dd id="checkpoint">2026-11-20 00:00:00Z</dd>' "$T/page.html"
contains "the pipeline run is in the runs table" "<td>pipeline</td>" "$T/page.html"
contains "the last run's outcome is coloured" '<span class="badge ok">ok</span>' "$T/page.html"
contains "the store path is HTML-escaped" "dash&lt;b&gt;&amp;&quot;x.db" "$T/page.html"
lacks "no raw markup from the store" "dash<b>" "$T/page.html"
# the freshness bars sum to the memories created in the 30 days before --now
fresh=$(engram --store "$S" export --format jsonl |
  jq -s --arg now "$NOW" '[.[] | select(.created_at != null and .created_at <= $now and
    .created_at > "2026-10-21T00:00:00Z")] | length')
contains "freshness counts the 30 days before --now ($fresh)" \
  "in the 30 days before now: $fresh;" "$T/page.html"
curl -fsS -o "$T/page2.html" "$URL" || fail "second GET / failed"
check "the same store and --now give the same page" "" "$(cmp "$T/page.html" "$T/page2.html" 2>&1)"

# ---- rendered by a browser ----
CHROME=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$CHROME" ]; then
  echo "# no chromium: browser checks skipped"
else
  chrome() {
    timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --disable-background-networking \
      --disable-component-update --disable-sync --no-first-run --user-data-dir="$(mktemp -d -p "$T")" \
      --window-size=1280,900 "$@" 2>>"$T/chrome.err"
  }
  chrome --dump-dom "$URL" >"$T/dom.html" || fail "chromium --dump-dom"
  for id in funnel activation forgetting freshness; do
    check "the $id chart is in the rendered DOM" 1 "$(grep -c "<svg id=\"$id\"" "$T/dom.html")"
  done
  check "the runs table is in the rendered DOM" 1 "$(grep -c '<table id="runs">' "$T/dom.html")"
  rm -f "$OUT/dashboard.png"
  chrome --screenshot="$OUT/dashboard.png" "$URL" >/dev/null || fail "chromium --screenshot"
  size=$(stat -c %s "$OUT/dashboard.png" 2>/dev/null || echo 0)
  check "the screenshot is a PNG" "89504e47" "$(head -c 4 "$OUT/dashboard.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')"
  check "the screenshot is not blank (>20 kB)" true "$([ "$size" -gt 20000 ] && echo true || echo "$size bytes")"
  echo "# screenshot: $OUT/dashboard.png"
  lacks "chromium asked for no /favicon.ico (the access log)" "/favicon.ico" "$T/serve.err"
fi

# ---- the server stops on SIGTERM ----
kill "$SERVER"
wait "$SERVER"
check "engram serve exits 0 on SIGTERM" 0 "$?"
SERVER=
finish

#!/usr/bin/env bash
# CLI golden tests: runs each command line of NAME.t (in a fresh temp dir, with `engram` meaning
# the binary under test) and compares what it prints — "$ command", stdout+stderr, "[exit N]" —
# with NAME.out. Volatile text (the temp dir, durations, wall-clock times) is normalised.
# GOLDEN_UPDATE=1 rewrites NAME.out instead of comparing.
set -u
t_file="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
out_file="${t_file%.t}.out"
bin="${ENGRAM_BIN:?ENGRAM_BIN must point at the engram binary}"
src="${ENGRAM_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
actual="$work/.actual"
export ENGRAM_SRC="$src" HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config"
unset ENGRAM_CONFIG ENGRAM_PROFILE PGHOST PGPORT PGUSER PGDATABASE PGPASSWORD PGPASSFILE
mkdir -p "$HOME"
engram() { "$bin" "$@"; }
export -f engram 2>/dev/null || true
export bin
cd "$work"
: >"$actual"
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in ''|'#'*) continue ;; esac
  printf '$ %s\n' "$line" >>"$actual"
  bash -c "engram() { \"\$bin\" \"\$@\"; }; $line" >>"$actual" 2>&1 </dev/null
  printf '[exit %d]\n' $? >>"$actual"
done <"$t_file"
sed -E -i \
  -e "s#$work#\$T#g" \
  -e "s#$src#\$SRC#g" \
  -e 's/took +[0-9]+\.[0-9]+ s \(read and stage [0-9.]+, indexes [0-9.]+, restage [0-9.]+, full-text [0-9.]+, commit [0-9.]+\)/took N s/' \
  -e 's/"ms":\{[^}]*\}/"ms":{}/g' \
  -e 's/"(started_at|finished_at)":"[^"]*"/"\1":"T"/g' \
  -e 's/took [0-9]+\.[0-9]+ s/took N s/g' \
  -e 's/; [0-9]+\.[0-9]+ s \(load [0-9.]+, simulate [0-9.]+, save [0-9.]+\)/; N s/' \
  "$actual"
if [ "${GOLDEN_UPDATE:-0}" = 1 ]; then
  cp "$actual" "$out_file"
  echo "updated $out_file"
  exit 0
fi
if ! diff -u "$out_file" "$actual"; then
  echo "golden test $(basename "$t_file") FAILED (GOLDEN_UPDATE=1 to accept the new output)" >&2
  exit 1
fi
echo "golden test $(basename "$t_file") passed"

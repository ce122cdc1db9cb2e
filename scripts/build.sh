#!/usr/bin/env bash
# Builds engram. Usage: scripts/build.sh [release|asan]   (default: release)
#   release -> build/       optimised, what the demo and the benchmarks use
#   asan    -> build-asan/  AddressSanitizer + UndefinedBehaviorSanitizer, what the tests use
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:-release}"
jobs="$(nproc 2>/dev/null || echo 2)"
case "$kind" in
  release) dir=build; flags=(-DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF) ;;
  asan)    dir=build-asan; flags=(-DCMAKE_BUILD_TYPE=Debug -DENGRAM_SANITIZE=ON -DBUILD_TESTING=ON) ;;
  *) echo "usage: $0 [release|asan]" >&2; exit 2 ;;
esac
cmake -S . -B "$dir" "${flags[@]}" >/dev/null
# the progress lines are dropped; a failed build fails the script (an older binary left in
# $dir must not pass for this one)
status=0
cmake --build "$dir" -j "$jobs" 2>&1 | { grep -vE '^\[ *[0-9]+%\]|^-- ' || true; } || status=$?
[ "$status" -eq 0 ] || { echo "build.sh: the $kind build failed" >&2; exit 1; }
test -x "$dir/engram"

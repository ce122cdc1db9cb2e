#!/usr/bin/env bash
# Quick start, command 1: installs what is missing, builds, and runs the main job on the
# embedded default — a new SQLite store, the bundled sample memories imported, a run, a summary.
# Usage: scripts/demo.sh [STORE]   (default: demo/engram.db)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh release
store="${1:-demo/engram.db}"
mkdir -p "$(dirname "$store")"
rm -f "$store" "$store-wal" "$store-shm"
engram=./build/engram
$engram --store "$store" init
$engram --store "$store" import data/sample-memories.jsonl || [ $? -eq 1 ]   # 1: some rows quarantined
$engram --store "$store" run || [ $? -eq 1 ]                                    # 1: some rows quarantined
$engram --store "$store" stats
echo
echo "The store is $store. Try: $engram --store $store export --what staging | head"

#!/usr/bin/env bash
# Installs every Debian package engram needs to build, test and benchmark.
# Idempotent: installs only what is missing, and runs `apt-get update` only then.
# Needs nothing but apt-get (run as root, or with sudo available).
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config git ca-certificates
  libpq-dev libsqlite3-dev sqlite3 libjansson-dev libstemmer-dev libutf8proc-dev
  libxxhash-dev libcmocka-dev libinih-dev libmicrohttpd-dev curl
  postgresql-15 postgresql-client-15
  clang-format time jq
  prometheus chromium fonts-dejavu-core
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

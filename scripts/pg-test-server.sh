#!/usr/bin/env bash
# pg-test-server.sh — engram's own throw-away PostgreSQL 15 for the integration tests.
#
#   scripts/pg-test-server.sh start|stop|restart|kill|status
#   scripts/pg-test-server.sh psql-admin [PSQL ARGS...]   (SQL as superuser in engram_test)
#
# start   initdb in a fresh temp dir (owned by the `postgres` OS user when run as root), listen
#         only on 127.0.0.1 at the first free port from 55432 up, create the LOGIN role
#         engram_test (random password), its database, and a read-only LOGIN role engram_ro;
#         write tests/out/pgpass (0600), tests/out/pg.password (0600) and tests/out/pg.env.
#         When a server from an earlier start exists it is reused (and started if it was killed).
# stop    stop the server, delete its temp dir and the files in tests/out.
# restart restart the server with the same data (starts it if it was killed).
# kill    immediate stop, like a crash: no shutdown checkpoint, data kept, pg.env kept.
# status  exit 0 and say where it runs, or exit 3 when it does not.
#
# Nothing secret is committed: the passwords are generated per start and live in tests/out/
# (git-ignored) and in the temp dir only.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$ROOT/tests/out"
ENV_FILE="$OUT/pg.env"
PGPASS_FILE="$OUT/pgpass"
PASSWORD_FILE="$OUT/pg.password"
BINDIR="${ENGRAM_PG_BINDIR:-/usr/lib/postgresql/15/bin}"
FIRST_PORT="${ENGRAM_PG_FIRST_PORT:-55432}"
SUPERUSER=postgres
DB=engram_test
USER_RW=engram_test
USER_RO=engram_ro

die() {
  echo "pg-test-server: $*" >&2
  exit 1
}
say() { echo "pg-test-server: $*" >&2; }

[ -x "$BINDIR/postgres" ] || die "no PostgreSQL binaries in $BINDIR (run scripts/deps.sh, or set ENGRAM_PG_BINDIR)"

IS_ROOT=0
if [ "$(id -u)" -eq 0 ]; then IS_ROOT=1; fi

# initdb and postgres refuse to run as root: run them as the postgres OS user then.
as_pg() {
  if [ "$IS_ROOT" -eq 1 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# The state of an earlier start, read back from pg.env (empty when there is none).
DIR=""
PORT=""
load_env() {
  DIR=""
  PORT=""
  if [ -f "$ENV_FILE" ]; then
    DIR=$(sed -n 's/^export ENGRAM_PG_DIR=//p' "$ENV_FILE" | tr -d "'")
    PORT=$(sed -n 's/^export PGPORT=//p' "$ENV_FILE" | tr -d "'")
  fi
}

is_running() {
  [ -n "$DIR" ] && [ -d "$DIR/data" ] && (cd "$DIR" && as_pg "$BINDIR/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1)
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

random_password() {
  local pw
  pw=$(LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom 2>/dev/null | head -c 32 || true)
  [ ${#pw} -eq 32 ] || die "could not generate a password from /dev/urandom"
  printf '%s' "$pw"
}

pg_ctl_start() {
  (cd "$DIR" && as_pg "$BINDIR/pg_ctl" -D "$DIR/data" -l "$DIR/postgres.log" -w -t 60 start >/dev/null)
}

admin_psql() {
  (cd "$DIR" && as_pg "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$DIR" -p "$PORT" -U "$SUPERUSER" "$@")
}

write_env() {
  umask 077
  mkdir -p "$OUT"
  local pw_rw pw_ro
  pw_rw=$(cat "$DIR/password.rw")
  pw_ro=$(cat "$DIR/password.ro")
  printf '127.0.0.1:%s:*:%s:%s\n127.0.0.1:%s:*:%s:%s\n' \
    "$PORT" "$USER_RW" "$pw_rw" "$PORT" "$USER_RO" "$pw_ro" >"$PGPASS_FILE.tmp"
  chmod 600 "$PGPASS_FILE.tmp"
  mv -f "$PGPASS_FILE.tmp" "$PGPASS_FILE"
  printf '%s\n' "$pw_rw" >"$PASSWORD_FILE.tmp"
  chmod 600 "$PASSWORD_FILE.tmp"
  mv -f "$PASSWORD_FILE.tmp" "$PASSWORD_FILE"
  cat >"$ENV_FILE.tmp" <<EOF
# Written by scripts/pg-test-server.sh start; source it: . tests/out/pg.env
export PGHOST=127.0.0.1
export PGPORT=$PORT
export PGUSER=$USER_RW
export PGDATABASE=$DB
export PGPASSFILE='$PGPASS_FILE'
export ENGRAM_PG_DIR='$DIR'
export ENGRAM_PG_SOCKET='$DIR'
export ENGRAM_PG_PASSWORD_FILE='$PASSWORD_FILE'
export ENGRAM_PG_RO_USER=$USER_RO
EOF
  chmod 644 "$ENV_FILE.tmp"
  mv -f "$ENV_FILE.tmp" "$ENV_FILE"
}

cmd_start() {
  load_env
  if [ -n "$DIR" ] && [ -d "$DIR/data" ] && [ -f "$DIR/password.rw" ]; then
    if is_running; then
      say "already running on 127.0.0.1:$PORT ($DIR)"
    else
      say "starting the existing server in $DIR"
      pg_ctl_start || die "could not start; see $DIR/postgres.log"
    fi
    write_env
    return 0
  fi
  rm -f "$ENV_FILE"

  DIR=$(mktemp -d "${TMPDIR:-/tmp}/engram-pg.XXXXXX")
  chmod 700 "$DIR"
  if [ "$IS_ROOT" -eq 1 ]; then
    id postgres >/dev/null 2>&1 || die "no 'postgres' OS user (install postgresql-15)"
    chown postgres: "$DIR"
  fi
  local pw_rw pw_ro
  pw_rw=$(random_password)
  pw_ro=$(random_password)
  (umask 077 && printf '%s' "$pw_rw" >"$DIR/password.rw" && printf '%s' "$pw_ro" >"$DIR/password.ro")

  (cd "$DIR" && as_pg "$BINDIR/initdb" -D "$DIR/data" -U "$SUPERUSER" --encoding=UTF8 --locale=C \
    --auth-local=trust --auth-host=scram-sha-256 >"$DIR/initdb.log" 2>&1) ||
    die "initdb failed; see $DIR/initdb.log"

  local started=0
  PORT=$FIRST_PORT
  for _ in $(seq 1 100); do
    if port_in_use "$PORT"; then
      PORT=$((PORT + 1))
      continue
    fi
    cat >"$DIR/engram.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DIR'
fsync = off
full_page_writes = off
synchronous_commit = off
max_connections = 50
lc_messages = 'C'
password_encryption = 'scram-sha-256'
log_min_messages = warning
EOF
    chmod 644 "$DIR/engram.conf"
    grep -q "^include_if_exists = '$DIR/engram.conf'" "$DIR/data/postgresql.conf" ||
      echo "include_if_exists = '$DIR/engram.conf'" | as_pg tee -a "$DIR/data/postgresql.conf" >/dev/null
    rm -f "$DIR/postgres.log"
    if pg_ctl_start; then
      started=1
      break
    fi
    # Someone took the port between the probe and the bind: try the next one.
    if grep -q "could not bind\|could not create any TCP/IP sockets" "$DIR/postgres.log" 2>/dev/null; then
      PORT=$((PORT + 1))
      continue
    fi
    die "could not start PostgreSQL; see $DIR/postgres.log"
  done
  [ "$started" -eq 1 ] || die "no free port from $FIRST_PORT to $PORT"

  admin_psql -d postgres <<EOF
CREATE ROLE $USER_RW LOGIN PASSWORD '$pw_rw';
CREATE ROLE $USER_RO LOGIN PASSWORD '$pw_ro';
CREATE DATABASE $DB OWNER $USER_RW;
REVOKE ALL ON DATABASE $DB FROM PUBLIC;
GRANT CONNECT ON DATABASE $DB TO $USER_RO;
EOF
  admin_psql -d "$DB" <<EOF
GRANT USAGE ON SCHEMA public TO $USER_RO;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO $USER_RO;
ALTER DEFAULT PRIVILEGES FOR ROLE $USER_RW IN SCHEMA public GRANT SELECT ON TABLES TO $USER_RO;
EOF
  write_env
  say "running on 127.0.0.1:$PORT ($DIR); . tests/out/pg.env"
}

cmd_stop() {
  load_env
  if [ -z "$DIR" ]; then
    say "not running (no $ENV_FILE)"
    rm -f "$PGPASS_FILE" "$PASSWORD_FILE"
    return 0
  fi
  if is_running; then
    (cd "$DIR" && as_pg "$BINDIR/pg_ctl" -D "$DIR/data" -m fast -w -t 60 stop >/dev/null) ||
      die "could not stop the server in $DIR"
  fi
  case "$DIR" in
  "${TMPDIR:-/tmp}"/engram-pg.* | /tmp/engram-pg.*) rm -rf "$DIR" ;;
  *) say "not removing unexpected directory $DIR" ;;
  esac
  rm -f "$ENV_FILE" "$PGPASS_FILE" "$PASSWORD_FILE"
  say "stopped"
}

cmd_restart() {
  load_env
  if [ -z "$DIR" ] || [ ! -d "$DIR/data" ]; then
    die "no test server to restart (run start)"
  fi
  if is_running; then
    (cd "$DIR" && as_pg "$BINDIR/pg_ctl" -D "$DIR/data" -l "$DIR/postgres.log" -m fast -w -t 60 \
      restart >/dev/null) || die "could not restart; see $DIR/postgres.log"
  else
    pg_ctl_start || die "could not start; see $DIR/postgres.log"
  fi
  say "restarted on 127.0.0.1:$PORT"
}

cmd_kill() {
  load_env
  if ! is_running; then
    say "not running"
    return 0
  fi
  (cd "$DIR" && as_pg "$BINDIR/pg_ctl" -D "$DIR/data" -m immediate -w -t 60 stop >/dev/null) ||
    die "could not stop the server in $DIR"
  say "killed (immediate stop); data kept in $DIR"
}

cmd_status() {
  load_env
  if is_running; then
    echo "running on 127.0.0.1:$PORT ($DIR)"
    return 0
  fi
  if [ -n "$DIR" ] && [ -d "$DIR/data" ]; then
    echo "not running (data kept in $DIR)"
  else
    echo "not running"
  fi
  return 3
}

cmd_psql_admin() {
  load_env
  is_running || die "not running (run start)"
  admin_psql -d "$DB" "$@"
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
restart) cmd_restart ;;
kill) cmd_kill ;;
status) cmd_status ;;
psql-admin)
  shift
  cmd_psql_admin "$@"
  ;;
*)
  echo "usage: $0 start|stop|restart|kill|status|psql-admin [psql args...]" >&2
  exit 2
  ;;
esac

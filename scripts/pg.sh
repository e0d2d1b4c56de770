#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster for the test suite or the benchmark,
# installing PostgreSQL from Debian's packages if it is missing.
#   source scripts/pg.sh && pg_start   -> exports VARUH_TEST_PG_URL, PG_DIR
#   pg_stop                              -> stops it and removes its files
# The cluster listens on a free loopback port and a socket in its temp dir.

pg_bin() {
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  return 1
}

pg_install() {
  if ! pg_bin >/dev/null; then
    echo "PostgreSQL not found: installing it from Debian's packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
  fi
  pg_bin >/dev/null || { echo "PostgreSQL could not be installed" >&2; return 1; }
}

pg_start() {
  pg_install || return 1
  local bin; bin=$(pg_bin)
  PG_DIR=$(mktemp -d /tmp/varuh-pg.XXXXXX)
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
  # initdb refuses to run as root: the cluster belongs to the postgres user.
  local run=()
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "$PG_DIR"
    run=(runuser -u postgres --)
  fi
  "${run[@]}" "$bin/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --no-locale >"$PG_DIR/initdb.log" 2>&1 \
    || { cat "$PG_DIR/initdb.log" >&2; return 1; }
  "${run[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_DIR -c max_connections=400 ${PG_EXTRA_OPTS:-}" start >/dev/null \
    || { cat "$PG_DIR/server.log" >&2; return 1; }
  export PG_DIR PG_PORT=$port
  export VARUH_TEST_PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
  export VARUH_TEST_PG_DATADIR="$PG_DIR/data"
  echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') running on 127.0.0.1:$port ($PG_DIR)" >&2
}

pg_stop() {
  [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR/data" ] || return 0
  local bin; bin=$(pg_bin)
  local run=()
  [ "$(id -u)" = 0 ] && run=(runuser -u postgres --)
  "${run[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
}

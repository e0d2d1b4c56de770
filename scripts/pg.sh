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

# A throwaway CA and a server certificate for the name "localhost" only
# (so that verify-full to 127.0.0.1 fails and to localhost succeeds).
pg_tls() {
  command -v openssl >/dev/null || { export DEBIAN_FRONTEND=noninteractive; apt-get install -y -qq openssl >/dev/null; }
  local t="$PG_DIR/tls"
  mkdir -p "$t"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3 -subj "/CN=varuh test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
    -keyout "$t/ca.key" -out "$t/ca.crt" 2>/dev/null || return 1
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$t/server.key" -out "$t/server.csr" 2>/dev/null || return 1
  printf "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n" >"$t/ext"
  openssl x509 -req -in "$t/server.csr" -CA "$t/ca.crt" -CAkey "$t/ca.key" -CAcreateserial -days 3 \
    -extfile "$t/ext" -out "$t/server.crt" 2>/dev/null || return 1
  chmod 600 "$t/server.key"
  [ "$(id -u)" = 0 ] && chown -R postgres "$t"
  chmod 755 "$t"; chmod 644 "$t/ca.crt"
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
  pg_tls || return 1
  # The role varuh_tls may connect only over TLS (the TLS tests use it).
  { echo "hostssl all varuh_tls 127.0.0.1/32 trust"; echo "host all varuh_tls 127.0.0.1/32 reject";
    cat "$PG_DIR/data/pg_hba.conf"; } >"$PG_DIR/hba" && cp "$PG_DIR/hba" "$PG_DIR/data/pg_hba.conf"
  "${run[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_DIR -c max_connections=400 -c ssl=on -c ssl_cert_file=$PG_DIR/tls/server.crt -c ssl_key_file=$PG_DIR/tls/server.key ${PG_EXTRA_OPTS:-}" start >/dev/null \
    || { cat "$PG_DIR/server.log" >&2; return 1; }
  "${run[@]}" "$bin/psql" -q -h "$PG_DIR" -p "$port" -U postgres -d postgres \
    -c "CREATE ROLE varuh_tls LOGIN SUPERUSER" >/dev/null || return 1
  export PG_DIR PG_PORT=$port
  export VARUH_TEST_PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
  export VARUH_TEST_PG_DATADIR="$PG_DIR/data"
  export VARUH_TEST_PG_CA="$PG_DIR/tls/ca.crt"
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

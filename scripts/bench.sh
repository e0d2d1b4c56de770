#!/usr/bin/env bash
# The vault benchmark, side by side in one run on this machine: varuh on
# SQLite; varuh on PostgreSQL with one server and with two servers sharing
# the database; and the hand-built PostgreSQL baseline
# (../shared/bench/diy-baseline.sh, MODE=raw) with the same clients, preload
# and seconds. The throwaway cluster gets the baseline's shared_buffers;
# varuh connects with sslmode=disable there, as pgbench does to the
# baseline's cluster (which has no certificate).
#   scripts/bench.sh [subjects] [clients] [seconds]      (default 100000 32 10)
set -euo pipefail
cd "$(dirname "$0")/.."
subjects=${1:-100000}; clients=${2:-32}; secs=${3:-10}
args=(--subjects "$subjects" --clients "$clients" --seconds "$secs")
cargo build --release --locked --bins
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
./target/release/varuh-bench --backend sqlite "${args[@]}"
source scripts/pg.sh
trap pg_stop EXIT
PG_EXTRA_OPTS="-c shared_buffers=512MB" pg_start
psql_=("$(pg_bin)/psql" -q -h "$PG_DIR" -p "$PG_PORT" -U postgres -d postgres)
"${psql_[@]}" -c "CREATE DATABASE bench_one" -c "CREATE DATABASE bench_two"
base="postgres://postgres@127.0.0.1:$PG_PORT"
./target/release/varuh-bench --backend postgres --database-url "$base/bench_one?sslmode=disable" "${args[@]}"
./target/release/varuh-bench --backend postgres --servers 2 --database-url "$base/bench_two?sslmode=disable" "${args[@]}"
pg_stop
baseline=../shared/bench/diy-baseline.sh
if [ -f "$baseline" ]; then
  MODE=raw bash "$baseline" "$secs" "$clients" "$subjects"
else
  echo "($baseline not found: no baseline in this run)"
fi

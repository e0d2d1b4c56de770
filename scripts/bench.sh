#!/usr/bin/env bash
# The vault benchmark on SQLite and on PostgreSQL (a throwaway cluster).
#   scripts/bench.sh [varuh-bench options, e.g. --subjects 100000 --clients 32 --seconds 10]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --bins
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
./target/release/varuh-bench --backend sqlite "$@"
source scripts/pg.sh
trap pg_stop EXIT
pg_start
./target/release/varuh-bench --backend postgres --database-url "$VARUH_TEST_PG_URL" "$@"

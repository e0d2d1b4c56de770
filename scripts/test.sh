#!/usr/bin/env bash
# Runs every test: unit tests, and the integration suite against SQLite and
# against a throwaway PostgreSQL cluster (installed if missing), then lints.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pg.sh
trap pg_stop EXIT
pg_start
cargo test --locked "$@"
if [ "${CI:-}" = "true" ] || [ "${VARUH_LINT:-}" = "1" ]; then
  cargo clippy --locked --all-targets -- -D warnings
fi

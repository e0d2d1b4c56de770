#!/usr/bin/env bash
# Runs every test: formatting, unit tests, the integration suite against
# SQLite and against a throwaway PostgreSQL cluster (installed if missing),
# the OpenAPI check with schemathesis, then clippy with warnings denied.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --check
bash scripts/deps.sh
source scripts/pg.sh
trap pg_stop EXIT
pg_start
cargo test --locked "$@"
bash scripts/schemathesis.sh target/debug/varuh
cargo clippy --locked --all-targets -- -D warnings

#!/usr/bin/env bash
# Regenerates the console's screenshots in docs/console/ (PNG), shown in
# docs/console.md: the browser tests run once with VARUH_SCREENSHOTS set,
# and each page they check is also saved. Needs Debian's chromium and
# chromium-driver (scripts/deps.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
mkdir -p docs/console
VARUH_SCREENSHOTS="$PWD/docs/console" cargo test --locked --test api browser -- --test-threads=1
ls -l docs/console

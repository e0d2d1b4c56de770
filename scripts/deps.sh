#!/usr/bin/env bash
# Installs what the tests need besides Rust and PostgreSQL (scripts/pg.sh):
# oathtool (Debian; the TOTP tests check codes with it) and schemathesis
# (PyPI; the OpenAPI conformance run). Idempotent: installs only what is missing.
set -euo pipefail
if ! command -v oathtool >/dev/null; then
  echo "installing oathtool from Debian's packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq oathtool >/dev/null
fi
if ! python3 -c 'import schemathesis' 2>/dev/null; then
  echo "installing schemathesis from PyPI" >&2
  python3 -m pip install -q --disable-pip-version-check "schemathesis==4.32.5"
fi

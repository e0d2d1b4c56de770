#!/usr/bin/env bash
# Installs what the tests need besides Rust and PostgreSQL (scripts/pg.sh):
# oathtool (Debian; the TOTP tests check codes with it) and schemathesis
# (PyPI; the OpenAPI conformance run), aiosmtpd (PyPI; a real SMTP server
# on loopback for the e-mail tests), poppler-utils and age (Debian; the
# document tests read PDFs with pdftotext and open age files with age),
# moto's S3 server (PyPI; the backup tests' object storage). Idempotent: installs only what is missing.
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
if ! python3 -c 'import aiosmtpd' 2>/dev/null; then
  echo "installing aiosmtpd from PyPI (the Art. 19 notice tests send mail to it)" >&2
  python3 -m pip install -q --disable-pip-version-check "aiosmtpd==1.4.6"
fi
if ! python3 -c 'import moto.server, flask' 2>/dev/null; then
  echo "installing moto's S3 server from PyPI (the backup tests write to it)" >&2
  python3 -m pip install -q --disable-pip-version-check "moto[server]==5.2.1"
fi
if ! command -v pdftotext >/dev/null || ! command -v age >/dev/null; then
  echo "installing poppler-utils and age from Debian's packages (the document tests read PDFs and open age files with them)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq poppler-utils age >/dev/null
fi
# The console's browser tests: Debian's Chromium and ChromeDriver, and the
# axe-core accessibility checker from the npm registry (injected into each
# page the tests visit). Without them the browser tests say they skipped.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  echo "installing chromium and chromium-driver from Debian's packages (the console's browser tests)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null \
    || echo "could not install chromium: the browser tests will be skipped" >&2
fi
if [ ! -f target/test-tools/node_modules/axe-core/axe.min.js ] && command -v npm >/dev/null; then
  echo "installing axe-core from the npm registry (the console's accessibility check)" >&2
  mkdir -p target/test-tools
  (cd target/test-tools && npm install --silent --no-audit --no-fund axe-core@4.14.1) \
    || echo "could not install axe-core: the accessibility check will be skipped" >&2
fi

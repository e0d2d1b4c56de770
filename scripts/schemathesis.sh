#!/usr/bin/env bash
# The OpenAPI document must describe exactly what the server does: starts
# varuh (the given binary) on a fresh data directory, signs in as the first
# administrator, makes a tenant and a collection so that generated requests
# reach real objects, and runs `schemathesis run --checks all` against
# /openapi.json with that token. Fails if schemathesis reports any failure.
#   scripts/schemathesis.sh target/debug/varuh
set -euo pipefail
BIN=${1:-target/debug/varuh}
DIR=$(mktemp -d /tmp/varuh-st.XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
V="http://127.0.0.1:$PORT"
# The policy at the bounds the schema states (passwords of 6 to 1024
# characters, nothing else refused), so that a schema-valid request is a
# valid one; no second factor, four-eyes or per-address limit to get in the way.
cat > "$DIR/policy.toml" <<'TOML'
description = "schemathesis run: the loosest policy the schema allows"
[password]
min_length = 6
max_length = 1024
blocklist = false
refuse_username = false
[mfa]
required = "optional"
[four_eyes]
operations = []
[lockout]
source_attempts_per_minute = 10000
max_failures = 100
TOML
export VARUH_POLICY_FILE="$DIR/policy.toml" VARUH_LISTEN="127.0.0.1:$PORT" VARUH_LOG=warn
"$BIN" --data-dir "$DIR/data" serve > "$DIR/out.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DIR"' EXIT
for _ in $(seq 100); do curl -sf "$V/healthz" >/dev/null && break; sleep 0.1; done
OTP=$(sed -n 's/^ *one-time password: *//p' "$DIR/out.log" | head -1)
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
TOKEN=$(curl -sf "$V/v1/auth/login" -H 'content-type: application/json' -d "{\"username\":\"admin\",\"password\":\"$OTP\"}" | json "['token']")
PW='a long passphrase for the conformance run'
curl -sf "$V/v1/auth/password" -H 'content-type: application/json' -H "authorization: Bearer $TOKEN" \
  -d "{\"current_password\":\"$OTP\",\"new_password\":\"$PW\"}"
T=$(curl -sf "$V/v1/tenants" -H 'content-type: application/json' -H "authorization: Bearer $TOKEN" -d '{"name":"Schemathesis"}' | json "['id']")
curl -sf "$V/v1/tenants/$T/collections" -H 'content-type: application/json' -H "authorization: Bearer $TOKEN" -d '{
  "name":"customers","purposes":["order fulfilment"],"legal_basis":"contract","subject_categories":["customers"],
  "source":"the data subject","retention":{"kind":"period","days":365},
  "fields":[{"name":"email","type":"email","category":"contact","required":true,"identifier":true},
            {"name":"name","type":"string","category":"identification"}]}' >/dev/null
# Logout, session revocation and password change would end or change the
# token under test: excluded.
# The CLI from PyPI (scripts/deps.sh), called through python3 so that a
# fresh pip install needs no shell rehash.
st() { python3 -c 'import sys; from schemathesis.cli import schemathesis; sys.argv[0] = "schemathesis"; sys.exit(schemathesis())' "$@"; }
st --config-file "$(dirname "$0")/../schemathesis.toml" run "$V/openapi.json" --checks all -H "Authorization: Bearer $TOKEN" \
  --exclude-path /v1/auth/logout --exclude-path /v1/auth/password --exclude-path '/v1/auth/sessions/{session}' \
  --max-examples "${ST_EXAMPLES:-25}" --seed 1 --no-color "${@:2}"

-- Staff identity and access control: need-to-know grants, password age
-- and history, TOTP (seed sealed like personal data), recovery codes,
-- brute-force counters, sessions with idle time, API keys, policies,
-- four-eyes approvals, offboarding. No column holds a secret in the clear:
-- passwords are Argon2id, tokens/keys/recovery codes SHA-256, seeds sealed.
ALTER TABLE staff ADD COLUMN access TEXT NOT NULL DEFAULT '{}';
ALTER TABLE staff ADD COLUMN password_changed_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE staff ADD COLUMN mfa_sealed BYTEA;
ALTER TABLE staff ADD COLUMN mfa_enabled BIGINT NOT NULL DEFAULT 0;
ALTER TABLE staff ADD COLUMN mfa_last_step BIGINT NOT NULL DEFAULT 0;
ALTER TABLE staff ADD COLUMN attempts TEXT NOT NULL DEFAULT '{}';
ALTER TABLE staff ADD COLUMN last_login_at BIGINT;
ALTER TABLE staff ADD COLUMN failed_since_login BIGINT NOT NULL DEFAULT 0;
ALTER TABLE staff ADD COLUMN offboarded_at BIGINT;
ALTER TABLE staff ADD COLUMN generation BIGINT NOT NULL DEFAULT 0;
CREATE INDEX staff_tenant ON staff(tenant_id);
ALTER TABLE sessions ADD COLUMN last_seen_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN id TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN source TEXT;
CREATE TABLE password_history (
    staff_id      TEXT NOT NULL REFERENCES staff(id),
    changed_at    BIGINT NOT NULL,
    password_hash TEXT NOT NULL,
    PRIMARY KEY (staff_id, changed_at)
);
CREATE TABLE recovery_codes (
    staff_id  TEXT NOT NULL REFERENCES staff(id),
    code_hash BYTEA NOT NULL,
    used_at   BIGINT,
    PRIMARY KEY (staff_id, code_hash)
);
-- tenant_id '' is the policy of system staff.
CREATE TABLE policies (
    tenant_id  TEXT PRIMARY KEY,
    body       TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE api_keys (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    id           TEXT NOT NULL,
    key_hash     BYTEA NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    access       TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT,
    PRIMARY KEY (tenant_id, id)
);
CREATE TABLE approvals (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    id           TEXT NOT NULL,
    action       TEXT NOT NULL,
    command      TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    state        TEXT NOT NULL,
    decided_by   TEXT,
    decided_at   BIGINT,
    reason       TEXT,
    PRIMARY KEY (tenant_id, id)
);
CREATE TABLE offboarding (
    staff_id TEXT NOT NULL REFERENCES staff(id),
    item     TEXT NOT NULL,
    done_by  TEXT NOT NULL,
    done_at  BIGINT NOT NULL,
    note     TEXT,
    PRIMARY KEY (staff_id, item)
);

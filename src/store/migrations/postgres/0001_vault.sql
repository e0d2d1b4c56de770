-- The vault: tenants, staff, sessions, collections, subjects, records.
-- No column holds a personal value in the clear: record fields and staff
-- names are sealed; identifiers are blind-index HMACs.
CREATE TABLE tenants (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    allow_special BIGINT NOT NULL,
    wrapped_key   BYTEA NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE TABLE staff (
    id                   TEXT PRIMARY KEY,
    tenant_id            TEXT REFERENCES tenants(id),
    username_hash        BYTEA NOT NULL UNIQUE,
    username_sealed      BYTEA NOT NULL,
    password_hash        TEXT NOT NULL,
    role                 TEXT NOT NULL,
    must_change_password BIGINT NOT NULL,
    disabled             BIGINT NOT NULL DEFAULT 0,
    created_at           BIGINT NOT NULL
);
CREATE TABLE sessions (
    token_hash BYTEA PRIMARY KEY,
    staff_id   TEXT NOT NULL REFERENCES staff(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_staff ON sessions(staff_id);
CREATE TABLE collections (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    id         TEXT NOT NULL,
    name       TEXT NOT NULL,
    definition TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);
CREATE TABLE subjects (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    id          TEXT NOT NULL,
    wrapped_key BYTEA NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
-- source_record is '' for identifiers given when the subject was created.
CREATE TABLE subject_identifiers (
    tenant_id     TEXT NOT NULL,
    kind          TEXT NOT NULL,
    hash          BYTEA NOT NULL,
    source_record TEXT NOT NULL,
    subject_id    TEXT NOT NULL,
    PRIMARY KEY (tenant_id, kind, hash, source_record),
    FOREIGN KEY (tenant_id, subject_id) REFERENCES subjects(tenant_id, id)
);
-- subject first: with tenant first the planner would prefer this index for blind-index look-ups.
CREATE INDEX subject_identifiers_subject ON subject_identifiers(subject_id, tenant_id);
CREATE TABLE records (
    tenant_id     TEXT NOT NULL,
    id            TEXT NOT NULL,
    collection_id TEXT NOT NULL,
    subject_id    TEXT NOT NULL,
    fields        BYTEA NOT NULL,
    version       BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, collection_id) REFERENCES collections(tenant_id, id),
    FOREIGN KEY (tenant_id, subject_id) REFERENCES subjects(tenant_id, id)
);
CREATE INDEX records_subject ON records(tenant_id, subject_id);
CREATE INDEX records_collection ON records(tenant_id, collection_id, id);

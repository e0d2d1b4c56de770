-- The vault: tenants, staff, sessions, collections, subjects, records.
-- No column holds a personal value in the clear: record fields and staff
-- names are sealed; identifiers are blind-index HMACs.
CREATE TABLE tenants (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    allow_special INTEGER NOT NULL,
    wrapped_key   BLOB NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE TABLE staff (
    id                   TEXT PRIMARY KEY,
    tenant_id            TEXT REFERENCES tenants(id),
    username_hash        BLOB NOT NULL UNIQUE,
    username_sealed      BLOB NOT NULL,
    password_hash        TEXT NOT NULL,
    role                 TEXT NOT NULL,
    must_change_password INTEGER NOT NULL,
    disabled             INTEGER NOT NULL DEFAULT 0,
    created_at           INTEGER NOT NULL
);
CREATE TABLE sessions (
    token_hash BLOB PRIMARY KEY,
    staff_id   TEXT NOT NULL REFERENCES staff(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_staff ON sessions(staff_id);
CREATE TABLE collections (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    id         TEXT NOT NULL,
    name       TEXT NOT NULL,
    definition TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
) WITHOUT ROWID;
CREATE TABLE subjects (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    id          TEXT NOT NULL,
    wrapped_key BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
-- source_record is '' for identifiers given when the subject was created.
CREATE TABLE subject_identifiers (
    tenant_id     TEXT NOT NULL,
    kind          TEXT NOT NULL,
    hash          BLOB NOT NULL,
    source_record TEXT NOT NULL,
    subject_id    TEXT NOT NULL,
    PRIMARY KEY (tenant_id, kind, hash, source_record),
    FOREIGN KEY (tenant_id, subject_id) REFERENCES subjects(tenant_id, id)
) WITHOUT ROWID;
-- subject first: with tenant first the planner would prefer this index for blind-index look-ups.
CREATE INDEX subject_identifiers_subject ON subject_identifiers(subject_id, tenant_id);
CREATE TABLE records (
    tenant_id     TEXT NOT NULL,
    id            TEXT NOT NULL,
    collection_id TEXT NOT NULL,
    subject_id    TEXT NOT NULL,
    fields        BLOB NOT NULL,
    version       INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, collection_id) REFERENCES collections(tenant_id, id),
    FOREIGN KEY (tenant_id, subject_id) REFERENCES subjects(tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX records_subject ON records(tenant_id, subject_id);
CREATE INDEX records_collection ON records(tenant_id, collection_id, id);

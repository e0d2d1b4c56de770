-- The register of data-subject requests (DSR-1). No personal value: the
-- subject by id (once known), the requester's e-mail only as a blind index
-- (to flag duplicates), reasons and methods as the DPO types them (the
-- register's own words, not the subject's data). actions: one line per
-- step (time, action, actor), as JSON.
CREATE TABLE dsr_requests (
    tenant_id          TEXT NOT NULL,
    id                 TEXT NOT NULL,
    kind               TEXT NOT NULL,
    channel            TEXT NOT NULL,
    received_at        BIGINT NOT NULL,
    due_at             BIGINT NOT NULL,
    extension_months   BIGINT NOT NULL DEFAULT 0,
    extension_reason   TEXT,
    subject_informed_at BIGINT,
    state              TEXT NOT NULL,
    subject_id         TEXT,
    requester_hash     BYTEA,
    verified_method    TEXT,
    verified_by        TEXT,
    verified_at        BIGINT,
    refusal_reason     TEXT,
    response           TEXT,
    duplicate_of       TEXT,
    opened_by          TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    actions            TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX dsr_requests_due ON dsr_requests(tenant_id, state, due_at);
CREATE INDEX dsr_requests_subject ON dsr_requests(tenant_id, subject_id);
CREATE INDEX dsr_requests_requester ON dsr_requests(tenant_id, requester_hash);

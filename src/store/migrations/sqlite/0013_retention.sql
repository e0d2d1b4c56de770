-- Retention (RET-1) and legal holds (RET-2).
-- A legal hold on a subject, a record or a collection stops retention and
-- erasure until it is lifted or its `until_at` passes. The reason is
-- sealed with the tenant's key (it may name a person or a case).
CREATE TABLE legal_holds (
    tenant_id   TEXT NOT NULL,
    id          TEXT NOT NULL,
    scope       TEXT NOT NULL,
    target      TEXT NOT NULL,
    reason      BLOB NOT NULL,
    set_by      TEXT NOT NULL,
    set_at      BIGINT NOT NULL,
    until_at    BIGINT,
    lifted_by   TEXT,
    lifted_at   BIGINT,
    lift_reason BLOB,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX legal_holds_target ON legal_holds(target, tenant_id);
-- The events a retention rule counts from (`after_event`: end of a
-- contract, a purpose ended), the latest of each kind per subject.
CREATE TABLE retention_events (
    tenant_id   TEXT NOT NULL,
    subject_id  TEXT NOT NULL,
    event       TEXT NOT NULL,
    at          BIGINT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, subject_id, event)
) WITHOUT ROWID;
CREATE INDEX retention_events_event ON retention_events(tenant_id, event, at);
-- What a scheduled job (retention, later backups) last did, and which
-- server holds it now: one server of several runs it.
CREATE TABLE scheduled_jobs (
    name          TEXT PRIMARY KEY,
    claimed_until BIGINT NOT NULL,
    claimed_by    TEXT NOT NULL,
    last_started  BIGINT,
    last_finished BIGINT,
    last_outcome  TEXT
);

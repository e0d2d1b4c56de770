-- The subject's rights beyond the request register (DSR-4..7, CONS-1..3,
-- DISC-1..2). No personal value in the clear: evidence of consent is
-- sealed with the subject's key, a recipient's contacts with the tenant's,
-- anonymised records with the tenant's; the rest are ids, purposes, field
-- names and the register's own words.

-- Active restrictions and objections of the subject: its records' reads
-- look only at this count (in the join they make anyway) and read the
-- limits themselves only when it is not 0.
ALTER TABLE subjects ADD COLUMN limits BIGINT NOT NULL DEFAULT 0;

-- Records cut from their subject by an erasure whose rule anonymises:
-- only the fields the collection keeps, sealed with the tenant's key.
CREATE TABLE anonymised_records (
    tenant_id     TEXT NOT NULL,
    id            TEXT NOT NULL,
    collection_id TEXT NOT NULL,
    data          BLOB NOT NULL,
    created_at    BIGINT NOT NULL,
    anonymised_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX anonymised_records_collection ON anonymised_records(tenant_id, collection_id, id);

-- Restriction (Art. 18) and objection (Art. 21) of processing: purposes as
-- a JSON array (a restriction with none restricts every purpose).
CREATE TABLE processing_limits (
    tenant_id        TEXT NOT NULL,
    id               TEXT NOT NULL,
    subject_id       TEXT NOT NULL,
    kind             TEXT NOT NULL,
    purposes         TEXT NOT NULL,
    direct_marketing BIGINT NOT NULL,
    reason           TEXT NOT NULL,
    request_id       TEXT,
    set_by           TEXT NOT NULL,
    set_at           BIGINT NOT NULL,
    lifted_by        TEXT,
    lifted_at        BIGINT,
    lift_reason      TEXT,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX processing_limits_subject ON processing_limits(subject_id, tenant_id);

-- Consent notices, stored once, referenced by purpose, version and hash.
CREATE TABLE consent_notices (
    tenant_id  TEXT NOT NULL,
    purpose    TEXT NOT NULL,
    version    BIGINT NOT NULL,
    hash       BLOB NOT NULL,
    text       TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, purpose, version)
) WITHOUT ROWID;

-- Consent given and withdrawn: append-only events, and the latest per
-- subject and purpose (what "may I?" reads).
CREATE TABLE consents (
    tenant_id      TEXT NOT NULL,
    id             TEXT NOT NULL,
    subject_id     TEXT NOT NULL,
    purpose        TEXT NOT NULL,
    given          BIGINT NOT NULL,
    notice_version BIGINT,
    channel        TEXT NOT NULL,
    evidence       BLOB,
    expires_at     BIGINT,
    recorded_by    TEXT NOT NULL,
    recorded_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX consents_subject ON consents(subject_id, tenant_id, purpose, id);
CREATE TABLE consent_state (
    tenant_id  TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    purpose    TEXT NOT NULL,
    consent_id TEXT NOT NULL,
    given      BIGINT NOT NULL,
    expires_at BIGINT,
    PRIMARY KEY (tenant_id, subject_id, purpose)
) WITHOUT ROWID;

-- Recipients (DISC-1) and the disclosures made to them: which subject,
-- collection and fields (names), when, for what and on what basis.
CREATE TABLE recipients (
    tenant_id   TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    contact     BLOB NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name)
) WITHOUT ROWID;
CREATE TABLE disclosures (
    tenant_id     TEXT NOT NULL,
    id            TEXT NOT NULL,
    recipient     TEXT NOT NULL,
    subject_id    TEXT NOT NULL,
    collection_id TEXT NOT NULL,
    fields        TEXT NOT NULL,
    purpose       TEXT NOT NULL,
    basis         TEXT NOT NULL,
    disclosed_at  BIGINT NOT NULL,
    recorded_by   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX disclosures_subject ON disclosures(subject_id, tenant_id, recipient);

-- Art. 19 notices to recipients after a rectification, erasure or
-- restriction: sent by webhook and e-mail, each time recorded; next_at is
-- when the next try is due (a server claims a notice by moving it on).
-- The same outbox carries a request's reminders to the tenant's own
-- contact (recipient '', request_id set, one id per request and day).
CREATE TABLE recipient_notices (
    tenant_id  TEXT NOT NULL,
    id         TEXT NOT NULL,
    recipient  TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    event      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    webhook_at BIGINT,
    email_at   BIGINT,
    done       BIGINT NOT NULL,
    attempts   BIGINT NOT NULL,
    next_at    BIGINT NOT NULL,
    request_id TEXT,
    last_error TEXT,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX recipient_notices_pending ON recipient_notices(done, next_at);
CREATE INDEX recipient_notices_subject ON recipient_notices(subject_id, tenant_id);

-- A tenant's settings (DPO contact, reminder days, supervisory authority):
-- JSON sealed with the tenant's key.
CREATE TABLE tenant_settings (
    tenant_id  TEXT NOT NULL PRIMARY KEY,
    body       BLOB NOT NULL,
    updated_at BIGINT NOT NULL
) WITHOUT ROWID;

-- On a fresh store the planner has no statistics, and for "this subject's
-- rows" of these tables (records too: an access report or an erasure at a
-- million records read them all) it would walk the tenant's primary key
-- (every row of the tenant) instead of the index by subject. These rows tell it what
-- ANALYZE would: a subject has a few rows each. (ANALYZE, when run,
-- replaces them with the real figures.)
ANALYZE sqlite_schema;
DELETE FROM sqlite_stat1 WHERE tbl IN ('consents', 'processing_limits', 'disclosures', 'recipient_notices', 'records');
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
    ('records', 'records_subject', '1000000 1000000 2'),
    ('records', 'records_collection', '1000000 1000000 1000 1'),
    ('consents', 'consents_subject', '1000000 2 2 2 1'),
    ('processing_limits', 'processing_limits_subject', '100000 2 2'),
    ('disclosures', 'disclosures_subject', '1000000 5 5 2'),
    ('recipient_notices', 'recipient_notices_subject', '100000 2 2');
-- Read again by this connection's planner (others read them when they open).
ANALYZE sqlite_schema;

-- The breach register (BRE-1, BRE-2). What a breach says (its
-- description, categories, consequences, measures, risk rationale,
-- contact, the subjects' decision) is one JSON document sealed with the
-- tenant's key: it may name people. The clocks' inputs stay in the clear:
-- when the organisation became aware, who found it, the risk, the state.
CREATE TABLE breaches (
    tenant_id    TEXT NOT NULL,
    id           TEXT NOT NULL,
    kinds        TEXT NOT NULL,
    aware_at     BIGINT NOT NULL,
    found_by     TEXT NOT NULL,
    risk         TEXT NOT NULL,
    closed       BIGINT NOT NULL,
    details      BLOB NOT NULL,
    recorded_by  TEXT NOT NULL,
    recorded_at  BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    version      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
-- Every notification made, in phases (Art. 33(4)); what it said and to
-- whom, sealed.
CREATE TABLE breach_notifications (
    tenant_id   TEXT NOT NULL,
    id          TEXT NOT NULL,
    breach_id   TEXT NOT NULL,
    audience    TEXT NOT NULL,
    phase       TEXT NOT NULL,
    sent_at     BIGINT NOT NULL,
    details     BLOB NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX breach_notifications_breach ON breach_notifications(tenant_id, breach_id, sent_at);

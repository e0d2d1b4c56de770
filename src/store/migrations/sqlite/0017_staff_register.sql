-- The staff register (REG-3): one entry per person who handles personal
-- data. Only the link to the person's varuh account is in the clear; the
-- name, position, dates, trainings and checklist are one JSON document
-- sealed with the tenant's key.
CREATE TABLE staff_register (
    tenant_id  TEXT NOT NULL,
    id         TEXT NOT NULL,
    account_id TEXT,
    details    BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX staff_register_account ON staff_register(tenant_id, account_id);

-- The processor register (REG-2): processors and sub-processors of a
-- tenant. The name is in the clear (collections name their processors by
-- it); the rest — service, location, contract and review dates, security
-- measures, contact — is one JSON document sealed with the tenant's key.
CREATE TABLE processors (
    tenant_id  TEXT NOT NULL,
    id         TEXT NOT NULL,
    name       TEXT NOT NULL,
    details    BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX processors_name ON processors(tenant_id, name);

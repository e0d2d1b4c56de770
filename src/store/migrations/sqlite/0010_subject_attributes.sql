-- Searchable attributes (a phone, an address: may be shared by several
-- people) apart from identifying identifiers (an e-mail, a customer number:
-- one person each). Only identifiers find or merge a subject; an attribute
-- finds the subjects that have it and never merges them. One row per
-- record that yields the value, keyed so that the subjects sharing a value
-- come out in order without reading every record behind them.
CREATE TABLE subject_attributes (
    tenant_id     TEXT NOT NULL,
    kind          TEXT NOT NULL,
    hash          BLOB NOT NULL,
    subject_id    TEXT NOT NULL,
    source_record TEXT NOT NULL,
    PRIMARY KEY (tenant_id, kind, hash, subject_id, source_record),
    FOREIGN KEY (tenant_id, subject_id) REFERENCES subjects(tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX subject_attributes_record ON subject_attributes(tenant_id, source_record);
CREATE INDEX subject_attributes_subject ON subject_attributes(subject_id, tenant_id);
-- An update or delete of a record drops its identifiers by record: an index
-- look-up, not a scan of the tenant's identifiers.
CREATE INDEX subject_identifiers_record ON subject_identifiers(tenant_id, source_record);

-- Searchable attributes (a phone, an address: may be shared by several
-- people) apart from identifying identifiers (an e-mail, a customer number:
-- one person each). Only identifiers find or merge a subject; an attribute
-- finds the subjects that have it and never merges them. One row per
-- record that yields the value, keyed so that the subjects sharing a value
-- come out in order without reading every record behind them.
CREATE TABLE subject_attributes (
    tenant_id     TEXT NOT NULL,
    kind          TEXT NOT NULL,
    hash          BYTEA NOT NULL,
    subject_id    TEXT NOT NULL,
    source_record TEXT NOT NULL,
    PRIMARY KEY (tenant_id, kind, hash, subject_id, source_record),
    FOREIGN KEY (tenant_id, subject_id) REFERENCES subjects(tenant_id, id)
);
CREATE INDEX subject_attributes_record ON subject_attributes(tenant_id, source_record);
CREATE INDEX subject_attributes_subject ON subject_attributes(subject_id, tenant_id);
-- An update or delete of a record drops its identifiers by record: an index
-- look-up, not a scan of the tenant's identifiers.
CREATE INDEX subject_identifiers_record ON subject_identifiers(tenant_id, source_record);

-- varuh_place_record (0008) with the record's searchable attributes.
DROP FUNCTION varuh_place_record(TEXT, TEXT, BYTEA, BIGINT, TEXT, TEXT, BYTEA, BIGINT, BIGINT, BIGINT, TEXT[], BYTEA[], BIGINT[]);
CREATE FUNCTION varuh_place_record(
    p_tenant TEXT, p_subject TEXT, p_subject_key BYTEA, p_subject_created BIGINT,
    p_record TEXT, p_collection TEXT, p_fields BYTEA, p_version BIGINT,
    p_created BIGINT, p_updated BIGINT,
    p_kinds TEXT[], p_hashes BYTEA[], p_locks BIGINT[],
    p_attr_kinds TEXT[], p_attr_hashes BYTEA[])
RETURNS TEXT LANGUAGE plpgsql AS $$
DECLARE
    k BIGINT;
    n INT;
    other TEXT;
BEGIN
    FOREACH k IN ARRAY p_locks LOOP
        IF NOT pg_try_advisory_xact_lock(k) THEN
            RETURN 'busy';
        END IF;
    END LOOP;
    -- One index look-up per identifier (a join with unnest() may be planned
    -- as a scan once the function's plan is cached).
    FOR n IN 1 .. coalesce(array_length(p_kinds, 1), 0) LOOP
        SELECT i.subject_id INTO other FROM subject_identifiers i
            WHERE i.tenant_id = p_tenant AND i.kind = p_kinds[n] AND i.hash = p_hashes[n]
              AND i.subject_id <> p_subject
            LIMIT 1;
        EXIT WHEN other IS NOT NULL;
    END LOOP;
    IF other IS NOT NULL THEN
        IF p_subject_key IS NOT NULL THEN
            RETURN 'elsewhere ' || other;
        END IF;
        RETURN 'conflict';
    END IF;
    IF p_subject_key IS NOT NULL THEN
        INSERT INTO subjects (tenant_id, id, wrapped_key, created_at)
            VALUES (p_tenant, p_subject, p_subject_key, p_subject_created);
    END IF;
    INSERT INTO records (tenant_id, id, collection_id, subject_id, fields, version, created_at, updated_at)
        VALUES (p_tenant, p_record, p_collection, p_subject, p_fields, p_version, p_created, p_updated);
    INSERT INTO subject_identifiers (tenant_id, kind, hash, source_record, subject_id)
        SELECT p_tenant, u.kind, u.hash, p_record, p_subject FROM unnest(p_kinds, p_hashes) AS u(kind, hash)
        ON CONFLICT DO NOTHING;
    INSERT INTO subject_attributes (tenant_id, kind, hash, subject_id, source_record)
        SELECT p_tenant, u.kind, u.hash, p_subject, p_record FROM unnest(p_attr_kinds, p_attr_hashes) AS u(kind, hash)
        ON CONFLICT DO NOTHING;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN 'error ' || SQLSTATE;
END $$;

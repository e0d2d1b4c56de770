-- A new record in one call: what a create does on the hot path (the
-- identifiers' try-locks, the check that no identifier names another
-- subject, the subject if new, the record, its identifiers). One round
-- trip instead of seven, and no savepoint around it: the body runs in its
-- own exception block, so it writes all or nothing and never leaves the
-- writer's transaction aborted. SQLite runs the same steps as statements
-- (`store/queries/records.rs::place_record`).
-- Answers 'ok', 'busy' (another transaction holds an identifier's lock),
-- 'elsewhere <subject>' (a new subject: an identifier names this one),
-- 'conflict' (an existing subject: an identifier names another), or
-- 'error <SQLSTATE>'.
CREATE FUNCTION varuh_place_record(
    p_tenant TEXT, p_subject TEXT, p_subject_key BYTEA, p_subject_created BIGINT,
    p_record TEXT, p_collection TEXT, p_fields BYTEA, p_version BIGINT,
    p_created BIGINT, p_updated BIGINT,
    p_kinds TEXT[], p_hashes BYTEA[], p_locks BIGINT[])
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
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN 'error ' || SQLSTATE;
END $$;

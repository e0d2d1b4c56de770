-- New records placed together: one call for many (the creates that arrived
-- while the previous call was at the database) instead of one call each.
-- Each record is checked as varuh_place_record checks it (its identifiers'
-- locks, then whether one names another subject) and answers the same way;
-- the records that pass are inserted with one statement per table. The
-- caller passes no two records sharing an identifier.
--
-- Arrays run per record (tenant .. updated), except the identifiers and
-- attributes, which are flattened, each with the (1-based) index of its
-- record. A subject key of zero bytes: the subject exists already.
-- Never aborts the transaction: should the inserts fail (a subject erased
-- meanwhile, the disk full), each record is placed again on its own, so
-- that each answers its own error.
CREATE FUNCTION varuh_place_records(
    p_tenants TEXT[], p_subjects TEXT[], p_subject_keys BYTEA[], p_subject_created BIGINT[],
    p_records TEXT[], p_collections TEXT[], p_fields BYTEA[], p_versions BIGINT[],
    p_created BIGINT[], p_updated BIGINT[],
    p_ident_of BIGINT[], p_kinds TEXT[], p_hashes BYTEA[], p_locks BIGINT[],
    p_attr_of BIGINT[], p_attr_kinds TEXT[], p_attr_hashes BYTEA[])
RETURNS TEXT[] LANGUAGE plpgsql AS $$
DECLARE
    n INT := coalesce(cardinality(p_records), 0);
    answers TEXT[] := array_fill('ok'::TEXT, ARRAY[n]);
    i INT;
    j INT;
    other TEXT;
BEGIN
    IF n = 0 THEN
        RETURN answers;
    END IF;
    BEGIN
        FOR j IN 1 .. coalesce(cardinality(p_ident_of), 0) LOOP
            i := p_ident_of[j];
            CONTINUE WHEN answers[i] <> 'ok';
            IF NOT pg_try_advisory_xact_lock(p_locks[j]) THEN
                answers[i] := 'busy';
                CONTINUE;
            END IF;
            other := NULL;
            SELECT s.subject_id INTO other FROM subject_identifiers s
                WHERE s.tenant_id = p_tenants[i] AND s.kind = p_kinds[j] AND s.hash = p_hashes[j]
                  AND s.subject_id <> p_subjects[i]
                LIMIT 1;
            IF other IS NOT NULL THEN
                answers[i] := CASE WHEN length(p_subject_keys[i]) > 0 THEN 'elsewhere ' || other ELSE 'conflict' END;
            END IF;
        END LOOP;
        INSERT INTO subjects (tenant_id, id, wrapped_key, created_at)
            SELECT u.t, u.s, u.k, u.c FROM unnest(p_tenants, p_subjects, p_subject_keys, p_subject_created, answers)
                AS u(t, s, k, c, a)
            WHERE u.a = 'ok' AND length(u.k) > 0;
        INSERT INTO records (tenant_id, id, collection_id, subject_id, fields, version, created_at, updated_at)
            SELECT u.t, u.r, u.c, u.s, u.f, u.v, u.cr, u.up
            FROM unnest(p_tenants, p_records, p_collections, p_subjects, p_fields, p_versions, p_created, p_updated, answers)
                AS u(t, r, c, s, f, v, cr, up, a)
            WHERE u.a = 'ok';
        INSERT INTO subject_identifiers (tenant_id, kind, hash, source_record, subject_id)
            SELECT p_tenants[u.i], u.kind, u.hash, p_records[u.i], p_subjects[u.i]
            FROM unnest(p_ident_of, p_kinds, p_hashes) AS u(i, kind, hash)
            WHERE answers[u.i] = 'ok'
            ON CONFLICT DO NOTHING;
        INSERT INTO subject_attributes (tenant_id, kind, hash, subject_id, source_record)
            SELECT p_tenants[u.i], u.kind, u.hash, p_subjects[u.i], p_records[u.i]
            FROM unnest(p_attr_of, p_attr_kinds, p_attr_hashes) AS u(i, kind, hash)
            WHERE answers[u.i] = 'ok'
            ON CONFLICT DO NOTHING;
        RETURN answers;
    EXCEPTION WHEN OTHERS THEN
        -- Everything above is undone: each record on its own.
        FOR i IN 1 .. n LOOP
            answers[i] := varuh_place_record(
                p_tenants[i], p_subjects[i], nullif(p_subject_keys[i], ''::BYTEA), p_subject_created[i],
                p_records[i], p_collections[i], p_fields[i], p_versions[i], p_created[i], p_updated[i],
                ARRAY(SELECT p_kinds[x] FROM generate_subscripts(p_ident_of, 1) AS x WHERE p_ident_of[x] = i ORDER BY x),
                ARRAY(SELECT p_hashes[x] FROM generate_subscripts(p_ident_of, 1) AS x WHERE p_ident_of[x] = i ORDER BY x),
                ARRAY(SELECT p_locks[x] FROM generate_subscripts(p_ident_of, 1) AS x WHERE p_ident_of[x] = i ORDER BY x),
                ARRAY(SELECT p_attr_kinds[x] FROM generate_subscripts(p_attr_of, 1) AS x WHERE p_attr_of[x] = i ORDER BY x),
                ARRAY(SELECT p_attr_hashes[x] FROM generate_subscripts(p_attr_of, 1) AS x WHERE p_attr_of[x] = i ORDER BY x));
        END LOOP;
        RETURN answers;
    END;
END $$;

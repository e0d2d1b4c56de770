-- A batch of creates in one autocommit statement: the records placed and
-- the events of those placed appended, committed when the call returns.
-- One round trip per batch instead of three (BEGIN, the call, COMMIT), and
-- the trail's lock, taken at the end of the call, is held only until the
-- commit that ends it, not across a round trip to the server and back.
--
-- As varuh_place_records_audited, except that the events always go, and
-- only those of the records placed: p_ev_of gives each event's record (1-
-- based). When a record is not placed, the others' events are numbered
-- anew by varuh_audit_push after the log's end (a size that cannot match
-- forces that; the rows then start at the log's first event if the caller
-- knew none). The caller passes a p_max it is never behind by.
CREATE OR REPLACE FUNCTION varuh_place_records_alone(
    p_tenants TEXT[], p_subjects TEXT[], p_subject_keys BYTEA[], p_subject_created BIGINT[],
    p_records TEXT[], p_collections TEXT[], p_fields BYTEA[], p_versions BIGINT[],
    p_created BIGINT[], p_updated BIGINT[],
    p_ident_of BIGINT[], p_kinds TEXT[], p_hashes BYTEA[], p_locks BIGINT[],
    p_attr_of BIGINT[], p_attr_kinds TEXT[], p_attr_hashes BYTEA[],
    p_size BIGINT, p_last BYTEA, p_max BIGINT,
    p_times BIGINT[], p_ev_tenants TEXT[], p_actors TEXT[], p_actions TEXT[], p_ev_subjects TEXT[],
    p_sources TEXT[], p_rests BYTEA[], p_bodies BYTEA[], p_leaves BYTEA[], p_ev_of BIGINT[])
RETURNS TABLE (answer TEXT, as_sent BOOLEAN, seq BIGINT, time_ms BIGINT, leaf_hash BYTEA,
               tenant_id TEXT, subject_id TEXT, action TEXT)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    a TEXT[];
    k BIGINT[];
BEGIN
    a := varuh_place_records(p_tenants, p_subjects, p_subject_keys, p_subject_created,
        p_records, p_collections, p_fields, p_versions, p_created, p_updated,
        p_ident_of, p_kinds, p_hashes, p_locks, p_attr_of, p_attr_kinds, p_attr_hashes);
    RETURN QUERY SELECT u.x, NULL::BOOLEAN, NULL::BIGINT, NULL::BIGINT, NULL::BYTEA, NULL::TEXT, NULL::TEXT,
        NULL::TEXT FROM unnest(a) WITH ORDINALITY AS u(x, n) ORDER BY u.n;
    IF coalesce(cardinality(p_times), 0) = 0 THEN
        RETURN;
    END IF;
    IF 'ok' = ALL(a) THEN
        RETURN QUERY SELECT NULL::TEXT, p.* FROM varuh_audit_push(p_size, p_last, p_max, p_times, p_ev_tenants,
            p_actors, p_actions, p_ev_subjects, p_sources, p_rests, p_bodies, p_leaves) AS p;
        RETURN;
    END IF;
    k := ARRAY(SELECT e.i FROM generate_subscripts(p_ev_of, 1) AS e(i) WHERE a[p_ev_of[e.i]] = 'ok' ORDER BY e.i);
    IF cardinality(k) = 0 THEN
        RETURN;
    END IF;
    RETURN QUERY SELECT NULL::TEXT, p.* FROM varuh_audit_push(GREATEST(p_size, 1), '\x'::BYTEA, p_max,
        ARRAY(SELECT p_times[i] FROM unnest(k) WITH ORDINALITY AS u(i, o) ORDER BY o),
        ARRAY(SELECT p_ev_tenants[i] FROM unnest(k) WITH ORDINALITY AS u(i, o) ORDER BY o),
        ARRAY(SELECT p_actors[i] FROM unnest(k) WITH ORDINALITY AS u(i, o) ORDER BY o),
        ARRAY(SELECT p_actions[i] FROM unnest(k) WITH ORDINALITY AS u(i, o) ORDER BY o),
        ARRAY(SELECT p_ev_subjects[i] FROM unnest(k) WITH ORDINALITY AS u(i, o) ORDER BY o),
        ARRAY(SELECT p_sources[i] FROM unnest(k) WITH ORDINALITY AS u(i, o) ORDER BY o),
        ARRAY(SELECT p_rests[i] FROM unnest(k) WITH ORDINALITY AS u(i, o) ORDER BY o),
        ARRAY(SELECT p_bodies[i] FROM unnest(k) WITH ORDINALITY AS u(i, o) ORDER BY o),
        ARRAY(SELECT p_leaves[i] FROM unnest(k) WITH ORDINALITY AS u(i, o) ORDER BY o)) AS p;
END $$;

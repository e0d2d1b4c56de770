-- New records placed together and their events appended in the same call:
-- one round trip per batch of creates instead of two, and no wait on the
-- server between placing and appending (the trail's lock is still taken
-- only at the end, by varuh_audit_push, and held until COMMIT).
--
-- The server numbers the events as if every record is placed. The first
-- rows answer each record in order (answer set, the rest NULL). Only if
-- every record is placed ('ok') are the events pushed, and the rows after
-- the answers are varuh_audit_push's; no row after them: nothing was
-- appended (a record not placed, or the server too far behind), and the
-- server appends the placed records' events to its transaction the
-- ordinary way.
CREATE FUNCTION varuh_place_records_audited(
    p_tenants TEXT[], p_subjects TEXT[], p_subject_keys BYTEA[], p_subject_created BIGINT[],
    p_records TEXT[], p_collections TEXT[], p_fields BYTEA[], p_versions BIGINT[],
    p_created BIGINT[], p_updated BIGINT[],
    p_ident_of BIGINT[], p_kinds TEXT[], p_hashes BYTEA[], p_locks BIGINT[],
    p_attr_of BIGINT[], p_attr_kinds TEXT[], p_attr_hashes BYTEA[],
    p_size BIGINT, p_last BYTEA, p_max BIGINT,
    p_times BIGINT[], p_ev_tenants TEXT[], p_actors TEXT[], p_actions TEXT[], p_ev_subjects TEXT[],
    p_sources TEXT[], p_rests BYTEA[], p_bodies BYTEA[], p_leaves BYTEA[])
RETURNS TABLE (answer TEXT, as_sent BOOLEAN, seq BIGINT, time_ms BIGINT, leaf_hash BYTEA,
               tenant_id TEXT, subject_id TEXT, action TEXT)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    a TEXT[];
BEGIN
    a := varuh_place_records(p_tenants, p_subjects, p_subject_keys, p_subject_created,
        p_records, p_collections, p_fields, p_versions, p_created, p_updated,
        p_ident_of, p_kinds, p_hashes, p_locks, p_attr_of, p_attr_kinds, p_attr_hashes);
    RETURN QUERY SELECT u.x, NULL::BOOLEAN, NULL::BIGINT, NULL::BIGINT, NULL::BYTEA, NULL::TEXT, NULL::TEXT,
        NULL::TEXT FROM unnest(a) WITH ORDINALITY AS u(x, n) ORDER BY u.n;
    IF coalesce(cardinality(p_times), 0) > 0 AND 'ok' = ALL(a) THEN
        RETURN QUERY SELECT NULL::TEXT, p.* FROM varuh_audit_push(p_size, p_last, p_max, p_times, p_ev_tenants,
            p_actors, p_actions, p_ev_subjects, p_sources, p_rests, p_bodies, p_leaves) AS p;
    END IF;
END $$;

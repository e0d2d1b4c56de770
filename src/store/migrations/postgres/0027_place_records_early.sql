-- A batch of creates while another server appends to the trail
-- (service/placing.rs): as varuh_place_records_alone, in one autocommit
-- call, but committed without waiting for its WAL flush
-- (synchronous_commit off for its transaction), so that the trail's lock,
-- taken at the call's end, is let go as soon as the commit record is
-- written instead of after the disk's flush, which the other server's
-- next batch would otherwise wait for. The caller then waits for the
-- flush outside the lock (varuh_audit_flushed, migration 0026) and only
-- then answers: as for varuh_audit_push_held, another server may follow
-- these rows before they are on disk, but its own commit, later in the
-- WAL, cannot be durable without them.
CREATE OR REPLACE FUNCTION varuh_place_records_early(
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
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    RETURN QUERY SELECT * FROM varuh_place_records_alone(p_tenants, p_subjects, p_subject_keys,
        p_subject_created, p_records, p_collections, p_fields, p_versions, p_created, p_updated,
        p_ident_of, p_kinds, p_hashes, p_locks, p_attr_of, p_attr_kinds, p_attr_hashes,
        p_size, p_last, p_max, p_times, p_ev_tenants, p_actors, p_actions, p_ev_subjects,
        p_sources, p_rests, p_bodies, p_leaves, p_ev_of);
END $$;

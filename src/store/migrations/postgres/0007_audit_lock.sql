-- Several servers share one audit trail: before numbering its events, a
-- writer takes the trail's lock (held to its commit) and reads what others
-- appended since its last batch. One call does both, so the lock costs no
-- extra round trip. VOLATILE: the query after the lock takes a new
-- snapshot, which sees the previous holder's commit (READ COMMITTED).
CREATE FUNCTION varuh_audit_tail_locked(from_seq BIGINT, max_rows BIGINT)
RETURNS TABLE (seq BIGINT, time_ms BIGINT, leaf_hash BYTEA, tenant_id TEXT, subject_id TEXT)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(1986097781, 1);
    RETURN QUERY
        SELECT e.seq, e.time_ms, e.leaf_hash, COALESCE(e.tenant_id, ''), e.subject_id
        FROM audit_events e WHERE e.seq >= from_seq ORDER BY e.seq LIMIT max_rows;
END $$;

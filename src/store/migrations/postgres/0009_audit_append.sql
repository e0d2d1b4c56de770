-- A batch of audit events and nothing else (the audit queue's: the events
-- of reads) in one autocommit call, instead of BEGIN, lock and catch-up,
-- INSERT and COMMIT. The caller numbers the events from what it last knew
-- of the log (its size and last leaf hash); under the trail's lock this
-- checks that the log still ends there and inserts them, or, when another
-- server appended meanwhile, inserts nothing and returns what it must take
-- in first (from the caller's last event on). First column: inserted or not.
CREATE FUNCTION varuh_audit_append(
    p_size BIGINT, p_last BYTEA,
    p_seqs BIGINT[], p_times BIGINT[], p_tenants TEXT[], p_actors TEXT[], p_actions TEXT[],
    p_subjects TEXT[], p_bodies BYTEA[], p_leaves BYTEA[])
RETURNS TABLE (inserted BOOLEAN, seq BIGINT, time_ms BIGINT, leaf_hash BYTEA, tenant_id TEXT, subject_id TEXT)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    top BIGINT;
    top_leaf BYTEA;
BEGIN
    PERFORM pg_advisory_xact_lock(1986097781, 1);
    SELECT e.seq, e.leaf_hash INTO top, top_leaf FROM audit_events e ORDER BY e.seq DESC LIMIT 1;
    IF (top IS NULL AND p_size = 0) OR (top = p_size - 1 AND top_leaf = p_last) THEN
        INSERT INTO audit_events (seq, time_ms, tenant_id, actor_id, action, subject_id, body, leaf_hash)
            SELECT * FROM unnest(p_seqs, p_times, p_tenants, p_actors, p_actions, p_subjects, p_bodies, p_leaves);
        RETURN QUERY SELECT true, NULL::BIGINT, NULL::BIGINT, NULL::BYTEA, NULL::TEXT, NULL::TEXT;
        RETURN;
    END IF;
    RETURN QUERY
        SELECT false, e.seq, e.time_ms, e.leaf_hash, COALESCE(e.tenant_id, ''), e.subject_id
        FROM audit_events e WHERE e.seq >= GREATEST(p_size - 1, 0) ORDER BY e.seq LIMIT 10000;
    IF NOT FOUND THEN
        RETURN QUERY SELECT false, NULL::BIGINT, NULL::BIGINT, NULL::BYTEA, NULL::TEXT, NULL::TEXT;
    END IF;
END $$;

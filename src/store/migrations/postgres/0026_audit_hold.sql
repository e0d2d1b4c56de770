-- A batch of events alone while another server appends
-- (audit::Appender::flush_locked) takes the trail's lock before it gathers
-- its events. Two autocommit calls instead of four round trips (BEGIN, the
-- lock and the log's tail, the push, COMMIT), each of which cost about a
-- quarter of a millisecond on a busy machine, the last two with the lock
-- held:
-- - varuh_audit_hold_tail takes the lock for the session (it outlives the
--   call) and returns the log from from_seq on;
-- - varuh_audit_push_held pushes (varuh_audit_push also takes the lock for
--   its own transaction) and then lets the session's hold go, so the lock
--   is held to the commit that ends the call, and no longer.
-- The push commits without waiting for its WAL flush (synchronous_commit
-- off for its transaction), so the lock is let go as soon as the commit
-- record is written instead of after the disk's flush; the caller then
-- waits for the flush outside the lock (varuh_audit_flushed: a transaction
-- with an id, whose synchronous commit flushes the WAL up to its own
-- record, after the push's). Nothing is answered before that. Another
-- server may read and follow the events before they are on disk, but its
-- own commit, later in the WAL, cannot be durable without them.
-- While the session holds the lock, idle_session_timeout (5 s) has the
-- database cut off a server that stalls. varuh_audit_release lets the
-- hold go when the push is not made or fails.
CREATE OR REPLACE FUNCTION varuh_audit_release() RETURNS VOID
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_unlock(1986097781, 1);
    IF current_setting('server_version_num')::INT >= 140000 THEN
        PERFORM set_config('idle_session_timeout', '0', false);
    END IF;
END $$;

CREATE OR REPLACE FUNCTION varuh_audit_hold_tail(from_seq BIGINT, max_rows BIGINT)
RETURNS TABLE (seq BIGINT, time_ms BIGINT, leaf_hash BYTEA, tenant_id TEXT, subject_id TEXT, action TEXT)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_lock(1986097781, 1);
    IF current_setting('server_version_num')::INT >= 140000 THEN
        PERFORM set_config('idle_session_timeout', '5s', false);
    END IF;
    RETURN QUERY
        SELECT e.seq, e.time_ms, e.leaf_hash, COALESCE(e.tenant_id, ''), e.subject_id, e.action
        FROM audit_events e WHERE e.seq >= from_seq AND e.seq < from_seq + max_rows ORDER BY e.seq;
END $$;

CREATE OR REPLACE FUNCTION varuh_audit_push_held(
    p_size BIGINT, p_last BYTEA, p_max BIGINT,
    p_times BIGINT[], p_tenants TEXT[], p_actors TEXT[], p_actions TEXT[], p_subjects TEXT[], p_sources TEXT[],
    p_rests BYTEA[], p_bodies BYTEA[], p_leaves BYTEA[])
RETURNS TABLE (as_sent BOOLEAN, seq BIGINT, time_ms BIGINT, leaf_hash BYTEA, tenant_id TEXT, subject_id TEXT, action TEXT)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    RETURN QUERY SELECT * FROM varuh_audit_push(p_size, p_last, p_max, p_times, p_tenants, p_actors, p_actions,
        p_subjects, p_sources, p_rests, p_bodies, p_leaves);
    PERFORM varuh_audit_release();
END $$;

CREATE OR REPLACE FUNCTION varuh_audit_flushed() RETURNS BIGINT
LANGUAGE sql VOLATILE AS $$ SELECT txid_current() $$;

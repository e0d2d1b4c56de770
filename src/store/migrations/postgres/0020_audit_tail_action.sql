-- The events other servers appended now come back with their action, so
-- that a server's cache of records (store::cache) drops what another
-- server's event says has changed, and keeps what a read leaves alone.
-- Same calls as 0007 and 0018, one more column returned, and each tail
-- read bounded on both sides: with only a lower bound given as a
-- parameter, PostgreSQL's generic plan for the function's query (taken
-- after a few calls) estimated a third of the table and scanned all of it
-- in parallel, under the trail's lock, on every call (seen with two
-- servers: 30-100 ms per append). Seqs have no gaps, so the bounds change
-- no answer.
DROP FUNCTION varuh_audit_tail_locked(BIGINT, BIGINT);
CREATE FUNCTION varuh_audit_tail_locked(from_seq BIGINT, max_rows BIGINT)
RETURNS TABLE (seq BIGINT, time_ms BIGINT, leaf_hash BYTEA, tenant_id TEXT, subject_id TEXT, action TEXT)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(1986097781, 1);
    RETURN QUERY
        SELECT e.seq, e.time_ms, e.leaf_hash, COALESCE(e.tenant_id, ''), e.subject_id, e.action
        FROM audit_events e WHERE e.seq >= from_seq AND e.seq < from_seq + max_rows ORDER BY e.seq;
END $$;

DROP FUNCTION varuh_audit_push(BIGINT, BYTEA, BIGINT, BIGINT[], TEXT[], TEXT[], TEXT[], TEXT[], TEXT[], BYTEA[], BYTEA[], BYTEA[]);
CREATE FUNCTION varuh_audit_push(
    p_size BIGINT, p_last BYTEA, p_max BIGINT,
    p_times BIGINT[], p_tenants TEXT[], p_actors TEXT[], p_actions TEXT[], p_subjects TEXT[], p_sources TEXT[],
    p_rests BYTEA[], p_bodies BYTEA[], p_leaves BYTEA[])
RETURNS TABLE (as_sent BOOLEAN, seq BIGINT, time_ms BIGINT, leaf_hash BYTEA, tenant_id TEXT, subject_id TEXT, action TEXT)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    top BIGINT;
    prev BYTEA;
    t BIGINT;
    n INT := cardinality(p_times);
    body BYTEA;
    seqs BIGINT[] := '{}';
    times BIGINT[] := '{}';
    bodies BYTEA[] := '{}';
    leaves BYTEA[] := '{}';
    fast BOOLEAN;
BEGIN
    PERFORM pg_advisory_xact_lock(1986097781, 1);
    SELECT e.seq, e.leaf_hash, e.time_ms INTO top, prev, t FROM audit_events e ORDER BY e.seq DESC LIMIT 1;
    top := COALESCE(top, -1);
    t := COALESCE(t, 0);
    IF top + 1 - p_size > p_max THEN
        RETURN;
    END IF;
    fast := top = p_size - 1 AND (top = -1 OR prev = p_last);
    IF fast THEN
        INSERT INTO audit_events (seq, time_ms, tenant_id, actor_id, action, subject_id, source, body, leaf_hash)
            SELECT top + k.ki, k.kt, k.ktn, k.ka, k.kac, k.ks, k.ksrc, k.kb, k.kl
            FROM unnest(p_times, p_tenants, p_actors, p_actions, p_subjects, p_sources, p_bodies, p_leaves)
                WITH ORDINALITY AS k(kt, ktn, ka, kac, ks, ksrc, kb, kl, ki);
    ELSE
    FOR i IN 1..n LOOP
        t := GREATEST(t, p_times[i]);
        body := convert_to('{"seq":' || (top + i) || ',"time":' || t || ',"prev":"'
            || COALESCE(encode(prev, 'hex'), '') || '",', 'UTF8') || p_rests[i];
        prev := sha256('\x00'::bytea || body);
        seqs := seqs || (top + i);
        times := times || t;
        bodies := bodies || body;
        leaves := leaves || prev;
    END LOOP;
    INSERT INTO audit_events (seq, time_ms, tenant_id, actor_id, action, subject_id, source, body, leaf_hash)
        SELECT * FROM unnest(seqs, times, p_tenants, p_actors, p_actions, p_subjects, p_sources, bodies, leaves);
    END IF;
    -- Each run whose last event (seq + 1 a multiple of 4096) is in the batch.
    FOR r IN ((top + 1) / 4096)..((top + n + 1) / 4096 - 1) LOOP
        INSERT INTO audit_subject_runs (run, tenant_id, subject_id, seq)
            SELECT r, COALESCE(e.tenant_id, ''), e.subject_id, e.seq FROM audit_events e
            WHERE e.seq >= r * 4096 AND e.seq < (r + 1) * 4096 AND e.subject_id IS NOT NULL
            ORDER BY COALESCE(e.tenant_id, '') COLLATE "C", e.subject_id COLLATE "C", e.seq;
    END LOOP;
    IF fast THEN
        RETURN QUERY SELECT true, NULL::BIGINT, NULL::BIGINT, NULL::BYTEA, NULL::TEXT, NULL::TEXT, NULL::TEXT;
        RETURN;
    END IF;
    RETURN QUERY
        SELECT false, e.seq, e.time_ms, e.leaf_hash, COALESCE(e.tenant_id, ''), e.subject_id, e.action
        FROM audit_events e WHERE e.seq >= GREATEST(LEAST(p_size - 1, top), 0) AND e.seq <= top + n ORDER BY e.seq;
END $$;

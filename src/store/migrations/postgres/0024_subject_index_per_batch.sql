-- The subject index ("who has seen this person") gets each event's entry
-- in the batch that appends the event, instead of a whole run of 4,096
-- events written by the push that completes it: that one statement took
-- 16 ms under the trail's lock and was the whole p99 of every request
-- (BENCHMARKS.md, session 17). The entries of the current run land in the
-- run's few hot pages at the index's right edge. The entries of the run
-- open when this migration runs are written here, so every event naming a
-- subject has its entry from now on.
SELECT pg_advisory_xact_lock(1986097781, 1);
INSERT INTO audit_subject_runs (run, tenant_id, subject_id, seq)
    SELECT seq / 4096, COALESCE(tenant_id, ''), subject_id, seq FROM audit_events
    WHERE subject_id IS NOT NULL AND seq >= (SELECT (COALESCE(MAX(seq), -1) + 1) / 4096 * 4096 FROM audit_events)
    ON CONFLICT DO NOTHING;
CREATE OR REPLACE FUNCTION varuh_audit_push(
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
    -- Each event's entry in the subject index, in its run.
    INSERT INTO audit_subject_runs (run, tenant_id, subject_id, seq)
        SELECT (top + k.ki) / 4096, COALESCE(k.ktn, ''), k.ks, top + k.ki
        FROM unnest(p_tenants, p_subjects) WITH ORDINALITY AS k(ktn, ks, ki)
        WHERE k.ks IS NOT NULL;
    IF fast THEN
        RETURN QUERY SELECT true, NULL::BIGINT, NULL::BIGINT, NULL::BYTEA, NULL::TEXT, NULL::TEXT, NULL::TEXT;
        RETURN;
    END IF;
    RETURN QUERY
        SELECT false, e.seq, e.time_ms, e.leaf_hash, COALESCE(e.tenant_id, ''), e.subject_id, e.action
        FROM audit_events e WHERE e.seq >= GREATEST(LEAST(p_size - 1, top), 0) AND e.seq <= top + n ORDER BY e.seq;
END $$;

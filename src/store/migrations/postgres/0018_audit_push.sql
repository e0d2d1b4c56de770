-- An event's source address as a query column (canonical, '' for none),
-- so that a breach's scope by address reads that address's events by
-- index instead of every event of the window. Events appended before this
-- migration keep NULL (the append-only trail is not rewritten): they are
-- a prefix of the log, read from their bodies; `varuh audit verify`
-- checks that no NULL follows a filled column and that each filled one is
-- the body's address.
ALTER TABLE audit_events ADD COLUMN source TEXT;
CREATE INDEX audit_events_source ON audit_events(source, seq);

-- Several servers append to one audit trail. A batch of events goes in one
-- call, whoever appended last: under the trail's lock (held to the end of
-- the caller's transaction) it numbers and links the events after the
-- log's real end, inserts them, and returns the log from the caller's last
-- known event on (what other servers appended, then the caller's own), so
-- that the caller's frontier takes every leaf in order. No call is refused
-- because another server appended meanwhile (varuh_audit_append, which
-- this replaces, was: with two servers every other call was a retry).
--
-- The body is built here exactly as varuh serialises an event: the caller
-- sends each event's JSON without its opening brace (p_rests), and this
-- puts {"seq":N,"time":T,"prev":"<hex>", in front of it; the leaf hash is
-- SHA-256 of 0x00 and the body (RFC 9162). The caller recomputes every
-- leaf of its own events from the returned seq, time and link, and
-- refuses the batch if one differs.
--
-- When the log still ends where the caller thinks (no other server
-- appended since its last batch: the usual case), the bodies and leaves
-- the caller built itself (p_bodies, p_leaves, numbered from p_size after
-- p_last) go in as sent, and one row (as_sent) says so: no string work
-- here while the lock is held.
--
-- A subject-index run (see 0005) completed by the batch is written here.
-- No rows at all: the caller is more than p_max events behind; nothing
-- was inserted and it catches up first.
CREATE FUNCTION varuh_audit_push(
    p_size BIGINT, p_last BYTEA, p_max BIGINT,
    p_times BIGINT[], p_tenants TEXT[], p_actors TEXT[], p_actions TEXT[], p_subjects TEXT[], p_sources TEXT[],
    p_rests BYTEA[], p_bodies BYTEA[], p_leaves BYTEA[])
RETURNS TABLE (as_sent BOOLEAN, seq BIGINT, time_ms BIGINT, leaf_hash BYTEA, tenant_id TEXT, subject_id TEXT)
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
        RETURN QUERY SELECT true, NULL::BIGINT, NULL::BIGINT, NULL::BYTEA, NULL::TEXT, NULL::TEXT;
        RETURN;
    END IF;
    RETURN QUERY
        SELECT false, e.seq, e.time_ms, e.leaf_hash, COALESCE(e.tenant_id, ''), e.subject_id
        FROM audit_events e WHERE e.seq >= GREATEST(LEAST(p_size - 1, top), 0) ORDER BY e.seq;
END $$;

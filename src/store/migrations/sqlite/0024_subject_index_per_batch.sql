-- The subject index gets each event's entry in the batch that appends the
-- event (see the PostgreSQL migration); the entries of the run open now
-- are written here.
INSERT OR IGNORE INTO audit_subject_runs (run, tenant_id, subject_id, seq)
    SELECT seq / 4096, COALESCE(tenant_id, ''), subject_id, seq FROM audit_events
    WHERE subject_id IS NOT NULL AND seq >= (SELECT (COALESCE(MAX(seq), -1) + 1) / 4096 * 4096 FROM audit_events);

-- "Who has seen this person": an index by subject that costs no random
-- B-tree insert per event. Each complete run of 4096 events gets its
-- entries written at once, sorted, keyed by run first (appended at the
-- index's right edge); a subject query seeks once per run and scans the
-- events after the last complete run. Written in the same transaction as
-- the event that completes the run; `varuh audit verify` checks each run's
-- rows against its events. Append-only like the rest of the trail.
CREATE TABLE audit_subject_runs (
    run        BIGINT NOT NULL,   -- seq / 4096
    tenant_id  TEXT NOT NULL,     -- '' for none
    subject_id TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    PRIMARY KEY (run, tenant_id, subject_id, seq)
);
INSERT INTO audit_subject_runs (run, tenant_id, subject_id, seq)
    SELECT seq / 4096, COALESCE(tenant_id, ''), subject_id, seq FROM audit_events
    WHERE subject_id IS NOT NULL AND seq < (SELECT (COALESCE(MAX(seq), -1) + 1) / 4096 * 4096 FROM audit_events);
DROP INDEX IF EXISTS audit_events_subject;
CREATE TRIGGER audit_subject_runs_append_only BEFORE UPDATE OR DELETE ON audit_subject_runs FOR EACH ROW EXECUTE FUNCTION varuh_audit_append_only();
CREATE TRIGGER audit_subject_runs_no_truncate BEFORE TRUNCATE ON audit_subject_runs FOR EACH STATEMENT EXECUTE FUNCTION varuh_audit_append_only();
REVOKE UPDATE, DELETE, TRUNCATE ON audit_subject_runs FROM PUBLIC;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_subject_runs FROM CURRENT_USER;

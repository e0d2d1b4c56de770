-- "Who has seen this person": an index by subject that costs no random
-- B-tree insert per event. A B-tree keyed by subject takes each event's
-- entry at a random place, and with small group commits every entry
-- rewrites a whole page into the WAL (most of the WAL traffic of audited
-- reads). Instead, each complete run of 4096 events gets its entries
-- written at once, sorted, keyed by run first: appended at the index's
-- right edge, each page written once. A subject query seeks once per run
-- and scans the events after the last complete run. Written in the same
-- transaction as the event that completes the run; `varuh audit verify`
-- checks each run's rows against its events. Append-only.
CREATE TABLE audit_subject_runs (
    run        INTEGER NOT NULL,   -- seq / 4096
    tenant_id  TEXT NOT NULL,      -- '' for none
    subject_id TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    PRIMARY KEY (run, tenant_id, subject_id, seq)
) WITHOUT ROWID;
INSERT INTO audit_subject_runs (run, tenant_id, subject_id, seq)
    SELECT seq / 4096, COALESCE(tenant_id, ''), subject_id, seq FROM audit_events
    WHERE subject_id IS NOT NULL AND seq < (SELECT (COALESCE(MAX(seq), -1) + 1) / 4096 * 4096 FROM audit_events);
DROP INDEX IF EXISTS audit_events_subject;
CREATE TRIGGER audit_subject_runs_no_update BEFORE UPDATE ON audit_subject_runs BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER audit_subject_runs_no_delete BEFORE DELETE ON audit_subject_runs BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;

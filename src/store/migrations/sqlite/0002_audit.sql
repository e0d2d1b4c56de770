-- The audit trail: an append-only Merkle log. Events hold names and ids,
-- never personal values. The store refuses to change or remove a row;
-- `varuh audit verify` finds whatever gets past that.
CREATE TABLE audit_events (
    seq        INTEGER PRIMARY KEY,   -- leaf index, from 0, without gaps
    time_ms    INTEGER NOT NULL,
    tenant_id  TEXT,
    actor_id   TEXT,
    action     TEXT NOT NULL,
    subject_id TEXT,
    body       BLOB NOT NULL,         -- the leaf data: the event as canonical JSON
    leaf_hash  BLOB NOT NULL          -- SHA-256(0x00 || body)
);
CREATE INDEX audit_events_subject ON audit_events(tenant_id, subject_id, seq) WHERE subject_id IS NOT NULL;
CREATE INDEX audit_events_actor ON audit_events(actor_id, seq);
CREATE INDEX audit_events_time ON audit_events(time_ms);
-- Signed tree heads (C2SP checkpoints).
CREATE TABLE audit_heads (
    tree_size INTEGER PRIMARY KEY,
    root      BLOB NOT NULL,
    time_ms   INTEGER NOT NULL,
    note      TEXT NOT NULL
);
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events BEGIN SELECT RAISE(ABORT, 'audit events cannot be changed'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events BEGIN SELECT RAISE(ABORT, 'audit events cannot be deleted'); END;
CREATE TRIGGER audit_heads_no_update BEFORE UPDATE ON audit_heads BEGIN SELECT RAISE(ABORT, 'tree heads cannot be changed'); END;
CREATE TRIGGER audit_heads_no_delete BEFORE DELETE ON audit_heads BEGIN SELECT RAISE(ABORT, 'tree heads cannot be deleted'); END;

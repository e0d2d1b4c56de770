-- The Merkle frontier (the roots of the perfect subtrees along the right
-- edge) at each tree head, so that a restart reads only the events after
-- the latest one instead of every leaf hash. Derived data: a changed row
-- would make later heads disagree with the events, which `varuh audit
-- verify` finds. Append-only like the rest of the trail.
CREATE TABLE audit_frontier (
    tree_size INTEGER PRIMARY KEY,
    stack     BLOB NOT NULL
);
CREATE TRIGGER audit_frontier_no_update BEFORE UPDATE ON audit_frontier BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER audit_frontier_no_delete BEFORE DELETE ON audit_frontier BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;

-- The Merkle frontier (the roots of the perfect subtrees along the right
-- edge) at each tree head, so that a restart reads only the events after
-- the latest one instead of every leaf hash. Derived data: a changed row
-- would make later heads disagree with the events, which `varuh audit
-- verify` finds. Append-only like the rest of the trail.
CREATE TABLE audit_frontier (
    tree_size BIGINT PRIMARY KEY,
    stack     BYTEA NOT NULL
);
CREATE TRIGGER audit_frontier_append_only BEFORE UPDATE OR DELETE ON audit_frontier FOR EACH ROW EXECUTE FUNCTION varuh_audit_append_only();
CREATE TRIGGER audit_frontier_no_truncate BEFORE TRUNCATE ON audit_frontier FOR EACH STATEMENT EXECUTE FUNCTION varuh_audit_append_only();
REVOKE UPDATE, DELETE, TRUNCATE ON audit_frontier FROM PUBLIC;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_frontier FROM CURRENT_USER;

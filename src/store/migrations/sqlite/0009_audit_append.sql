-- PostgreSQL adds varuh_audit_append here (a batch of audit events alone in
-- one call); SQLite's writer needs none. Kept so both dialects number alike.
SELECT 1;

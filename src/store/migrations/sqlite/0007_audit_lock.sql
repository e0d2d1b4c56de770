-- PostgreSQL adds varuh_audit_tail_locked here (the audit trail's lock for
-- several servers on one database); SQLite's write transaction is already
-- exclusive, so there is nothing to add. Kept so both dialects number alike.
SELECT 1;

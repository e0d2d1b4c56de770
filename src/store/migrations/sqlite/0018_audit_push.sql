-- PostgreSQL adds varuh_audit_push here (several servers appending to one
-- audit trail in one call each); SQLite's single writer needs none. Kept
-- so both dialects number alike.
SELECT 1;

-- PostgreSQL's varuh_audit_hold_tail / varuh_audit_push_held (a batch of
-- events alone while another server appends); SQLite has one server.
-- Kept so that both dialects number their migrations alike.
SELECT 1;

-- PostgreSQL's varuh_place_records_early (creates while another server
-- appends); SQLite has one server. Kept so that both dialects number their
-- migrations alike.
SELECT 1;

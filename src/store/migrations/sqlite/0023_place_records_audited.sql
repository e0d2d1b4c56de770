-- PostgreSQL places new records and appends their events in one call
-- here; SQLite has no round trip to save. Kept so both dialects number alike.
SELECT 1;

-- PostgreSQL places a batch of creates in one autocommit call here; SQLite
-- has no round trip to save. Kept so both dialects number alike.
SELECT 1;

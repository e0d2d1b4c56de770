-- PostgreSQL places several new records in one call here; SQLite's writer
-- places them one by one at no round trip's cost. Kept so both dialects
-- number alike.
SELECT 1;

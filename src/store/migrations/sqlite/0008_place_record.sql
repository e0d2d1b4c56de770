-- PostgreSQL adds varuh_place_record here (a new record in one call);
-- SQLite runs the same steps as statements. Kept so both dialects number alike.
SELECT 1;

-- PostgreSQL returns each event's action to the appender's catch-up here
-- (several servers); SQLite's one writer needs nothing. Kept so both
-- dialects number alike.
SELECT 1;

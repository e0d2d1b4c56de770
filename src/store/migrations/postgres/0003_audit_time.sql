-- Times never decrease along the log, so a time window is a seq range found
-- by binary search on the primary key: the time index only cost a B-tree
-- insert per event.
DROP INDEX IF EXISTS audit_events_time;

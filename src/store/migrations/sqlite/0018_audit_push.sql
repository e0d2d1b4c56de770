-- PostgreSQL adds varuh_audit_push here (several servers appending to one
-- audit trail in one call each); SQLite's single writer needs none.
--
-- An event's source address as a query column (canonical, '' for none),
-- so that a breach's scope by address reads that address's events by
-- index instead of every event of the window. Events appended before this
-- migration keep NULL (the append-only trail is not rewritten): they are
-- a prefix of the log, read from their bodies; `varuh audit verify`
-- checks that no NULL follows a filled column and that each filled one is
-- the body's address.
ALTER TABLE audit_events ADD COLUMN source TEXT;
CREATE INDEX audit_events_source ON audit_events(source, seq);

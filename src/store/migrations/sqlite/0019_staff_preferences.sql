-- A staff member's own preferences for the console: the language
-- (`en`, `sl`) and the time zone dates are shown in (IANA name). NULL:
-- the browser's language, UTC. Not personal data of subjects.
ALTER TABLE staff ADD COLUMN language TEXT;
ALTER TABLE staff ADD COLUMN time_zone TEXT;

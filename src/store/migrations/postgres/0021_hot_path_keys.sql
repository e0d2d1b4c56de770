-- Foreign keys whose checks guard nothing on the write path of records.
-- Each check is a query per inserted row; together they were a fifth of
-- the time of placing a record (measured). None guards against a change
-- varuh makes:
--  * subjects -> tenants, records -> collections: tenants and collections
--    are never deleted.
--  * subject_identifiers / subject_attributes -> subjects: they are only
--    written in a transaction that also writes a record of that subject
--    (varuh_place_record, a record's update, an import). An erasure deletes
--    the subject's records first, so it waits for that transaction (for
--    the record's row, or for a new record's key to its subject, below),
--    and its next statements, which delete identifiers and attributes, see
--    what that transaction wrote. A retention sweep deletes only subjects
--    that have no records.
-- records -> subjects stays: it keeps a record from being placed for a
-- subject that an erasure or a retention sweep is deleting.
ALTER TABLE subjects DROP CONSTRAINT IF EXISTS subjects_tenant_id_fkey;
ALTER TABLE records DROP CONSTRAINT IF EXISTS records_tenant_id_collection_id_fkey;
ALTER TABLE subject_identifiers DROP CONSTRAINT IF EXISTS subject_identifiers_tenant_id_subject_id_fkey;
ALTER TABLE subject_attributes DROP CONSTRAINT IF EXISTS subject_attributes_tenant_id_subject_id_fkey;

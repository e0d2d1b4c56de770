-- The erasure journal (AVL-2): every subject erased and record deleted or
-- anonymised, written in the erasing transaction, until it is copied to
-- every backup destination (then the row goes). Ids and time only: no
-- personal data. A restore replays what the destinations hold, so that a
-- backup cannot bring erased data back.
CREATE TABLE erasure_journal (
    seq        INTEGER PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    subject_id TEXT,
    record_id  TEXT,
    at_ms      BIGINT NOT NULL
);

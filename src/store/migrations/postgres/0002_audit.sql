-- The audit trail: an append-only Merkle log. Events hold names and ids,
-- never personal values. Triggers refuse UPDATE, DELETE and TRUNCATE, and
-- the connecting role keeps only SELECT and INSERT on these tables (run
-- varuh as a role that is not a superuser: a superuser bypasses privileges).
-- `varuh audit verify` finds whatever gets past that.
CREATE TABLE audit_events (
    seq        BIGINT PRIMARY KEY,
    time_ms    BIGINT NOT NULL,
    tenant_id  TEXT,
    actor_id   TEXT,
    action     TEXT NOT NULL,
    subject_id TEXT,
    body       BYTEA NOT NULL,
    leaf_hash  BYTEA NOT NULL
);
CREATE INDEX audit_events_subject ON audit_events(tenant_id, subject_id, seq) WHERE subject_id IS NOT NULL;
CREATE INDEX audit_events_actor ON audit_events(actor_id, seq);
CREATE INDEX audit_events_time ON audit_events(time_ms);
CREATE TABLE audit_heads (
    tree_size BIGINT PRIMARY KEY,
    root      BYTEA NOT NULL,
    time_ms   BIGINT NOT NULL,
    note      TEXT NOT NULL
);
CREATE FUNCTION varuh_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME;
END
$f$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events FOR EACH ROW EXECUTE FUNCTION varuh_audit_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events FOR EACH STATEMENT EXECUTE FUNCTION varuh_audit_append_only();
CREATE TRIGGER audit_heads_append_only BEFORE UPDATE OR DELETE ON audit_heads FOR EACH ROW EXECUTE FUNCTION varuh_audit_append_only();
CREATE TRIGGER audit_heads_no_truncate BEFORE TRUNCATE ON audit_heads FOR EACH STATEMENT EXECUTE FUNCTION varuh_audit_append_only();
REVOKE UPDATE, DELETE, TRUNCATE ON audit_events, audit_heads FROM PUBLIC;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_events, audit_heads FROM CURRENT_USER;

//! Every SQL statement varuh runs, written once for both dialects, as typed
//! functions over `&mut dyn Db`. Rows here hold sealed bytes and blind
//! indexes only; decryption happens in the service layer.

use super::db::{Db, Row, Val};
use super::StoreError;
use uuid::Uuid;

pub struct TenantRow {
    pub id: Uuid,
    pub name: String,
    pub allow_special: bool,
    pub wrapped_key: Vec<u8>,
    pub created_at: i64,
}

fn tenant(r: &Row) -> Result<TenantRow, StoreError> {
    Ok(TenantRow { id: r.uuid(0)?, name: r.text(1)?, allow_special: r.bool(2)?, wrapped_key: r.blob(3)?, created_at: r.i64(4)? })
}

pub fn insert_tenant(db: &mut dyn Db, t: &TenantRow) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO tenants (id, name, allow_special, wrapped_key, created_at) VALUES ($1, $2, $3, $4, $5)",
        &[t.id.into(), t.name.as_str().into(), t.allow_special.into(), t.wrapped_key.as_slice().into(), t.created_at.into()],
    )?;
    Ok(())
}

pub fn get_tenant(db: &mut dyn Db, id: Uuid) -> Result<Option<TenantRow>, StoreError> {
    db.query("SELECT id, name, allow_special, wrapped_key, created_at FROM tenants WHERE id = $1", &[id.into()])?
        .first()
        .map(tenant)
        .transpose()
}

pub fn list_tenants(db: &mut dyn Db) -> Result<Vec<TenantRow>, StoreError> {
    db.query("SELECT id, name, allow_special, wrapped_key, created_at FROM tenants ORDER BY id", &[])?.iter().map(tenant).collect()
}

pub struct StaffRow {
    pub id: Uuid,
    pub tenant_id: Option<Uuid>,
    pub username_hash: Vec<u8>,
    pub username_sealed: Vec<u8>,
    pub password_hash: String,
    pub role: String,
    pub must_change_password: bool,
    pub disabled: bool,
    pub created_at: i64,
}

fn staff(r: &Row) -> Result<StaffRow, StoreError> {
    Ok(StaffRow {
        id: r.uuid(0)?,
        tenant_id: r.opt_text(1)?.map(|t| t.parse().map_err(|_| StoreError::Corrupt("tenant id".into()))).transpose()?,
        username_hash: r.blob(2)?,
        username_sealed: r.blob(3)?,
        password_hash: r.text(4)?,
        role: r.text(5)?,
        must_change_password: r.bool(6)?,
        disabled: r.bool(7)?,
        created_at: r.i64(8)?,
    })
}

pub fn insert_staff(db: &mut dyn Db, s: &StaffRow) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO staff (id, tenant_id, username_hash, username_sealed, password_hash, role, must_change_password, disabled, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            s.id.into(),
            s.tenant_id.into(),
            s.username_hash.as_slice().into(),
            s.username_sealed.as_slice().into(),
            s.password_hash.as_str().into(),
            s.role.as_str().into(),
            s.must_change_password.into(),
            s.disabled.into(),
            s.created_at.into(),
        ],
    )?;
    Ok(())
}

pub fn staff_by_username(db: &mut dyn Db, username_hash: &[u8]) -> Result<Option<StaffRow>, StoreError> {
    db.query(
        "SELECT id, tenant_id, username_hash, username_sealed, password_hash, role, must_change_password, disabled, created_at \
         FROM staff WHERE username_hash = $1",
        &[username_hash.into()],
    )?
    .first()
    .map(staff)
    .transpose()
}

pub fn staff_by_id(db: &mut dyn Db, id: Uuid) -> Result<Option<StaffRow>, StoreError> {
    db.query(
        "SELECT id, tenant_id, username_hash, username_sealed, password_hash, role, must_change_password, disabled, created_at \
         FROM staff WHERE id = $1",
        &[id.into()],
    )?
    .first()
    .map(staff)
    .transpose()
}

pub fn list_staff(db: &mut dyn Db, tenant: Option<Uuid>) -> Result<Vec<StaffRow>, StoreError> {
    let rows = match tenant {
        Some(t) => db.query(
            "SELECT id, tenant_id, username_hash, username_sealed, password_hash, role, must_change_password, disabled, created_at \
             FROM staff WHERE tenant_id = $1 ORDER BY id",
            &[t.into()],
        )?,
        None => db.query(
            "SELECT id, tenant_id, username_hash, username_sealed, password_hash, role, must_change_password, disabled, created_at \
             FROM staff ORDER BY id",
            &[],
        )?,
    };
    rows.iter().map(staff).collect()
}

pub fn set_password(db: &mut dyn Db, staff_id: Uuid, password_hash: &str) -> Result<(), StoreError> {
    let n = db.exec(
        "UPDATE staff SET password_hash = $1, must_change_password = 0 WHERE id = $2",
        &[password_hash.into(), staff_id.into()],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub fn count_staff(db: &mut dyn Db) -> Result<i64, StoreError> {
    db.query("SELECT COUNT(*) FROM staff", &[])?[0].i64(0)
}

pub struct SessionRow {
    pub token_hash: Vec<u8>,
    pub staff_id: Uuid,
    pub created_at: i64,
    pub expires_at: i64,
}

pub fn insert_session(db: &mut dyn Db, s: &SessionRow) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO sessions (token_hash, staff_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        &[s.token_hash.as_slice().into(), s.staff_id.into(), s.created_at.into(), s.expires_at.into()],
    )?;
    Ok(())
}

/// The session and its staff member, if the token is known and not expired.
pub fn session(db: &mut dyn Db, token_hash: &[u8], now: i64) -> Result<Option<(SessionRow, StaffRow)>, StoreError> {
    let rows = db.query(
        "SELECT s.token_hash, s.staff_id, s.created_at, s.expires_at, \
                t.id, t.tenant_id, t.username_hash, t.username_sealed, t.password_hash, t.role, t.must_change_password, t.disabled, t.created_at \
         FROM sessions s JOIN staff t ON t.id = s.staff_id WHERE s.token_hash = $1 AND s.expires_at > $2",
        &[token_hash.into(), now.into()],
    )?;
    let Some(r) = rows.into_iter().next() else { return Ok(None) };
    let sess = SessionRow { token_hash: r.blob(0)?, staff_id: r.uuid(1)?, created_at: r.i64(2)?, expires_at: r.i64(3)? };
    let st = staff(&Row(r.0[4..].to_vec()))?;
    Ok(Some((sess, st)))
}

pub fn delete_session(db: &mut dyn Db, token_hash: &[u8]) -> Result<(), StoreError> {
    db.exec("DELETE FROM sessions WHERE token_hash = $1", &[token_hash.into()])?;
    Ok(())
}

pub fn delete_sessions_of(db: &mut dyn Db, staff_id: Uuid) -> Result<(), StoreError> {
    db.exec("DELETE FROM sessions WHERE staff_id = $1", &[staff_id.into()])?;
    Ok(())
}

pub struct CollectionRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub name: String,
    pub definition: String,
    pub created_at: i64,
}

fn collection(r: &Row) -> Result<CollectionRow, StoreError> {
    Ok(CollectionRow { tenant_id: r.uuid(0)?, id: r.uuid(1)?, name: r.text(2)?, definition: r.text(3)?, created_at: r.i64(4)? })
}

pub fn insert_collection(db: &mut dyn Db, c: &CollectionRow) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO collections (tenant_id, id, name, definition, created_at) VALUES ($1, $2, $3, $4, $5)",
        &[c.tenant_id.into(), c.id.into(), c.name.as_str().into(), c.definition.as_str().into(), c.created_at.into()],
    )?;
    Ok(())
}

pub fn list_collections(db: &mut dyn Db, tenant: Uuid) -> Result<Vec<CollectionRow>, StoreError> {
    db.query("SELECT tenant_id, id, name, definition, created_at FROM collections WHERE tenant_id = $1 ORDER BY name", &[tenant.into()])?
        .iter()
        .map(collection)
        .collect()
}

pub fn collection_by_name(db: &mut dyn Db, tenant: Uuid, name: &str) -> Result<Option<CollectionRow>, StoreError> {
    db.query(
        "SELECT tenant_id, id, name, definition, created_at FROM collections WHERE tenant_id = $1 AND name = $2",
        &[tenant.into(), name.into()],
    )?
    .first()
    .map(collection)
    .transpose()
}

pub struct SubjectRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub wrapped_key: Vec<u8>,
    pub created_at: i64,
}

pub fn insert_subject(db: &mut dyn Db, s: &SubjectRow) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO subjects (tenant_id, id, wrapped_key, created_at) VALUES ($1, $2, $3, $4)",
        &[s.tenant_id.into(), s.id.into(), s.wrapped_key.as_slice().into(), s.created_at.into()],
    )?;
    Ok(())
}

pub fn get_subject(db: &mut dyn Db, tenant: Uuid, id: Uuid) -> Result<Option<SubjectRow>, StoreError> {
    db.query("SELECT tenant_id, id, wrapped_key, created_at FROM subjects WHERE tenant_id = $1 AND id = $2", &[tenant.into(), id.into()])?
        .first()
        .map(|r| Ok(SubjectRow { tenant_id: r.uuid(0)?, id: r.uuid(1)?, wrapped_key: r.blob(2)?, created_at: r.i64(3)? }))
        .transpose()
}

/// A blind-indexed identifier of a subject; `source_record` is the record
/// whose field yielded it, or `None` if it was given for the subject itself.
pub struct IdentifierRow {
    pub kind: String,
    pub hash: Vec<u8>,
    pub source_record: Option<Uuid>,
}

/// Subjects (normally at most one) that an identifier points to.
pub fn subjects_by_identifier(db: &mut dyn Db, tenant: Uuid, kind: &str, hash: &[u8]) -> Result<Vec<Uuid>, StoreError> {
    db.query(
        "SELECT DISTINCT subject_id FROM subject_identifiers WHERE tenant_id = $1 AND kind = $2 AND hash = $3",
        &[tenant.into(), kind.into(), hash.into()],
    )?
    .iter()
    .map(|r| r.uuid(0))
    .collect()
}

pub fn insert_identifier(db: &mut dyn Db, tenant: Uuid, subject: Uuid, i: &IdentifierRow) -> Result<(), StoreError> {
    let source = i.source_record.map(|r| r.to_string()).unwrap_or_default();
    db.exec(
        "INSERT INTO subject_identifiers (tenant_id, kind, hash, source_record, subject_id) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT DO NOTHING",
        &[tenant.into(), i.kind.as_str().into(), i.hash.as_slice().into(), source.into(), subject.into()],
    )?;
    Ok(())
}

pub fn delete_identifiers_of_record(db: &mut dyn Db, tenant: Uuid, record: Uuid) -> Result<(), StoreError> {
    db.exec("DELETE FROM subject_identifiers WHERE tenant_id = $1 AND source_record = $2", &[tenant.into(), record.into()])?;
    Ok(())
}

pub fn count_identifiers_of_subject(db: &mut dyn Db, tenant: Uuid, subject: Uuid) -> Result<i64, StoreError> {
    db.query("SELECT COUNT(*) FROM subject_identifiers WHERE tenant_id = $1 AND subject_id = $2", &[tenant.into(), subject.into()])?[0].i64(0)
}

pub struct RecordRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub collection_id: Uuid,
    pub subject_id: Uuid,
    pub fields: Vec<u8>,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A record with its subject's wrapped key, ready to be opened.
pub struct SealedRecord {
    pub record: RecordRow,
    pub subject_key: Vec<u8>,
}

fn sealed_record(r: &Row) -> Result<SealedRecord, StoreError> {
    Ok(SealedRecord {
        record: RecordRow {
            tenant_id: r.uuid(0)?,
            id: r.uuid(1)?,
            collection_id: r.uuid(2)?,
            subject_id: r.uuid(3)?,
            fields: r.blob(4)?,
            version: r.i64(5)?,
            created_at: r.i64(6)?,
            updated_at: r.i64(7)?,
        },
        subject_key: r.blob(8)?,
    })
}

pub fn insert_record(db: &mut dyn Db, r: &RecordRow) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO records (tenant_id, id, collection_id, subject_id, fields, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            r.tenant_id.into(),
            r.id.into(),
            r.collection_id.into(),
            r.subject_id.into(),
            r.fields.as_slice().into(),
            r.version.into(),
            r.created_at.into(),
            r.updated_at.into(),
        ],
    )?;
    Ok(())
}

pub fn get_record(db: &mut dyn Db, tenant: Uuid, collection: Uuid, id: Uuid) -> Result<Option<SealedRecord>, StoreError> {
    db.query(
        "SELECT r.tenant_id, r.id, r.collection_id, r.subject_id, r.fields, r.version, r.created_at, r.updated_at, s.wrapped_key \
         FROM records r JOIN subjects s ON s.tenant_id = r.tenant_id AND s.id = r.subject_id \
         WHERE r.tenant_id = $1 AND r.id = $2 AND r.collection_id = $3",
        &[tenant.into(), id.into(), collection.into()],
    )?
    .first()
    .map(sealed_record)
    .transpose()
}

pub fn records_of_subject(db: &mut dyn Db, tenant: Uuid, subject: Uuid) -> Result<Vec<SealedRecord>, StoreError> {
    db.query(
        "SELECT r.tenant_id, r.id, r.collection_id, r.subject_id, r.fields, r.version, r.created_at, r.updated_at, s.wrapped_key \
         FROM records r JOIN subjects s ON s.tenant_id = r.tenant_id AND s.id = r.subject_id \
         WHERE r.tenant_id = $1 AND r.subject_id = $2 ORDER BY r.id",
        &[tenant.into(), subject.into()],
    )?
    .iter()
    .map(sealed_record)
    .collect()
}

/// One page of a collection's records, in id order, after `after`.
pub fn records_of_collection(db: &mut dyn Db, tenant: Uuid, collection: Uuid, after: Option<Uuid>, limit: i64) -> Result<Vec<SealedRecord>, StoreError> {
    db.query(
        "SELECT r.tenant_id, r.id, r.collection_id, r.subject_id, r.fields, r.version, r.created_at, r.updated_at, s.wrapped_key \
         FROM records r JOIN subjects s ON s.tenant_id = r.tenant_id AND s.id = r.subject_id \
         WHERE r.tenant_id = $1 AND r.collection_id = $2 AND r.id > $3 ORDER BY r.id LIMIT $4",
        &[tenant.into(), collection.into(), after.map(|a| a.to_string()).unwrap_or_default().into(), limit.into()],
    )?
    .iter()
    .map(sealed_record)
    .collect()
}

/// Replaces a record's sealed fields if its version is still `expected`.
pub fn update_record(db: &mut dyn Db, r: &RecordRow, expected: i64) -> Result<(), StoreError> {
    let n = db.exec(
        "UPDATE records SET fields = $1, version = $2, updated_at = $3 WHERE tenant_id = $4 AND id = $5 AND version = $6",
        &[r.fields.as_slice().into(), r.version.into(), r.updated_at.into(), r.tenant_id.into(), r.id.into(), expected.into()],
    )?;
    if n == 0 {
        return Err(StoreError::Stale);
    }
    Ok(())
}

pub fn delete_record(db: &mut dyn Db, tenant: Uuid, collection: Uuid, id: Uuid) -> Result<(), StoreError> {
    delete_identifiers_of_record(db, tenant, id)?;
    let n = db.exec(
        "DELETE FROM records WHERE tenant_id = $1 AND id = $2 AND collection_id = $3",
        &[tenant.into(), id.into(), collection.into()],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Erases a subject: records, identifiers and the wrapped key (crypto-shredding).
pub fn delete_subject(db: &mut dyn Db, tenant: Uuid, subject: Uuid) -> Result<u64, StoreError> {
    let records = db.exec("DELETE FROM records WHERE tenant_id = $1 AND subject_id = $2", &[tenant.into(), subject.into()])?;
    db.exec("DELETE FROM subject_identifiers WHERE tenant_id = $1 AND subject_id = $2", &[tenant.into(), subject.into()])?;
    let n = db.exec("DELETE FROM subjects WHERE tenant_id = $1 AND id = $2", &[tenant.into(), subject.into()])?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(records)
}

pub fn ping(db: &mut dyn Db) -> Result<(), StoreError> {
    db.query("SELECT 1", &[])?;
    Ok(())
}

// ---- The audit trail (append-only: there is no UPDATE or DELETE here) ----

/// An audit event as stored.
pub struct AuditRow {
    pub seq: i64,
    pub body: Vec<u8>,
    pub leaf_hash: Vec<u8>,
}

/// The columns of an event that queries filter on (copies of body fields).
pub struct AuditIndex<'a> {
    pub seq: i64,
    pub time_ms: i64,
    pub tenant: Option<Uuid>,
    pub actor: Option<Uuid>,
    pub action: &'a str,
    pub subject: Option<Uuid>,
}

pub fn insert_audit_event(db: &mut dyn Db, ix: &AuditIndex, body: &[u8], leaf_hash: &[u8]) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO audit_events (seq, time_ms, tenant_id, actor_id, action, subject_id, body, leaf_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[ix.seq.into(), ix.time_ms.into(), ix.tenant.into(), ix.actor.into(), ix.action.into(), ix.subject.into(), body.into(), leaf_hash.into()],
    )?;
    Ok(())
}

/// The query columns of a stored event as they are in the table.
pub struct AuditColumns {
    pub time_ms: i64,
    pub tenant: Option<String>,
    pub actor: Option<String>,
    pub action: String,
    pub subject: Option<String>,
}

/// Events from `from` with their query columns, for the verifier.
pub fn audit_events_with_columns(db: &mut dyn Db, from: i64, limit: i64) -> Result<Vec<(AuditRow, AuditColumns)>, StoreError> {
    db.query(
        "SELECT seq, body, leaf_hash, time_ms, tenant_id, actor_id, action, subject_id FROM audit_events WHERE seq >= $1 ORDER BY seq LIMIT $2",
        &[from.into(), limit.into()],
    )?
    .into_iter()
    .map(|mut r| {
        Ok((
            AuditRow { seq: r.i64(0)?, body: r.take_blob(1)?, leaf_hash: r.take_blob(2)? },
            AuditColumns {
                time_ms: r.i64(3)?,
                tenant: r.take_opt_text(4)?,
                actor: r.take_opt_text(5)?,
                action: r.take_opt_text(6)?.unwrap_or_default(),
                subject: r.take_opt_text(7)?,
            },
        ))
    })
    .collect()
}

/// Leaf hashes in order, from `from` (inclusive) to `to` (exclusive).
pub fn audit_leaf_hashes(db: &mut dyn Db, from: i64, to: i64) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
    db.query("SELECT seq, leaf_hash FROM audit_events WHERE seq >= $1 AND seq < $2 ORDER BY seq", &[from.into(), to.into()])?
        .iter()
        .map(|r| Ok((r.i64(0)?, r.blob(1)?)))
        .collect()
}

/// The last event (its seq, time and leaf hash), if any.
pub fn audit_last(db: &mut dyn Db) -> Result<Option<(i64, i64, Vec<u8>)>, StoreError> {
    db.query("SELECT seq, time_ms, leaf_hash FROM audit_events ORDER BY seq DESC LIMIT 1", &[])?
        .first()
        .map(|r| Ok((r.i64(0)?, r.i64(1)?, r.blob(2)?)))
        .transpose()
}

/// Events in order from `from`, at most `limit`: for the verifier and exports.
pub fn audit_events_from(db: &mut dyn Db, from: i64, limit: i64) -> Result<Vec<AuditRow>, StoreError> {
    db.query("SELECT seq, body, leaf_hash FROM audit_events WHERE seq >= $1 ORDER BY seq LIMIT $2", &[from.into(), limit.into()])?
        .iter()
        .map(audit_row)
        .collect()
}

/// Filters of an audit query; `None` matches everything.
pub struct AuditFilter {
    pub tenant: Option<Uuid>,
    pub subject: Option<Uuid>,
    pub actor: Option<Uuid>,
    pub action: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub after: Option<i64>,
    pub limit: i64,
}

/// The first seq whose time is at or after `t` (one past the end if none):
/// times never decrease along the log, so a binary search on seq finds it.
pub fn audit_first_seq_at(db: &mut dyn Db, t: i64) -> Result<i64, StoreError> {
    let Some((last, _, _)) = audit_last(db)? else { return Ok(0) };
    let (mut lo, mut hi) = (0i64, last + 1);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let time = db.query("SELECT time_ms FROM audit_events WHERE seq >= $1 ORDER BY seq LIMIT 1", &[mid.into()])?.first().map(|r| r.i64(0)).transpose()?;
        match time {
            Some(tm) if tm < t => lo = mid + 1,
            _ => hi = mid,
        }
    }
    Ok(lo)
}

/// One page of events matching the filter, oldest first, after `after`.
/// A time window becomes a seq range first (no time index is kept).
pub fn audit_query(db: &mut dyn Db, f: &AuditFilter) -> Result<Vec<AuditRow>, StoreError> {
    let mut after = f.after.unwrap_or(-1);
    if let Some(from) = f.from_ms {
        after = after.max(audit_first_seq_at(db, from)? - 1);
    }
    let before = match f.to_ms {
        Some(to) => audit_first_seq_at(db, to)?,
        None => i64::MAX,
    };
    if let Some(subject) = f.subject {
        return audit_query_subject(db, f, subject, after, before);
    }
    let params = [
        f.tenant.into(),
        f.actor.into(),
        f.action.clone().into(),
        f.from_ms.into(),
        f.to_ms.into(),
        after.into(),
        f.limit.into(),
        f.subject.into(),
        before.into(),
    ];
    let rows = match f.actor {
        Some(_) => db.query(
            "SELECT seq, body, leaf_hash FROM audit_events WHERE actor_id = $2 AND (CAST($1 AS TEXT) IS NULL OR tenant_id = $1) \
             AND (CAST($3 AS TEXT) IS NULL OR action = $3) AND (CAST($4 AS BIGINT) IS NULL OR time_ms >= $4) AND (CAST($5 AS BIGINT) IS NULL OR time_ms < $5) \
             AND seq > $6 AND seq < $9 AND (CAST($8 AS TEXT) IS NULL OR subject_id = $8) ORDER BY seq LIMIT $7",
            &params,
        )?,
        None => db.query(
            "SELECT seq, body, leaf_hash FROM audit_events WHERE (CAST($1 AS TEXT) IS NULL OR tenant_id = $1) AND (CAST($2 AS TEXT) IS NULL OR actor_id = $2) \
             AND (CAST($3 AS TEXT) IS NULL OR action = $3) AND (CAST($4 AS BIGINT) IS NULL OR time_ms >= $4) AND (CAST($5 AS BIGINT) IS NULL OR time_ms < $5) \
             AND seq > $6 AND seq < $9 AND (CAST($8 AS TEXT) IS NULL OR subject_id = $8) ORDER BY seq LIMIT $7",
            &params,
        )?,
    };
    rows.iter().map(audit_row).collect()
}

/// An audit row from `SELECT seq, body, leaf_hash`.
fn audit_row(r: &Row) -> Result<AuditRow, StoreError> {
    Ok(AuditRow { seq: r.i64(0)?, body: r.blob(1)?, leaf_hash: r.blob(2)? })
}

/// Events per run of the subject index (`audit_subject_runs`, migration
/// 0005, which has the number too).
pub const SUBJECT_RUN: i64 = 4096;

/// One entry of the subject index: tenant ('' for none), subject, seq.
pub type SubjectEntry = (String, String, i64);

/// Writes the subject index of a complete run (entries in any order), in
/// statements of up to 256 rows: on PostgreSQL each statement is a round
/// trip, and the writer waits for all of them.
pub fn insert_subject_run(db: &mut dyn Db, run: i64, entries: &[SubjectEntry]) -> Result<(), StoreError> {
    static WIDE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    static NARROW: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let rows = |n: usize| {
        let values: Vec<String> = (0..n).map(|i| format!("(${}, ${}, ${}, ${})", 4 * i + 1, 4 * i + 2, 4 * i + 3, 4 * i + 4)).collect();
        format!("INSERT INTO audit_subject_runs (run, tenant_id, subject_id, seq) VALUES {}", values.join(", "))
    };
    let mut rest = entries;
    while !rest.is_empty() {
        let (n, sql) = match rest.len() {
            256.. => (256, WIDE.get_or_init(|| rows(256)).as_str()),
            16.. => (16, NARROW.get_or_init(|| rows(16)).as_str()),
            _ => (1, "INSERT INTO audit_subject_runs (run, tenant_id, subject_id, seq) VALUES ($1, $2, $3, $4)"),
        };
        let (now, later) = rest.split_at(n);
        let params: Vec<Val> = now.iter().flat_map(|(t, s, q)| [run.into(), t.as_str().into(), s.as_str().into(), (*q).into()]).collect();
        db.exec(sql, &params)?;
        rest = later;
    }
    Ok(())
}

/// The subject index entries events `from..to` call for, from their columns.
pub fn audit_subject_entries(db: &mut dyn Db, from: i64, to: i64) -> Result<Vec<SubjectEntry>, StoreError> {
    db.query(
        "SELECT COALESCE(tenant_id, ''), subject_id, seq FROM audit_events WHERE seq >= $1 AND seq < $2 AND subject_id IS NOT NULL ORDER BY seq",
        &[from.into(), to.into()],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.text(1)?, r.i64(2)?)))
    .collect()
}

/// The stored subject index rows of one run.
pub fn subject_run_rows(db: &mut dyn Db, run: i64) -> Result<Vec<SubjectEntry>, StoreError> {
    db.query("SELECT tenant_id, subject_id, seq FROM audit_subject_runs WHERE run = $1", &[run.into()])?
        .iter()
        .map(|r| Ok((r.text(0)?, r.text(1)?, r.i64(2)?)))
        .collect()
}

/// The first subject index row at run `run` or later, as (run, seq).
pub fn first_subject_row_from(db: &mut dyn Db, run: i64) -> Result<Option<(i64, i64)>, StoreError> {
    db.query("SELECT run, seq FROM audit_subject_runs WHERE run >= $1 ORDER BY run, seq LIMIT 1", &[run.into()])?
        .first()
        .map(|r| Ok((r.i64(0)?, r.i64(1)?)))
        .transpose()
}

/// A subject's events (one page, oldest first, `after < seq < before`):
/// one seek per complete run of the subject index, then a scan of the
/// events after the last complete run.
fn audit_query_subject(db: &mut dyn Db, f: &AuditFilter, subject: Uuid, after: i64, before: i64) -> Result<Vec<AuditRow>, StoreError> {
    let tenant = f.tenant.map(|t| t.to_string()).unwrap_or_default();
    let size = audit_last(db)?.map_or(0, |l| l.0 + 1);
    let indexed = size / SUBJECT_RUN * SUBJECT_RUN;
    let mut out: Vec<AuditRow> = Vec::new();
    // Both statements take the same parameters; $1 is the run, or the
    // first seq after the last complete run.
    let params = |first: i64, left: i64| -> [Val; 10] {
        [
            first.into(),
            tenant.as_str().into(),
            subject.into(),
            after.into(),
            before.into(),
            f.actor.into(),
            f.action.clone().into(),
            f.from_ms.into(),
            f.to_ms.into(),
            left.into(),
        ]
    };
    let mut run = (after + 1).max(0) / SUBJECT_RUN;
    while run * SUBJECT_RUN < indexed.min(before) && (out.len() as i64) < f.limit {
        let rows = db.query(
            "SELECT e.seq, e.body, e.leaf_hash FROM audit_subject_runs r JOIN audit_events e ON e.seq = r.seq \
             WHERE r.run = $1 AND r.tenant_id = $2 AND r.subject_id = $3 AND r.seq > $4 AND r.seq < $5 \
             AND (CAST($6 AS TEXT) IS NULL OR e.actor_id = $6) AND (CAST($7 AS TEXT) IS NULL OR e.action = $7) \
             AND (CAST($8 AS BIGINT) IS NULL OR e.time_ms >= $8) AND (CAST($9 AS BIGINT) IS NULL OR e.time_ms < $9) ORDER BY r.seq LIMIT $10",
            &params(run, f.limit - out.len() as i64),
        )?;
        out.extend(rows.iter().map(audit_row).collect::<Result<Vec<_>, _>>()?);
        run += 1;
    }
    if (out.len() as i64) < f.limit && indexed < before {
        let rows = db.query(
            "SELECT seq, body, leaf_hash FROM audit_events WHERE seq >= $1 AND seq > $4 AND seq < $5 AND subject_id = $3 AND COALESCE(tenant_id, '') = $2 \
             AND (CAST($6 AS TEXT) IS NULL OR actor_id = $6) AND (CAST($7 AS TEXT) IS NULL OR action = $7) \
             AND (CAST($8 AS BIGINT) IS NULL OR time_ms >= $8) AND (CAST($9 AS BIGINT) IS NULL OR time_ms < $9) ORDER BY seq LIMIT $10",
            &params(indexed, f.limit - out.len() as i64),
        )?;
        out.extend(rows.iter().map(audit_row).collect::<Result<Vec<_>, _>>()?);
    }
    Ok(out)
}

#[derive(Clone)]
pub struct HeadRow {
    pub tree_size: i64,
    pub root: Vec<u8>,
    pub time_ms: i64,
    pub note: String,
}

/// Keeps the frontier at a tree size (once per size).
pub fn insert_audit_frontier(db: &mut dyn Db, tree_size: i64, stack: &[u8]) -> Result<(), StoreError> {
    db.exec("INSERT INTO audit_frontier (tree_size, stack) VALUES ($1, $2) ON CONFLICT DO NOTHING", &[tree_size.into(), stack.into()])?;
    Ok(())
}

/// Every kept frontier, by tree size.
pub fn audit_frontiers(db: &mut dyn Db) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
    db.query("SELECT tree_size, stack FROM audit_frontier ORDER BY tree_size", &[])?.iter().map(|r| Ok((r.i64(0)?, r.blob(1)?))).collect()
}

/// The latest kept frontier at or below `max_size`.
pub fn latest_audit_frontier(db: &mut dyn Db, max_size: i64) -> Result<Option<(i64, Vec<u8>)>, StoreError> {
    db.query("SELECT tree_size, stack FROM audit_frontier WHERE tree_size <= $1 ORDER BY tree_size DESC LIMIT 1", &[max_size.into()])?
        .first()
        .map(|r| Ok((r.i64(0)?, r.blob(1)?)))
        .transpose()
}

pub fn insert_audit_head(db: &mut dyn Db, h: &HeadRow) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO audit_heads (tree_size, root, time_ms, note) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        &[h.tree_size.into(), h.root.as_slice().into(), h.time_ms.into(), h.note.as_str().into()],
    )?;
    Ok(())
}

fn head_row(r: &Row) -> Result<HeadRow, StoreError> {
    Ok(HeadRow { tree_size: r.i64(0)?, root: r.blob(1)?, time_ms: r.i64(2)?, note: r.text(3)? })
}

pub fn audit_heads(db: &mut dyn Db) -> Result<Vec<HeadRow>, StoreError> {
    db.query("SELECT tree_size, root, time_ms, note FROM audit_heads ORDER BY tree_size", &[])?.iter().map(head_row).collect()
}

pub fn latest_audit_head(db: &mut dyn Db) -> Result<Option<HeadRow>, StoreError> {
    db.query("SELECT tree_size, root, time_ms, note FROM audit_heads ORDER BY tree_size DESC LIMIT 1", &[])?.first().map(head_row).transpose()
}

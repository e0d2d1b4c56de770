//! Statements of subjects, identifiers and records.

use super::super::db::{Db, Row, Val};
use super::super::StoreError;
use uuid::Uuid;

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
    db.query(
        "SELECT tenant_id, id, wrapped_key, created_at FROM subjects WHERE tenant_id = $1 AND id = $2",
        &[tenant.into(), id.into()],
    )?
    .first()
    .map(|r| Ok(SubjectRow { tenant_id: r.uuid(0)?, id: r.uuid(1)?, wrapped_key: r.blob(2)?, created_at: r.i64(3)? }))
    .transpose()
}

/// A blind-indexed identifier of a subject; `source_record` is the record
/// whose field yielded it, or `None` if it was given for the subject itself.
#[derive(Clone)]
pub struct IdentifierRow {
    pub kind: String,
    pub hash: Vec<u8>,
    pub source_record: Option<Uuid>,
}

/// Serialises writes that look identifiers up and then add them, across
/// the writer connections of one server and across servers (PostgreSQL: a
/// transaction-level advisory lock per identifier, taken in order, without
/// waiting; SQLite: the write transaction is already exclusive). `false`:
/// another transaction holds one of them; nothing waits, the caller retries
/// once it has committed. Held until this batch commits.
pub fn try_lock_identifiers(db: &mut dyn Db, idents: &[IdentifierRow]) -> Result<bool, StoreError> {
    if db.dialect() != super::super::db::Dialect::Postgres {
        return Ok(true);
    }
    let keys = lock_keys(idents.iter().map(|i| &i.hash[..]));
    if keys.len() > 4 {
        // Many (an import's chunk): one statement over an array.
        let got = db.query(
            "SELECT bool_and(pg_try_advisory_xact_lock(k)) FROM unnest($1::bigint[]) AS k",
            &[Val::I64Array(keys)],
        )?;
        return Ok(got.first().map(|r| r.opt_i64(0)).transpose()?.flatten().unwrap_or(0) != 0);
    }
    static LOCK: super::Shapes<4> = super::Shapes::new(|n| {
        let each: Vec<String> = (1..=n).map(|i| format!("pg_try_advisory_xact_lock(${i})")).collect();
        format!("SELECT {}", each.join(" AND "))
    });
    for chunk in keys.chunks(4) {
        let params: Vec<Val> = chunk.iter().map(|k| (*k).into()).collect();
        let got = db.query(LOCK.get(chunk.len()), &params)?;
        if !got.first().map(|r| r.bool(0)).transpose()?.unwrap_or(false) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The advisory-lock keys of identifiers (their blind index's first 8
/// bytes), sorted, without repeats.
fn lock_keys<'a>(hashes: impl Iterator<Item = &'a [u8]>) -> Vec<i64> {
    let mut keys: Vec<i64> =
        hashes.map(|h| i64::from_be_bytes(h.get(..8).and_then(|b| b.try_into().ok()).unwrap_or([0; 8]))).collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Where a new record went (`place_record`).
#[derive(Debug, PartialEq, Eq)]
pub enum Placement {
    Done,
    /// Another transaction holds one of its identifiers' locks: retry.
    Busy,
    /// It was to make a new subject, but an identifier names this one.
    Elsewhere(Uuid),
    /// Its subject exists and an identifier names another subject.
    Conflict,
}

/// Places a new record and its identifiers (each with the record as its
/// source): takes the identifiers' locks, checks that none names a subject
/// other than the record's (then nothing is written), inserts the subject if
/// `new_subject` is given, the record, its identifiers and its searchable
/// attributes (`attrs`: never checked, never locked: they may be shared).
/// On PostgreSQL in one call (`varuh_place_record`, migration 0010) that writes all or
/// nothing and never aborts the transaction (run it with
/// `Store::write_whole`); on SQLite as statements.
pub fn place_record(
    db: &mut dyn Db,
    new_subject: Option<&SubjectRow>,
    row: &RecordRow,
    idents: &[IdentifierRow],
    attrs: &[IdentifierRow],
) -> Result<Placement, StoreError> {
    let (tenant, sid) = (row.tenant_id, row.subject_id);
    if db.dialect() == super::super::db::Dialect::Postgres {
        let answer = db.query(
            "SELECT varuh_place_record($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            &[
                tenant.into(),
                sid.into(),
                new_subject.map(|s| s.wrapped_key.clone()).into(),
                new_subject.map_or(row.created_at, |s| s.created_at).into(),
                row.id.into(),
                row.collection_id.into(),
                row.fields.as_slice().into(),
                row.version.into(),
                row.created_at.into(),
                row.updated_at.into(),
                Val::TextArray(idents.iter().map(|i| i.kind.clone()).collect()),
                Val::BlobArray(idents.iter().map(|i| i.hash.clone()).collect()),
                Val::I64Array(lock_keys(idents.iter().map(|i| &i.hash[..]))),
                Val::TextArray(attrs.iter().map(|i| i.kind.clone()).collect()),
                Val::BlobArray(attrs.iter().map(|i| i.hash.clone()).collect()),
            ],
        )?;
        let answer = answer.first().map(|r| r.text(0)).transpose()?.unwrap_or_default();
        return placement_of(&answer);
    }
    if !try_lock_identifiers(db, idents)? {
        return Ok(Placement::Busy);
    }
    let probe: Vec<(String, Vec<u8>)> = idents.iter().map(|i| (i.kind.clone(), i.hash.clone())).collect();
    if !probe.is_empty() {
        if let Some(other) = subjects_by_identifiers(db, tenant, &probe)?.into_iter().find(|s| *s != sid) {
            return Ok(if new_subject.is_some() { Placement::Elsewhere(other) } else { Placement::Conflict });
        }
    }
    if let Some(s) = new_subject {
        insert_subject(db, s)?;
    }
    insert_record(db, row)?;
    insert_identifiers(db, tenant, sid, idents)?;
    insert_attributes(db, tenant, sid, attrs)?;
    Ok(Placement::Done)
}

/// What `varuh_place_record` and `varuh_place_records` answer, read.
fn placement_of(answer: &str) -> Result<Placement, StoreError> {
    match answer.split_once(' ').unwrap_or((answer, "")) {
        ("ok", _) => Ok(Placement::Done),
        ("busy", _) => Ok(Placement::Busy),
        ("conflict", _) | ("error", "23505") => Ok(Placement::Conflict),
        ("elsewhere", other) => Ok(Placement::Elsewhere(
            other.parse().map_err(|_| StoreError::Corrupt("a subject id that is not a uuid".into()))?,
        )),
        // The functions catch every error to answer it: the disk full or
        // the database read-only are still not the request's fault.
        ("error", "53100") => Err(StoreError::Unavailable(crate::store::DISK_FULL.into())),
        ("error", code) if code == "25006" || code.starts_with("08") || code.starts_with("57P") => {
            Err(StoreError::Unavailable(format!("the database cannot take writes now (SQLSTATE {code})")))
        }
        ("error", code) => Err(StoreError::Db(format!("placing a record failed (SQLSTATE {code})"))),
        _ => Err(StoreError::Corrupt("an unknown answer from placing a record".into())),
    }
}

/// A new record to place, with what `place_record` takes.
pub struct NewRecord {
    pub new_subject: Option<SubjectRow>,
    pub row: RecordRow,
    pub idents: Vec<IdentifierRow>,
    pub attrs: Vec<IdentifierRow>,
}

impl NewRecord {
    /// The identifiers by which it could meet another new record (no two
    /// such may be placed in one call).
    pub fn keys(&self) -> impl Iterator<Item = (Uuid, &str, &[u8])> + '_ {
        self.idents.iter().map(|i| (self.row.tenant_id, i.kind.as_str(), &i.hash[..]))
    }
}

/// Places several new records, each as `place_record` would, answering
/// one `Placement` (or error) per record in order. PostgreSQL: one call
/// (`varuh_place_records_alone` with no events, migration 0025) that never aborts the
/// transaction; no two records may share an identifier. SQLite: one by one.
pub fn place_records(db: &mut dyn Db, all: &[NewRecord]) -> Result<Vec<Result<Placement, StoreError>>, StoreError> {
    if db.dialect() != super::super::db::Dialect::Postgres {
        // Each in a savepoint of its own: one that fails writes nothing.
        return all
            .iter()
            .map(|r| {
                db.control("SAVEPOINT place")?;
                let placed = place_record(db, r.new_subject.as_ref(), &r.row, &r.idents, &r.attrs);
                if !matches!(placed, Ok(Placement::Done)) {
                    db.control("ROLLBACK TO place")?;
                }
                db.control("RELEASE place")?;
                Ok(placed)
            })
            .collect();
    }
    // The statement the writer uses, without events to append.
    place_records_audited(db, all, &[], 0, None, 0, &[], false).map(|(answers, ..)| answers)
}

/// Each record's answer from placing several.
pub type Answers = Vec<Result<Placement, StoreError>>;

/// PostgreSQL: `place_records` and, in the same statement, `audit_push` of
/// the events of the records placed (`of`: each event's record, by index
/// into `all`), as numbered by the caller if every record is placed, else
/// numbered anew by the database (migration 0025). One statement that
/// writes all or nothing, so it may run in autocommit. `early`, in
/// autocommit only: it commits without waiting for the disk (migration
/// 0027), and the caller must await `audit::audit_flushed` before it
/// answers. The answers, what the push did (`None`: no event went), and
/// the events sent (`None`: all).
#[allow(clippy::too_many_arguments)]
pub fn place_records_audited(
    db: &mut dyn Db,
    all: &[NewRecord],
    of: &[usize],
    size: i64,
    last: Option<&[u8]>,
    max: i64,
    events: &[super::PushEvent],
    early: bool,
) -> Result<super::WithPush<Answers>, StoreError> {
    if of.len() != events.len() || of.iter().any(|i| *i >= all.len()) {
        return Err(StoreError::Db("each event must name one of the records".into()));
    }
    let mut params = place_params(all);
    params.extend(super::audit::push_params(size, last, max, events));
    params.push(Val::I64Array(of.iter().map(|i| *i as i64 + 1).collect()));
    let sql = if early {
        "SELECT answer, as_sent, seq, time_ms, leaf_hash, tenant_id, subject_id, action \
         FROM varuh_place_records_early($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
         $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30)"
    } else {
        "SELECT answer, as_sent, seq, time_ms, leaf_hash, tenant_id, subject_id, action \
         FROM varuh_place_records_alone($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
         $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30)"
    };
    let mut rows = db.query(sql, &params)?;
    if rows.len() < all.len() || rows.get(all.len()).is_some_and(|r| r.opt_text(0).ok().flatten().is_some()) {
        return Err(StoreError::Corrupt("placing records answered the wrong count".into()));
    }
    let pushed = rows.split_off(all.len());
    let answers = rows.iter().map(|r| r.text(0).map(|a| placement_of(&a))).collect::<Result<Vec<_>, _>>()?;
    let sent = (!answers.iter().all(|a| matches!(a, Ok(Placement::Done))))
        .then(|| (0..of.len()).filter(|e| matches!(answers[of[*e]], Ok(Placement::Done))).collect::<Vec<_>>());
    let owed = sent.as_ref().map_or(events.len(), Vec::len);
    let pushed = match pushed.is_empty() {
        true if owed > 0 => return Err(StoreError::Corrupt("the placed records' events were not appended".into())),
        true => None,
        false => Some(super::audit::pushed_of(pushed, 1)?),
    };
    Ok((answers, pushed, sent))
}

/// `varuh_place_records`' seventeen arguments.
fn place_params(all: &[NewRecord]) -> Vec<Val> {
    let texts = |f: &dyn Fn(&NewRecord) -> String| Val::TextArray(all.iter().map(f).collect());
    let ints = |f: &dyn Fn(&NewRecord) -> i64| Val::I64Array(all.iter().map(f).collect());
    let (mut of, mut kinds, mut hashes, mut locks) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut attr_of, mut attr_kinds, mut attr_hashes) = (Vec::new(), Vec::new(), Vec::new());
    for (n, r) in all.iter().enumerate() {
        let n = n as i64 + 1;
        for i in &r.idents {
            of.push(n);
            kinds.push(i.kind.clone());
            hashes.push(i.hash.clone());
            locks.extend(lock_keys(std::iter::once(&i.hash[..])));
        }
        for a in &r.attrs {
            attr_of.push(n);
            attr_kinds.push(a.kind.clone());
            attr_hashes.push(a.hash.clone());
        }
    }
    vec![
        texts(&|r| r.row.tenant_id.to_string()),
        texts(&|r| r.row.subject_id.to_string()),
        Val::BlobArray(
            all.iter().map(|r| r.new_subject.as_ref().map(|s| s.wrapped_key.clone()).unwrap_or_default()).collect(),
        ),
        ints(&|r| r.new_subject.as_ref().map_or(r.row.created_at, |s| s.created_at)),
        texts(&|r| r.row.id.to_string()),
        texts(&|r| r.row.collection_id.to_string()),
        Val::BlobArray(all.iter().map(|r| r.row.fields.clone()).collect()),
        ints(&|r| r.row.version),
        ints(&|r| r.row.created_at),
        ints(&|r| r.row.updated_at),
        Val::I64Array(of),
        Val::TextArray(kinds),
        Val::BlobArray(hashes),
        Val::I64Array(locks),
        Val::I64Array(attr_of),
        Val::TextArray(attr_kinds),
        Val::BlobArray(attr_hashes),
    ]
}

/// The subjects that any of these identifiers points to (an identifier
/// names one subject: each is one index look-up, whatever the number of
/// records that carry it).
pub fn subjects_by_identifiers(
    db: &mut dyn Db,
    tenant: Uuid,
    idents: &[(String, Vec<u8>)],
) -> Result<Vec<Uuid>, StoreError> {
    let mut out = Vec::new();
    for (kind, hash) in idents {
        for s in subjects_by_identifier(db, tenant, kind, hash)? {
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    Ok(out)
}

/// The subject an identifier points to, if any (one index look-up).
pub fn subjects_by_identifier(db: &mut dyn Db, tenant: Uuid, kind: &str, hash: &[u8]) -> Result<Vec<Uuid>, StoreError> {
    db.query(
        "SELECT subject_id FROM subject_identifiers WHERE tenant_id = $1 AND kind = $2 AND hash = $3 LIMIT 1",
        &[tenant.into(), kind.into(), hash.into()],
    )?
    .iter()
    .map(|r| r.uuid(0))
    .collect()
}

/// Up to `limit` subjects with this searchable attribute, in id order from
/// `after` on, with their creation times. The index gives the subjects in
/// order, so the cost is the look-up plus the records of the subjects
/// returned; then their rows (PostgreSQL: in one statement; SQLite, in
/// process: one look-up each).
pub fn subjects_by_attribute(
    db: &mut dyn Db,
    tenant: Uuid,
    kind: &str,
    hash: &[u8],
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<(Uuid, i64)>, StoreError> {
    let ids: Vec<Uuid> = db
        .query(
            "SELECT DISTINCT subject_id FROM subject_attributes WHERE tenant_id = $1 AND kind = $2 AND hash = $3 \
             AND subject_id > $4 ORDER BY subject_id LIMIT $5",
            &[
                tenant.into(),
                kind.into(),
                hash.into(),
                after.map(|a| a.to_string()).unwrap_or_default().into(),
                limit.into(),
            ],
        )?
        .iter()
        .map(|r| r.uuid(0))
        .collect::<Result<_, _>>()?;
    if db.dialect() == super::super::db::Dialect::Postgres {
        return db
            .query(
                "SELECT id, created_at FROM subjects WHERE tenant_id = $1 AND id = ANY($2) ORDER BY id",
                &[tenant.into(), Val::TextArray(ids.iter().map(Uuid::to_string).collect())],
            )?
            .iter()
            .map(|r| Ok((r.uuid(0)?, r.i64(1)?)))
            .collect();
    }
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.extend(get_subject(db, tenant, id)?.map(|s| (s.id, s.created_at)));
    }
    Ok(out)
}

/// Inserts a subject's searchable attributes, one statement each.
pub fn insert_attributes(
    db: &mut dyn Db,
    tenant: Uuid,
    subject: Uuid,
    rows: &[IdentifierRow],
) -> Result<(), StoreError> {
    for i in rows {
        let source = i.source_record.map(|r| r.to_string()).unwrap_or_default();
        db.exec(
            "INSERT INTO subject_attributes (tenant_id, kind, hash, subject_id, source_record) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT DO NOTHING",
            &[tenant.into(), i.kind.as_str().into(), i.hash.as_slice().into(), subject.into(), source.into()],
        )?;
    }
    Ok(())
}

pub fn delete_attributes_of_record(db: &mut dyn Db, tenant: Uuid, record: Uuid) -> Result<(), StoreError> {
    db.exec(
        "DELETE FROM subject_attributes WHERE tenant_id = $1 AND source_record = $2",
        &[tenant.into(), record.into()],
    )?;
    Ok(())
}

/// Inserts identifiers of one subject, up to eight per statement.
pub fn insert_identifiers(
    db: &mut dyn Db,
    tenant: Uuid,
    subject: Uuid,
    rows: &[IdentifierRow],
) -> Result<(), StoreError> {
    static ROWS: super::Shapes<8> = super::Shapes::new(|n| {
        let each: Vec<String> = (0..n)
            .map(|i| format!("(${}, ${}, ${}, ${}, ${})", 5 * i + 1, 5 * i + 2, 5 * i + 3, 5 * i + 4, 5 * i + 5))
            .collect();
        format!(
            "INSERT INTO subject_identifiers (tenant_id, kind, hash, source_record, subject_id) VALUES {} ON CONFLICT DO NOTHING",
            each.join(", ")
        )
    });
    for chunk in rows.chunks(8) {
        let mut params: Vec<Val> = Vec::with_capacity(chunk.len() * 5);
        for i in chunk {
            let source = i.source_record.map(|r| r.to_string()).unwrap_or_default();
            params.extend([
                tenant.into(),
                i.kind.as_str().into(),
                i.hash.as_slice().into(),
                source.into(),
                subject.into(),
            ]);
        }
        db.exec(ROWS.get(chunk.len()), &params)?;
    }
    Ok(())
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
    db.exec(
        "DELETE FROM subject_identifiers WHERE tenant_id = $1 AND source_record = $2",
        &[tenant.into(), record.into()],
    )?;
    Ok(())
}

pub fn count_identifiers_of_subject(db: &mut dyn Db, tenant: Uuid, subject: Uuid) -> Result<i64, StoreError> {
    db.query(
        "SELECT COUNT(*) FROM subject_identifiers WHERE tenant_id = $1 AND subject_id = $2",
        &[tenant.into(), subject.into()],
    )?[0]
        .i64(0)
}

#[derive(Clone)]
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
#[derive(Clone)]
pub struct SealedRecord {
    pub record: RecordRow,
    pub subject_key: Vec<u8>,
    /// The subject has an active restriction or objection (`processing_limits`).
    pub limited: bool,
}

/// Records by (tenant, id), with their subjects' wrapped keys: one answer
/// per key, in order (`None`: no such record). PostgreSQL only (arrays).
pub fn get_records_batch(db: &mut dyn Db, keys: &[(Uuid, Uuid)]) -> Result<Vec<Option<SealedRecord>>, StoreError> {
    let rows = db.query(
        "SELECT r.tenant_id, r.id, r.collection_id, r.subject_id, r.fields, r.version, r.created_at, r.updated_at, s.wrapped_key, s.limits \
         FROM unnest($1::text[], $2::text[]) AS k(tenant_id, id) \
         JOIN records r ON r.tenant_id = k.tenant_id AND r.id = k.id \
         JOIN subjects s ON s.tenant_id = r.tenant_id AND s.id = r.subject_id",
        &[
            Val::TextArray(keys.iter().map(|k| k.0.to_string()).collect()),
            Val::TextArray(keys.iter().map(|k| k.1.to_string()).collect()),
        ],
    )?;
    let mut found: std::collections::HashMap<(Uuid, Uuid), SealedRecord> = std::collections::HashMap::new();
    for r in &rows {
        let s = sealed_record(r)?;
        found.insert((s.record.tenant_id, s.record.id), s);
    }
    Ok(keys.iter().map(|k| found.get(k).cloned()).collect())
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
        limited: r.i64(9)? != 0,
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

pub fn get_record(
    db: &mut dyn Db,
    tenant: Uuid,
    collection: Uuid,
    id: Uuid,
) -> Result<Option<SealedRecord>, StoreError> {
    db.query(
        "SELECT r.tenant_id, r.id, r.collection_id, r.subject_id, r.fields, r.version, r.created_at, r.updated_at, s.wrapped_key, s.limits \
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
        "SELECT r.tenant_id, r.id, r.collection_id, r.subject_id, r.fields, r.version, r.created_at, r.updated_at, s.wrapped_key, s.limits \
         FROM records r JOIN subjects s ON s.tenant_id = r.tenant_id AND s.id = r.subject_id \
         WHERE r.tenant_id = $1 AND r.subject_id = $2",
        &[tenant.into(), subject.into()],
    )?
    .iter()
    .map(sealed_record)
    .collect::<Result<Vec<_>, StoreError>>()
    .map(|mut v| {
        // In id order, sorted here: an ORDER BY would lead SQLite's planner
        // to walk the tenant's primary key (every record) instead of the
        // index by subject.
        v.sort_by_key(|r| r.record.id);
        v
    })
}

/// One page of a collection's records, in id order, after `after`.
pub fn records_of_collection(
    db: &mut dyn Db,
    tenant: Uuid,
    collection: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<SealedRecord>, StoreError> {
    db.query(
        "SELECT r.tenant_id, r.id, r.collection_id, r.subject_id, r.fields, r.version, r.created_at, r.updated_at, s.wrapped_key, s.limits \
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
    delete_attributes_of_record(db, tenant, id)?;
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
    let records =
        db.exec("DELETE FROM records WHERE tenant_id = $1 AND subject_id = $2", &[tenant.into(), subject.into()])?;
    db.exec(
        "DELETE FROM subject_identifiers WHERE tenant_id = $1 AND subject_id = $2",
        &[tenant.into(), subject.into()],
    )?;
    db.exec(
        "DELETE FROM subject_attributes WHERE tenant_id = $1 AND subject_id = $2",
        &[tenant.into(), subject.into()],
    )?;
    super::delete_rights_of_subject(db, tenant, subject)?;
    let n = db.exec("DELETE FROM subjects WHERE tenant_id = $1 AND id = $2", &[tenant.into(), subject.into()])?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(records)
}

/// Moves a record to another subject with its fields sealed again under
/// that subject's key (a merge or split). `Stale` if the record changed
/// or moved since it was read.
pub fn move_record(db: &mut dyn Db, r: &RecordRow, from: Uuid, expected: i64) -> Result<(), StoreError> {
    let n = db.exec(
        "UPDATE records SET subject_id = $1, fields = $2, version = $3, updated_at = $4 \
         WHERE tenant_id = $5 AND id = $6 AND subject_id = $7 AND version = $8",
        &[
            r.subject_id.into(),
            r.fields.as_slice().into(),
            r.version.into(),
            r.updated_at.into(),
            r.tenant_id.into(),
            r.id.into(),
            from.into(),
            expected.into(),
        ],
    )?;
    if n == 0 {
        return Err(StoreError::Stale);
    }
    // The record's identifiers and attributes go with it.
    for table in [
        "UPDATE subject_identifiers SET subject_id = $1 WHERE tenant_id = $2 AND source_record = $3",
        "UPDATE subject_attributes SET subject_id = $1 WHERE tenant_id = $2 AND source_record = $3",
    ] {
        db.exec(table, &[r.subject_id.into(), r.tenant_id.into(), r.id.into()])?;
    }
    Ok(())
}

/// Gives a subject's remaining identifiers (those given for the subject
/// itself) to another subject.
pub fn move_subject_identifiers(db: &mut dyn Db, tenant: Uuid, from: Uuid, to: Uuid) -> Result<(), StoreError> {
    db.exec(
        "UPDATE subject_identifiers SET subject_id = $1 WHERE tenant_id = $2 AND subject_id = $3",
        &[to.into(), tenant.into(), from.into()],
    )?;
    Ok(())
}

/// A subject's identifiers, each with the record that yields it.
pub fn identifiers_of_subject(db: &mut dyn Db, tenant: Uuid, subject: Uuid) -> Result<Vec<IdentifierRow>, StoreError> {
    db.query(
        "SELECT kind, hash, source_record FROM subject_identifiers WHERE tenant_id = $1 AND subject_id = $2",
        &[tenant.into(), subject.into()],
    )?
    .iter()
    .map(|r| {
        let source = r.text(2)?;
        Ok(IdentifierRow {
            kind: r.text(0)?,
            hash: r.blob(1)?,
            source_record: if source.is_empty() { None } else { Some(r.uuid(2)?) },
        })
    })
    .collect()
}

pub fn count_records_of_subject(db: &mut dyn Db, tenant: Uuid, subject: Uuid) -> Result<i64, StoreError> {
    db.query("SELECT COUNT(*) FROM records WHERE tenant_id = $1 AND subject_id = $2", &[tenant.into(), subject.into()])?
        [0]
    .i64(0)
}

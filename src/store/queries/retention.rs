//! Statements of retention and legal holds: the holds register, the
//! subjects' retention events, the look-ups of expired records, and the
//! claim of a scheduled job by one server of several.

use super::super::db::{Db, Dialect, Row, Val};
use super::super::StoreError;
use uuid::Uuid;

#[derive(Clone, Debug)]
pub struct HoldRow {
    pub id: Uuid,
    /// `subject`, `record` or `collection`.
    pub scope: String,
    /// The subject's, record's or collection's id.
    pub target: Uuid,
    /// Sealed with the tenant's key.
    pub reason: Vec<u8>,
    pub set_by: String,
    pub set_at: i64,
    pub until_at: Option<i64>,
    pub lifted_by: Option<String>,
    pub lifted_at: Option<i64>,
    pub lift_reason: Option<Vec<u8>>,
}

impl HoldRow {
    /// Not lifted, and not past its end.
    pub fn active(&self, now: i64) -> bool {
        self.lifted_at.is_none() && self.until_at.is_none_or(|u| u > now)
    }
}

/// A statement over the holds' columns, with its conditions.
macro_rules! holds_where {
    ($cond:literal) => {
        concat!(
            "SELECT id, scope, target, reason, set_by, set_at, until_at, lifted_by, lifted_at, lift_reason FROM legal_holds WHERE ",
            $cond
        )
    };
}

fn hold(r: &Row) -> Result<HoldRow, StoreError> {
    Ok(HoldRow {
        id: r.uuid(0)?,
        scope: r.text(1)?,
        target: r.uuid(2)?,
        reason: r.blob(3)?,
        set_by: r.text(4)?,
        set_at: r.i64(5)?,
        until_at: r.opt_i64(6)?,
        lifted_by: r.opt_text(7)?,
        lifted_at: r.opt_i64(8)?,
        lift_reason: r.opt_blob(9)?,
    })
}

pub fn insert_hold(db: &mut dyn Db, tenant: Uuid, h: &HoldRow) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO legal_holds (tenant_id, id, scope, target, reason, set_by, set_at, until_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            tenant.into(),
            h.id.into(),
            h.scope.as_str().into(),
            h.target.into(),
            h.reason.as_slice().into(),
            h.set_by.as_str().into(),
            h.set_at.into(),
            h.until_at.into(),
        ],
    )?;
    Ok(())
}

/// The tenant's holds, newest first.
pub fn list_holds(db: &mut dyn Db, tenant: Uuid) -> Result<Vec<HoldRow>, StoreError> {
    let mut v: Vec<HoldRow> =
        db.query(holds_where!("tenant_id = $1"), &[tenant.into()])?.iter().map(hold).collect::<Result<_, _>>()?;
    v.sort_by_key(|h| std::cmp::Reverse(h.id));
    Ok(v)
}

pub fn get_hold(db: &mut dyn Db, tenant: Uuid, id: Uuid) -> Result<Option<HoldRow>, StoreError> {
    db.query(holds_where!("tenant_id = $1 AND id = $2"), &[tenant.into(), id.into()])?.first().map(hold).transpose()
}

/// The holds on any of these subjects, records or collections that are
/// active at `now`, in one statement.
pub fn active_holds_on(db: &mut dyn Db, tenant: Uuid, targets: &[Uuid], now: i64) -> Result<Vec<HoldRow>, StoreError> {
    let pg = db.dialect() == Dialect::Postgres;
    let sql = if pg {
        holds_where!("target = ANY($1::text[]) AND tenant_id = $2 AND lifted_at IS NULL")
    } else {
        holds_where!("target IN (SELECT value FROM json_each($1)) AND tenant_id = $2 AND lifted_at IS NULL")
    };
    let rows = db.query(sql, &[id_list(pg, targets.iter().copied()), tenant.into()])?;
    let mut out: Vec<HoldRow> = rows.iter().map(hold).collect::<Result<_, _>>()?;
    out.retain(|h| h.active(now));
    Ok(out)
}

/// Lifts an active hold; `false` if it was lifted already.
pub fn lift_hold(
    db: &mut dyn Db,
    tenant: Uuid,
    id: Uuid,
    by: &str,
    at: i64,
    reason: &[u8],
) -> Result<bool, StoreError> {
    Ok(db.exec(
        "UPDATE legal_holds SET lifted_by = $3, lifted_at = $4, lift_reason = $5 WHERE tenant_id = $1 AND id = $2 AND lifted_at IS NULL",
        &[tenant.into(), id.into(), by.into(), at.into(), reason.into()],
    )? == 1)
}

/// Records (or moves) a subject's retention event.
pub fn upsert_retention_event(
    db: &mut dyn Db,
    tenant: Uuid,
    subject: Uuid,
    event: &str,
    at: i64,
    by: &str,
    now: i64,
) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO retention_events (tenant_id, subject_id, event, at, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (tenant_id, subject_id, event) DO UPDATE SET at = excluded.at, recorded_by = excluded.recorded_by, recorded_at = excluded.recorded_at",
        &[tenant.into(), subject.into(), event.into(), at.into(), by.into(), now.into()],
    )?;
    Ok(())
}

/// Records (or moves) one retention event of many subjects (each once).
pub fn upsert_retention_events(
    db: &mut dyn Db,
    tenant: Uuid,
    subjects: &[Uuid],
    event: &str,
    at: i64,
    by: &str,
    now: i64,
) -> Result<(), StoreError> {
    if db.dialect() != Dialect::Postgres {
        return subjects.iter().try_for_each(|s| upsert_retention_event(db, tenant, *s, event, at, by, now));
    }
    db.exec(
        "INSERT INTO retention_events (tenant_id, subject_id, event, at, recorded_by, recorded_at) \
         SELECT $1, s, $3, $4, $5, $6 FROM unnest($2::text[]) AS s \
         ON CONFLICT (tenant_id, subject_id, event) DO UPDATE SET at = excluded.at, recorded_by = excluded.recorded_by, recorded_at = excluded.recorded_at",
        &[
            tenant.into(),
            Val::TextArray(subjects.iter().map(Uuid::to_string).collect()),
            event.into(),
            at.into(),
            by.into(),
            now.into(),
        ],
    )?;
    Ok(())
}

/// A record the sweep found expired.
#[derive(Clone, Debug)]
pub struct Expired {
    pub id: Uuid,
    pub subject: Uuid,
    pub version: i64,
}

fn expired(r: &Row) -> Result<Expired, StoreError> {
    Ok(Expired { id: r.uuid(0)?, subject: r.uuid(1)?, version: r.i64(2)? })
}

/// Up to `limit` records of a collection, in id order after `after`,
/// last changed (or, with `created`, made) before `cutoff`: a walk of the
/// collection's index by id; with the last one, to go on from (`None`: no
/// more).
pub fn expired_by_time(
    db: &mut dyn Db,
    tenant: Uuid,
    collection: Uuid,
    created: bool,
    cutoff: i64,
    after: Option<Uuid>,
    limit: i64,
) -> Result<(Vec<Expired>, Option<Uuid>), StoreError> {
    let sql = if created {
        "SELECT id, subject_id, version FROM records WHERE tenant_id = $1 AND collection_id = $2 AND id > $3 \
         AND created_at < $4 ORDER BY id LIMIT $5"
    } else {
        "SELECT id, subject_id, version FROM records WHERE tenant_id = $1 AND collection_id = $2 AND id > $3 \
         AND updated_at < $4 ORDER BY id LIMIT $5"
    };
    let after = after.map(|a| a.to_string()).unwrap_or_default();
    let page: Vec<Expired> = db
        .query(sql, &[tenant.into(), collection.into(), after.into(), cutoff.into(), limit.into()])?
        .iter()
        .map(expired)
        .collect::<Result<_, _>>()?;
    let next = if (page.len() as i64) < limit { None } else { page.last().map(|r| r.id) };
    Ok((page, next))
}

/// The records of a collection whose subject's `event` happened before
/// `cutoff`, for up to `limit` such subjects in id order after `after`
/// (a walk of the events' primary key, never a sort of them all); with
/// the last subject looked at, to go on from (`None`: no more).
pub fn expired_by_event(
    db: &mut dyn Db,
    tenant: Uuid,
    collection: Uuid,
    event: &str,
    cutoff: i64,
    after: Option<Uuid>,
    limit: i64,
) -> Result<(Vec<Expired>, Option<Uuid>), StoreError> {
    let after = after.map(|a| a.to_string()).unwrap_or_default();
    let rows = db.query(
        "SELECT e.subject_id, r.id, r.version FROM \
         (SELECT subject_id FROM retention_events WHERE tenant_id = $1 AND subject_id > $5 AND event = $2 AND at < $3 \
          ORDER BY subject_id LIMIT $6) e \
         LEFT JOIN records r ON r.tenant_id = $1 AND r.subject_id = e.subject_id AND r.collection_id = $4",
        &[tenant.into(), event.into(), cutoff.into(), collection.into(), after.into(), limit.into()],
    )?;
    let (mut out, mut subjects) = (Vec::new(), std::collections::HashSet::new());
    for r in &rows {
        let subject = r.uuid(0)?;
        subjects.insert(subject);
        if let Some(id) = r.opt_text(1)? {
            let id = id.parse().map_err(|_| StoreError::Corrupt("a record id that is not a uuid".into()))?;
            out.push(Expired { id, subject, version: r.i64(2)? });
        }
    }
    let next = if (subjects.len() as i64) < limit { None } else { subjects.iter().max().copied() };
    Ok((out, next))
}

/// Up to `limit` records of a consent-based collection, in id order after
/// `after`, whose subject's consent to its purposes has run out: a consent
/// is on record for one of `purposes`, and none of them is given and
/// unexpired at `now` (a subject with no consent on record is not
/// touched: the sweep does not guess). With the last one, to go on from.
pub fn expired_by_consent(
    db: &mut dyn Db,
    tenant: Uuid,
    collection: Uuid,
    purposes: &[String],
    now: i64,
    after: Option<Uuid>,
    limit: i64,
) -> Result<(Vec<Expired>, Option<Uuid>), StoreError> {
    let pg = db.dialect() == Dialect::Postgres;
    let sql = if pg {
        "SELECT r.id, r.subject_id, r.version FROM records r WHERE r.tenant_id = $1 AND r.collection_id = $2 AND r.id > $3 \
         AND EXISTS (SELECT 1 FROM consent_state c WHERE c.tenant_id = $1 AND c.subject_id = r.subject_id AND c.purpose = ANY($4::text[])) \
         AND NOT EXISTS (SELECT 1 FROM consent_state c WHERE c.tenant_id = $1 AND c.subject_id = r.subject_id \
           AND c.purpose = ANY($4::text[]) AND c.given = 1 AND (c.expires_at IS NULL OR c.expires_at > $5)) \
         ORDER BY r.id LIMIT $6"
    } else {
        "SELECT r.id, r.subject_id, r.version FROM records r WHERE r.tenant_id = $1 AND r.collection_id = $2 AND r.id > $3 \
         AND EXISTS (SELECT 1 FROM consent_state c WHERE c.tenant_id = $1 AND c.subject_id = r.subject_id \
           AND c.purpose IN (SELECT value FROM json_each($4))) \
         AND NOT EXISTS (SELECT 1 FROM consent_state c WHERE c.tenant_id = $1 AND c.subject_id = r.subject_id \
           AND c.purpose IN (SELECT value FROM json_each($4)) AND c.given = 1 AND (c.expires_at IS NULL OR c.expires_at > $5)) \
         ORDER BY r.id LIMIT $6"
    };
    let purposes = if pg {
        Val::TextArray(purposes.to_vec())
    } else {
        Val::Text(serde_json::to_string(purposes).unwrap_or_else(|_| "[]".into()))
    };
    let after = after.map(|a| a.to_string()).unwrap_or_default();
    let page: Vec<Expired> = db
        .query(sql, &[tenant.into(), collection.into(), after.into(), purposes, now.into(), limit.into()])?
        .iter()
        .map(expired)
        .collect::<Result<_, _>>()?;
    let next = if (page.len() as i64) < limit { None } else { page.last().map(|r| r.id) };
    Ok((page, next))
}

/// Deletes expired records (each only at the version found, else
/// `Stale`) with their identifiers and attributes; then the subjects left
/// with no record, with their keys and rights rows. A few statements per
/// chunk: each takes the chunk's ids as one array (PostgreSQL) or one JSON
/// list (SQLite, `json_each`). Returns how many subjects went.
pub fn delete_expired(db: &mut dyn Db, tenant: Uuid, records: &[Expired], now: i64) -> Result<u64, StoreError> {
    if records.is_empty() {
        return Ok(0);
    }
    let pg = db.dialect() == Dialect::Postgres;
    let ids = id_list(pg, records.iter().map(|r| r.id));
    let (by_record, by_version): (&[&'static str], &'static str) = if pg {
        (
            &[
                "DELETE FROM subject_identifiers WHERE tenant_id = $1 AND source_record = ANY($2::text[])",
                "DELETE FROM subject_attributes WHERE tenant_id = $1 AND source_record = ANY($2::text[])",
            ],
            "DELETE FROM records r USING unnest($2::text[], $3::bigint[]) AS k(id, version) \
             WHERE r.tenant_id = $1 AND r.id = k.id AND r.version = k.version",
        )
    } else {
        (
            &[
                "DELETE FROM subject_identifiers WHERE tenant_id = $1 AND source_record IN (SELECT value FROM json_each($2))",
                "DELETE FROM subject_attributes WHERE tenant_id = $1 AND source_record IN (SELECT value FROM json_each($2))",
            ],
            "DELETE FROM records WHERE tenant_id = $1 AND (id, version) IN \
             (SELECT value ->> 0, value ->> 1 FROM json_each($2))",
        )
    };
    for sql in by_record {
        db.exec(sql, &[tenant.into(), ids.clone()])?;
    }
    let deleted = if pg {
        db.exec(by_version, &[tenant.into(), ids, Val::I64Array(records.iter().map(|r| r.version).collect())])?
    } else {
        let pairs: Vec<serde_json::Value> =
            records.iter().map(|r| serde_json::json!([r.id.to_string(), r.version])).collect();
        db.exec(by_version, &[tenant.into(), serde_json::Value::Array(pairs).to_string().into()])?
    };
    if deleted != records.len() as u64 {
        return Err(StoreError::Stale);
    }
    let journal: Vec<_> = records.iter().map(|r| (Some(r.subject), Some(r.id))).collect();
    super::journal_erasures(db, tenant, &journal, now)?;
    // The subjects that hold no record now go, with everything keyed by them.
    let mut subjects: Vec<Uuid> = records.iter().map(|r| r.subject).collect();
    subjects.sort();
    subjects.dedup();
    let subjects = id_list(pg, subjects.into_iter());
    let empty: Vec<Uuid> = if pg {
        db.query(
            "SELECT s FROM unnest($2::text[]) AS s WHERE NOT EXISTS \
             (SELECT 1 FROM records r WHERE r.tenant_id = $1 AND r.subject_id = s)",
            &[tenant.into(), subjects],
        )?
    } else {
        db.query(
            "SELECT value FROM json_each($2) WHERE NOT EXISTS \
             (SELECT 1 FROM records r WHERE r.tenant_id = $1 AND r.subject_id = value)",
            &[tenant.into(), subjects],
        )?
    }
    .iter()
    .map(|r| r.uuid(0))
    .collect::<Result<_, _>>()?;
    if empty.is_empty() {
        return Ok(0);
    }
    let gone = id_list(pg, empty.iter().copied());
    let by_subject: &[&'static str] = if pg {
        &[
            "DELETE FROM subject_identifiers WHERE subject_id = ANY($2::text[]) AND tenant_id = $1",
            "DELETE FROM subject_attributes WHERE subject_id = ANY($2::text[]) AND tenant_id = $1",
            "DELETE FROM consents WHERE subject_id = ANY($2::text[]) AND tenant_id = $1",
            "DELETE FROM consent_state WHERE tenant_id = $1 AND subject_id = ANY($2::text[])",
            "DELETE FROM processing_limits WHERE subject_id = ANY($2::text[]) AND tenant_id = $1",
            "DELETE FROM retention_events WHERE tenant_id = $1 AND subject_id = ANY($2::text[])",
            "DELETE FROM subjects WHERE tenant_id = $1 AND id = ANY($2::text[])",
        ]
    } else {
        &[
            "DELETE FROM subject_identifiers WHERE subject_id IN (SELECT value FROM json_each($2)) AND tenant_id = $1",
            "DELETE FROM subject_attributes WHERE subject_id IN (SELECT value FROM json_each($2)) AND tenant_id = $1",
            "DELETE FROM consents WHERE subject_id IN (SELECT value FROM json_each($2)) AND tenant_id = $1",
            "DELETE FROM consent_state WHERE tenant_id = $1 AND subject_id IN (SELECT value FROM json_each($2))",
            "DELETE FROM processing_limits WHERE subject_id IN (SELECT value FROM json_each($2)) AND tenant_id = $1",
            "DELETE FROM retention_events WHERE tenant_id = $1 AND subject_id IN (SELECT value FROM json_each($2))",
            "DELETE FROM subjects WHERE tenant_id = $1 AND id IN (SELECT value FROM json_each($2))",
        ]
    };
    for sql in by_subject {
        db.exec(sql, &[tenant.into(), gone.clone()])?;
    }
    let journal: Vec<_> = empty.iter().map(|s| (Some(*s), None)).collect();
    super::journal_erasures(db, tenant, &journal, now)?;
    Ok(empty.len() as u64)
}

/// Ids as one parameter: a text array (PostgreSQL) or a JSON list (SQLite).
fn id_list(pg: bool, ids: impl Iterator<Item = Uuid>) -> Val {
    let ids: Vec<String> = ids.map(|i| i.to_string()).collect();
    if pg {
        Val::TextArray(ids)
    } else {
        Val::Text(serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into()))
    }
}

/// Takes a scheduled job for `lease_ms` if it is due (last started at
/// least `every_ms` ago, or never) and no other server holds it: `true` if
/// this one (`by`) runs it now.
pub fn claim_job(
    db: &mut dyn Db,
    name: &str,
    by: &str,
    now: i64,
    lease_ms: i64,
    every_ms: i64,
) -> Result<bool, StoreError> {
    db.exec(
        "INSERT INTO scheduled_jobs (name, claimed_until, claimed_by) VALUES ($1, 0, '') ON CONFLICT (name) DO NOTHING",
        &[name.into()],
    )?;
    Ok(db.exec(
        "UPDATE scheduled_jobs SET claimed_until = $2, claimed_by = $3, last_started = $4 \
         WHERE name = $1 AND (claimed_until < $4 OR claimed_by = $3) AND (last_started IS NULL OR last_started <= $5)",
        &[name.into(), (now + lease_ms).into(), by.into(), now.into(), (now - every_ms).into()],
    )? == 1)
}

/// Records how a claimed job ended and releases it.
pub fn finish_job(db: &mut dyn Db, name: &str, by: &str, now: i64, outcome: &str) -> Result<(), StoreError> {
    db.exec(
        "UPDATE scheduled_jobs SET claimed_until = 0, last_finished = $3, last_outcome = $4 WHERE name = $1 AND claimed_by = $2",
        &[name.into(), by.into(), now.into(), outcome.into()],
    )?;
    Ok(())
}

/// The collection and subject of a record, by its id alone.
pub fn record_place(db: &mut dyn Db, tenant: Uuid, record: Uuid) -> Result<Option<(Uuid, Uuid)>, StoreError> {
    db.query(
        "SELECT collection_id, subject_id FROM records WHERE tenant_id = $1 AND id = $2",
        &[tenant.into(), record.into()],
    )?
    .first()
    .map(|r| Ok((r.uuid(0)?, r.uuid(1)?)))
    .transpose()
}

//! Statements of retention and legal holds: the holds register, the
//! subjects' retention events, the look-ups of expired records, and the
//! claim of a scheduled job by one server of several.

use super::super::db::{Db, Row};
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
/// active at `now`.
pub fn active_holds_on(db: &mut dyn Db, tenant: Uuid, targets: &[Uuid], now: i64) -> Result<Vec<HoldRow>, StoreError> {
    let mut out = Vec::new();
    for t in targets {
        for r in db.query(
            holds_where!("target = $1 AND tenant_id = $2 AND lifted_at IS NULL"),
            &[(*t).into(), tenant.into()],
        )? {
            let h = hold(&r)?;
            if h.active(now) && !out.iter().any(|o: &HoldRow| o.id == h.id) {
                out.push(h);
            }
        }
    }
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

/// A subject's retention events: (event, at).
pub fn retention_events_of(db: &mut dyn Db, tenant: Uuid, subject: Uuid) -> Result<Vec<(String, i64)>, StoreError> {
    db.query(
        "SELECT event, at FROM retention_events WHERE tenant_id = $1 AND subject_id = $2",
        &[tenant.into(), subject.into()],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.i64(1)?)))
    .collect()
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
/// collection's index by id.
pub fn expired_by_time(
    db: &mut dyn Db,
    tenant: Uuid,
    collection: Uuid,
    created: bool,
    cutoff: i64,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Expired>, StoreError> {
    let sql = if created {
        "SELECT id, subject_id, version FROM records WHERE tenant_id = $1 AND collection_id = $2 AND id > $3 \
         AND created_at < $4 ORDER BY id LIMIT $5"
    } else {
        "SELECT id, subject_id, version FROM records WHERE tenant_id = $1 AND collection_id = $2 AND id > $3 \
         AND updated_at < $4 ORDER BY id LIMIT $5"
    };
    let after = after.map(|a| a.to_string()).unwrap_or_default();
    db.query(sql, &[tenant.into(), collection.into(), after.into(), cutoff.into(), limit.into()])?
        .iter()
        .map(expired)
        .collect()
}

/// Up to `limit` records of a collection, in id order after `after`,
/// whose subject's `event` happened before `cutoff`.
pub fn expired_by_event(
    db: &mut dyn Db,
    tenant: Uuid,
    collection: Uuid,
    event: &str,
    cutoff: i64,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Expired>, StoreError> {
    let after = after.map(|a| a.to_string()).unwrap_or_default();
    db.query(
        "SELECT r.id, r.subject_id, r.version FROM retention_events e \
         JOIN records r ON r.tenant_id = e.tenant_id AND r.subject_id = e.subject_id \
         WHERE e.tenant_id = $1 AND e.event = $2 AND e.at < $3 AND r.collection_id = $4 AND r.id > $5 \
         ORDER BY r.id LIMIT $6",
        &[tenant.into(), event.into(), cutoff.into(), collection.into(), after.into(), limit.into()],
    )?
    .iter()
    .map(expired)
    .collect()
}

/// Deletes expired records (each only at the version found, else
/// `Stale`) with their identifiers and attributes; then the subjects among
/// `subjects` that hold no record now, with their keys. Returns how many
/// subjects went.
pub fn delete_expired(db: &mut dyn Db, tenant: Uuid, records: &[Expired]) -> Result<u64, StoreError> {
    for r in records {
        super::delete_record_at(db, tenant, r.subject, r.id, r.version)?;
    }
    let mut subjects: Vec<Uuid> = records.iter().map(|r| r.subject).collect();
    subjects.sort();
    subjects.dedup();
    let mut gone = 0;
    for s in subjects {
        if super::count_records_of_subject(db, tenant, s)? == 0 {
            super::delete_subject(db, tenant, s)?;
            gone += 1;
        }
    }
    Ok(gone)
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

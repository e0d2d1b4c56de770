//! Statements of the data-subject request register (DSR-1).

use super::super::db::{Db, Row, Val};
use super::super::StoreError;
use uuid::Uuid;

#[derive(Clone, Debug)]
pub struct RequestRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub kind: String,
    pub channel: String,
    pub received_at: i64,
    pub due_at: i64,
    pub extension_months: i64,
    pub extension_reason: Option<String>,
    pub subject_informed_at: Option<i64>,
    pub state: String,
    pub subject_id: Option<Uuid>,
    pub requester_hash: Option<Vec<u8>>,
    pub verified_method: Option<String>,
    pub verified_by: Option<String>,
    pub verified_at: Option<i64>,
    pub refusal_reason: Option<String>,
    pub response: Option<String>,
    pub duplicate_of: Option<Uuid>,
    pub opened_by: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// JSON array of `{at, action, by, note}`.
    pub actions: String,
}

const COLUMNS: &str = "tenant_id, id, kind, channel, received_at, due_at, extension_months, extension_reason, \
    subject_informed_at, state, subject_id, requester_hash, verified_method, verified_by, verified_at, \
    refusal_reason, response, duplicate_of, opened_by, created_at, updated_at, actions";

fn request(r: &Row) -> Result<RequestRow, StoreError> {
    let opt_uuid = |i: usize| r.opt_uuid(i);
    Ok(RequestRow {
        tenant_id: r.uuid(0)?,
        id: r.uuid(1)?,
        kind: r.text(2)?,
        channel: r.text(3)?,
        received_at: r.i64(4)?,
        due_at: r.i64(5)?,
        extension_months: r.i64(6)?,
        extension_reason: r.opt_text(7)?,
        subject_informed_at: r.opt_i64(8)?,
        state: r.text(9)?,
        subject_id: opt_uuid(10)?,
        requester_hash: r.opt_blob(11)?,
        verified_method: r.opt_text(12)?,
        verified_by: r.opt_text(13)?,
        verified_at: r.opt_i64(14)?,
        refusal_reason: r.opt_text(15)?,
        response: r.opt_text(16)?,
        duplicate_of: opt_uuid(17)?,
        opened_by: r.text(18)?,
        created_at: r.i64(19)?,
        updated_at: r.i64(20)?,
        actions: r.text(21)?,
    })
}

/// A request's columns as parameters, in `COLUMNS` order.
fn values(q: &RequestRow) -> Vec<Val> {
    vec![
        q.tenant_id.into(),
        q.id.into(),
        q.kind.as_str().into(),
        q.channel.as_str().into(),
        q.received_at.into(),
        q.due_at.into(),
        q.extension_months.into(),
        q.extension_reason.clone().into(),
        q.subject_informed_at.into(),
        q.state.as_str().into(),
        q.subject_id.into(),
        q.requester_hash.clone().into(),
        q.verified_method.clone().into(),
        q.verified_by.clone().into(),
        q.verified_at.into(),
        q.refusal_reason.clone().into(),
        q.response.clone().into(),
        q.duplicate_of.into(),
        q.opened_by.as_str().into(),
        q.created_at.into(),
        q.updated_at.into(),
        q.actions.as_str().into(),
    ]
}

fn column_names() -> impl Iterator<Item = &'static str> {
    COLUMNS.split(',').map(str::trim)
}

pub fn insert_request(db: &mut dyn Db, q: &RequestRow) -> Result<(), StoreError> {
    static SQL: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
    let sql = SQL.get_or_init(|| {
        let marks: Vec<String> = (1..=column_names().count()).map(|i| format!("${i}")).collect();
        Box::leak(format!("INSERT INTO dsr_requests ({COLUMNS}) VALUES ({})", marks.join(", ")).into_boxed_str())
    });
    db.exec(sql, &values(q))?;
    Ok(())
}

pub fn get_request(db: &mut dyn Db, tenant: Uuid, id: Uuid) -> Result<Option<RequestRow>, StoreError> {
    static SQL: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
    let sql = SQL.get_or_init(|| {
        Box::leak(format!("SELECT {COLUMNS} FROM dsr_requests WHERE tenant_id = $1 AND id = $2").into_boxed_str())
    });
    db.query(sql, &[tenant.into(), id.into()])?.first().map(request).transpose()
}

/// Writes a request as it now is, if nobody changed it since it was read
/// at `seen` (its `updated_at`); else `Stale`.
pub fn update_request(db: &mut dyn Db, q: &RequestRow, seen: i64) -> Result<(), StoreError> {
    static SQL: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
    let sql = SQL.get_or_init(|| {
        let n = column_names().count();
        let sets: Vec<String> = column_names().enumerate().skip(2).map(|(i, c)| format!("{c} = ${}", i + 1)).collect();
        Box::leak(
            format!(
                "UPDATE dsr_requests SET {} WHERE tenant_id = $1 AND id = $2 AND updated_at = ${}",
                sets.join(", "),
                n + 1
            )
            .into_boxed_str(),
        )
    });
    let mut params = values(q);
    params.push(seen.into());
    if db.exec(sql, &params)? == 0 {
        return Err(StoreError::Stale);
    }
    Ok(())
}

/// An open request of this kind for the same subject or the same requester.
pub fn open_duplicate(
    db: &mut dyn Db,
    tenant: Uuid,
    kind: &str,
    subject: Option<Uuid>,
    requester: Option<&[u8]>,
) -> Result<Option<Uuid>, StoreError> {
    if let Some(s) = subject {
        let r = db.query(
            "SELECT id FROM dsr_requests WHERE tenant_id = $1 AND subject_id = $2 AND kind = $3 \
             AND state NOT IN ('done', 'refused') ORDER BY received_at LIMIT 1",
            &[tenant.into(), s.into(), kind.into()],
        )?;
        if let Some(r) = r.first() {
            return Ok(Some(r.uuid(0)?));
        }
    }
    if let Some(h) = requester {
        let r = db.query(
            "SELECT id FROM dsr_requests WHERE tenant_id = $1 AND requester_hash = $2 AND kind = $3 \
             AND state NOT IN ('done', 'refused') ORDER BY received_at LIMIT 1",
            &[tenant.into(), h.into(), kind.into()],
        )?;
        if let Some(r) = r.first() {
            return Ok(Some(r.uuid(0)?));
        }
    }
    Ok(None)
}

/// A page of the register in due order (soonest first): all, one state,
/// or (`overdue_at`) the open ones due before that time.
pub fn list_requests(
    db: &mut dyn Db,
    tenant: Uuid,
    state: Option<&str>,
    overdue_at: Option<i64>,
    limit: i64,
) -> Result<Vec<RequestRow>, StoreError> {
    static SQL: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
    let sql = SQL.get_or_init(|| {
        Box::leak(
            format!(
                "SELECT {COLUMNS} FROM dsr_requests WHERE tenant_id = $1 AND (CAST($2 AS TEXT) = '' OR state = $2) \
                 AND (CAST($3 AS BIGINT) < 0 OR (due_at < $3 AND state NOT IN ('done', 'refused'))) \
                 ORDER BY due_at, id LIMIT $4"
            )
            .into_boxed_str(),
        )
    });
    db.query(sql, &[tenant.into(), state.unwrap_or("").into(), overdue_at.unwrap_or(-1).into(), limit.into()])?
        .iter()
        .map(request)
        .collect()
}

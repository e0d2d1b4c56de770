//! Statements of the registers: breaches (BRE-1, BRE-2), each with its
//! sealed details, and the notifications made about them; the processor
//! register (REG-2).

use super::super::db::{Db, Row};
use super::super::StoreError;
use uuid::Uuid;

/// A breach as stored: the clocks' inputs in the clear, the rest sealed.
#[derive(Debug, Clone)]
pub struct BreachRow {
    pub id: Uuid,
    /// Comma-separated kinds.
    pub kinds: String,
    pub aware_at: i64,
    pub found_by: String,
    pub risk: String,
    pub closed: bool,
    /// `BreachDetails` as JSON, sealed with the tenant's key.
    pub details: Vec<u8>,
    pub recorded_by: String,
    pub recorded_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

/// A notification as stored: what it said and to whom, sealed.
#[derive(Debug, Clone)]
pub struct NotificationRow {
    pub id: Uuid,
    pub breach_id: Uuid,
    pub audience: String,
    pub phase: String,
    pub sent_at: i64,
    pub details: Vec<u8>,
    pub recorded_by: String,
    pub recorded_at: i64,
}

const BREACH_COLS: &str =
    "SELECT id, kinds, aware_at, found_by, risk, closed, details, recorded_by, recorded_at, updated_at, version FROM breaches";

fn breach(r: &Row) -> Result<BreachRow, StoreError> {
    Ok(BreachRow {
        id: r.uuid(0)?,
        kinds: r.text(1)?,
        aware_at: r.i64(2)?,
        found_by: r.text(3)?,
        risk: r.text(4)?,
        closed: r.i64(5)? != 0,
        details: r.blob(6)?,
        recorded_by: r.text(7)?,
        recorded_at: r.i64(8)?,
        updated_at: r.i64(9)?,
        version: r.i64(10)?,
    })
}

fn notification(r: &Row) -> Result<NotificationRow, StoreError> {
    Ok(NotificationRow {
        id: r.uuid(0)?,
        breach_id: r.uuid(1)?,
        audience: r.text(2)?,
        phase: r.text(3)?,
        sent_at: r.i64(4)?,
        details: r.blob(5)?,
        recorded_by: r.text(6)?,
        recorded_at: r.i64(7)?,
    })
}

pub fn insert_breach(db: &mut dyn Db, tenant: Uuid, b: &BreachRow) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO breaches (tenant_id, id, kinds, aware_at, found_by, risk, closed, details, recorded_by, recorded_at, updated_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &[
            tenant.into(),
            b.id.into(),
            b.kinds.as_str().into(),
            b.aware_at.into(),
            b.found_by.as_str().into(),
            b.risk.as_str().into(),
            i64::from(b.closed).into(),
            b.details.as_slice().into(),
            b.recorded_by.as_str().into(),
            b.recorded_at.into(),
            b.updated_at.into(),
            b.version.into(),
        ],
    )?;
    Ok(())
}

/// Replaces a breach's details at the version read (`Stale` if another
/// change came first).
pub fn update_breach(db: &mut dyn Db, tenant: Uuid, b: &BreachRow, read_version: i64) -> Result<(), StoreError> {
    let n = db.exec(
        "UPDATE breaches SET kinds = $3, aware_at = $4, found_by = $5, risk = $6, closed = $7, details = $8, updated_at = $9, \
         version = version + 1 WHERE tenant_id = $1 AND id = $2 AND version = $10",
        &[
            tenant.into(),
            b.id.into(),
            b.kinds.as_str().into(),
            b.aware_at.into(),
            b.found_by.as_str().into(),
            b.risk.as_str().into(),
            i64::from(b.closed).into(),
            b.details.as_slice().into(),
            b.updated_at.into(),
            read_version.into(),
        ],
    )?;
    if n != 1 {
        return Err(StoreError::Stale);
    }
    Ok(())
}

pub fn get_breach(db: &mut dyn Db, tenant: Uuid, id: Uuid) -> Result<Option<BreachRow>, StoreError> {
    static SQL: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
    let sql = SQL.get_or_init(|| Box::leak(format!("{BREACH_COLS} WHERE tenant_id = $1 AND id = $2").into_boxed_str()));
    db.query(sql, &[tenant.into(), id.into()])?.first().map(breach).transpose()
}

/// The tenant's breaches, newest awareness first (`open_only`: not closed).
pub fn list_breaches(db: &mut dyn Db, tenant: Uuid, open_only: bool) -> Result<Vec<BreachRow>, StoreError> {
    static SQL: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
    let sql = SQL.get_or_init(|| {
        Box::leak(
            format!("{BREACH_COLS} WHERE tenant_id = $1 AND closed <= $2 ORDER BY aware_at DESC, id DESC")
                .into_boxed_str(),
        )
    });
    db.query(sql, &[tenant.into(), i64::from(!open_only).into()])?.iter().map(breach).collect()
}

pub fn insert_notification(db: &mut dyn Db, tenant: Uuid, n: &NotificationRow) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO breach_notifications (tenant_id, id, breach_id, audience, phase, sent_at, details, recorded_by, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            tenant.into(),
            n.id.into(),
            n.breach_id.into(),
            n.audience.as_str().into(),
            n.phase.as_str().into(),
            n.sent_at.into(),
            n.details.as_slice().into(),
            n.recorded_by.as_str().into(),
            n.recorded_at.into(),
        ],
    )?;
    Ok(())
}

/// A breach's notifications, oldest first.
pub fn list_notifications(db: &mut dyn Db, tenant: Uuid, breach: Uuid) -> Result<Vec<NotificationRow>, StoreError> {
    db.query(
        "SELECT id, breach_id, audience, phase, sent_at, details, recorded_by, recorded_at FROM breach_notifications \
         WHERE tenant_id = $1 AND breach_id = $2 ORDER BY sent_at, id",
        &[tenant.into(), breach.into()],
    )?
    .iter()
    .map(notification)
    .collect()
}

/// The (breach, audience, sent) of every notification of the tenant's
/// open breaches: the clocks' other input, in one statement.
pub fn open_breach_notices(db: &mut dyn Db, tenant: Uuid) -> Result<Vec<(Uuid, String, i64)>, StoreError> {
    db.query(
        "SELECT n.breach_id, n.audience, n.sent_at FROM breach_notifications n JOIN breaches b \
         ON b.tenant_id = n.tenant_id AND b.id = n.breach_id WHERE n.tenant_id = $1 AND b.closed = 0",
        &[tenant.into()],
    )?
    .iter()
    .map(|r| Ok((r.uuid(0)?, r.text(1)?, r.i64(2)?)))
    .collect()
}

/// A processor as stored: its name in the clear, the rest sealed.
#[derive(Debug, Clone)]
pub struct ProcessorRow {
    pub id: Uuid,
    pub name: String,
    pub details: Vec<u8>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

fn processor(r: &Row) -> Result<ProcessorRow, StoreError> {
    Ok(ProcessorRow {
        id: r.uuid(0)?,
        name: r.text(1)?,
        details: r.blob(2)?,
        created_at: r.i64(3)?,
        updated_at: r.i64(4)?,
        version: r.i64(5)?,
    })
}

pub fn insert_processor(db: &mut dyn Db, tenant: Uuid, p: &ProcessorRow) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO processors (tenant_id, id, name, details, created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            tenant.into(),
            p.id.into(),
            p.name.as_str().into(),
            p.details.as_slice().into(),
            p.created_at.into(),
            p.updated_at.into(),
            p.version.into(),
        ],
    )?;
    Ok(())
}

/// Replaces a processor's entry at the version read (`Stale` otherwise).
pub fn update_processor(db: &mut dyn Db, tenant: Uuid, p: &ProcessorRow, read_version: i64) -> Result<(), StoreError> {
    let n = db.exec(
        "UPDATE processors SET name = $3, details = $4, updated_at = $5, version = version + 1 \
         WHERE tenant_id = $1 AND id = $2 AND version = $6",
        &[
            tenant.into(),
            p.id.into(),
            p.name.as_str().into(),
            p.details.as_slice().into(),
            p.updated_at.into(),
            read_version.into(),
        ],
    )?;
    if n != 1 {
        return Err(StoreError::Stale);
    }
    Ok(())
}

pub fn get_processor(db: &mut dyn Db, tenant: Uuid, id: Uuid) -> Result<Option<ProcessorRow>, StoreError> {
    db.query(
        "SELECT id, name, details, created_at, updated_at, version FROM processors WHERE tenant_id = $1 AND id = $2",
        &[tenant.into(), id.into()],
    )?
    .first()
    .map(processor)
    .transpose()
}

/// The tenant's processors, by name.
pub fn list_processors(db: &mut dyn Db, tenant: Uuid) -> Result<Vec<ProcessorRow>, StoreError> {
    db.query(
        "SELECT id, name, details, created_at, updated_at, version FROM processors WHERE tenant_id = $1 ORDER BY name",
        &[tenant.into()],
    )?
    .iter()
    .map(processor)
    .collect()
}

/// A staff register entry as stored: the account link in the clear, the rest sealed.
#[derive(Debug, Clone)]
pub struct StaffEntryRow {
    pub id: Uuid,
    pub account_id: Option<Uuid>,
    pub details: Vec<u8>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

fn staff_entry(r: &Row) -> Result<StaffEntryRow, StoreError> {
    Ok(StaffEntryRow {
        id: r.uuid(0)?,
        account_id: r.opt_uuid(1)?,
        details: r.blob(2)?,
        created_at: r.i64(3)?,
        updated_at: r.i64(4)?,
        version: r.i64(5)?,
    })
}

pub fn insert_staff_entry(db: &mut dyn Db, tenant: Uuid, e: &StaffEntryRow) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO staff_register (tenant_id, id, account_id, details, created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            tenant.into(),
            e.id.into(),
            e.account_id.into(),
            e.details.as_slice().into(),
            e.created_at.into(),
            e.updated_at.into(),
            e.version.into(),
        ],
    )?;
    Ok(())
}

/// Replaces an entry at the version read (`Stale` otherwise).
pub fn update_staff_entry(
    db: &mut dyn Db,
    tenant: Uuid,
    e: &StaffEntryRow,
    read_version: i64,
) -> Result<(), StoreError> {
    let n = db.exec(
        "UPDATE staff_register SET account_id = $3, details = $4, updated_at = $5, version = version + 1 \
         WHERE tenant_id = $1 AND id = $2 AND version = $6",
        &[
            tenant.into(),
            e.id.into(),
            e.account_id.into(),
            e.details.as_slice().into(),
            e.updated_at.into(),
            read_version.into(),
        ],
    )?;
    if n != 1 {
        return Err(StoreError::Stale);
    }
    Ok(())
}

pub fn get_staff_entry(db: &mut dyn Db, tenant: Uuid, id: Uuid) -> Result<Option<StaffEntryRow>, StoreError> {
    db.query(
        "SELECT id, account_id, details, created_at, updated_at, version FROM staff_register WHERE tenant_id = $1 AND id = $2",
        &[tenant.into(), id.into()],
    )?
    .first()
    .map(staff_entry)
    .transpose()
}

/// The tenant's register, oldest entry first.
pub fn list_staff_entries(db: &mut dyn Db, tenant: Uuid) -> Result<Vec<StaffEntryRow>, StoreError> {
    db.query(
        "SELECT id, account_id, details, created_at, updated_at, version FROM staff_register WHERE tenant_id = $1 ORDER BY id",
        &[tenant.into()],
    )?
    .iter()
    .map(staff_entry)
    .collect()
}

//! Statements of the subject's rights beyond the request register:
//! anonymised records (erasure by anonymisation), restrictions and
//! objections, consent notices and events, recipients, disclosures, and
//! the Art. 19 notices to recipients (migration 0012).

use super::super::db::{Db, Dialect, Row, Val};
use super::super::StoreError;
use std::collections::HashMap;
use uuid::Uuid;

fn opt_uuid(r: &Row, i: usize) -> Result<Option<Uuid>, StoreError> {
    r.opt_text(i)?.map(|t| t.parse().map_err(|_| StoreError::Corrupt(format!("column {i} is not a uuid")))).transpose()
}

// ---- erasure ---------------------------------------------------------------

pub struct AnonymisedRow {
    pub id: Uuid,
    pub collection_id: Uuid,
    /// The kept fields as JSON, sealed with the tenant's key.
    pub data: Vec<u8>,
    pub created_at: i64,
    pub anonymised_at: i64,
}

pub fn insert_anonymised(db: &mut dyn Db, tenant: Uuid, a: &AnonymisedRow) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO anonymised_records (tenant_id, id, collection_id, data, created_at, anonymised_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            tenant.into(),
            a.id.into(),
            a.collection_id.into(),
            a.data.as_slice().into(),
            a.created_at.into(),
            a.anonymised_at.into(),
        ],
    )?;
    Ok(())
}

/// One page of a collection's anonymised records, by id after `after`.
pub fn anonymised_of_collection(
    db: &mut dyn Db,
    tenant: Uuid,
    collection: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<AnonymisedRow>, StoreError> {
    db.query(
        "SELECT id, collection_id, data, created_at, anonymised_at FROM anonymised_records \
         WHERE tenant_id = $1 AND collection_id = $2 AND id > $3 ORDER BY id LIMIT $4",
        &[tenant.into(), collection.into(), after.map(|a| a.to_string()).unwrap_or_default().into(), limit.into()],
    )?
    .iter()
    .map(|r| {
        Ok(AnonymisedRow {
            id: r.uuid(0)?,
            collection_id: r.uuid(1)?,
            data: r.blob(2)?,
            created_at: r.i64(3)?,
            anonymised_at: r.i64(4)?,
        })
    })
    .collect()
}

/// Deletes a record of a subject if it is still at `version` (else `Stale`).
pub fn delete_record_at(
    db: &mut dyn Db,
    tenant: Uuid,
    subject: Uuid,
    id: Uuid,
    version: i64,
) -> Result<(), StoreError> {
    super::delete_identifiers_of_record(db, tenant, id)?;
    super::delete_attributes_of_record(db, tenant, id)?;
    let n = db.exec(
        "DELETE FROM records WHERE tenant_id = $1 AND id = $2 AND subject_id = $3 AND version = $4",
        &[tenant.into(), id.into(), subject.into(), version.into()],
    )?;
    if n == 0 {
        return Err(StoreError::Stale);
    }
    Ok(())
}

/// The rights rows of a subject that go with its key: consents, limits
/// and retention events.
pub fn delete_rights_of_subject(db: &mut dyn Db, tenant: Uuid, subject: Uuid) -> Result<(), StoreError> {
    for sql in [
        "DELETE FROM consents WHERE tenant_id = $1 AND subject_id = $2",
        "DELETE FROM consent_state WHERE tenant_id = $1 AND subject_id = $2",
        "DELETE FROM processing_limits WHERE tenant_id = $1 AND subject_id = $2",
        "DELETE FROM retention_events WHERE tenant_id = $1 AND subject_id = $2",
    ] {
        db.exec(sql, &[tenant.into(), subject.into()])?;
    }
    Ok(())
}

// ---- restriction and objection ---------------------------------------------

#[derive(Clone, Debug)]
pub struct LimitRow {
    pub id: Uuid,
    pub subject_id: Uuid,
    /// `restriction` or `objection`.
    pub kind: String,
    /// JSON array of purposes.
    pub purposes: String,
    pub direct_marketing: bool,
    pub reason: String,
    pub request_id: Option<Uuid>,
    pub set_by: String,
    pub set_at: i64,
    pub lifted_by: Option<String>,
    pub lifted_at: Option<i64>,
    pub lift_reason: Option<String>,
}

fn limit(r: &Row) -> Result<LimitRow, StoreError> {
    Ok(LimitRow {
        id: r.uuid(0)?,
        subject_id: r.uuid(1)?,
        kind: r.text(2)?,
        purposes: r.text(3)?,
        direct_marketing: r.bool(4)?,
        reason: r.text(5)?,
        request_id: opt_uuid(r, 6)?,
        set_by: r.text(7)?,
        set_at: r.i64(8)?,
        lifted_by: r.opt_text(9)?,
        lifted_at: r.opt_i64(10)?,
        lift_reason: r.opt_text(11)?,
    })
}

/// Adds a limit and counts it on the subject (`NotFound`: no such subject).
pub fn insert_limit(db: &mut dyn Db, tenant: Uuid, l: &LimitRow) -> Result<(), StoreError> {
    let n = db.exec(
        "UPDATE subjects SET limits = limits + 1 WHERE tenant_id = $1 AND id = $2",
        &[tenant.into(), l.subject_id.into()],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    db.exec(
        "INSERT INTO processing_limits (tenant_id, id, subject_id, kind, purposes, direct_marketing, reason, request_id, set_by, set_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            tenant.into(),
            l.id.into(),
            l.subject_id.into(),
            l.kind.as_str().into(),
            l.purposes.as_str().into(),
            l.direct_marketing.into(),
            l.reason.as_str().into(),
            l.request_id.into(),
            l.set_by.as_str().into(),
            l.set_at.into(),
        ],
    )?;
    Ok(())
}

/// Lifts an active limit of the subject: `NotFound` if there is none by this id.
pub fn lift_limit(
    db: &mut dyn Db,
    tenant: Uuid,
    subject: Uuid,
    id: Uuid,
    by: &str,
    at: i64,
    reason: &str,
) -> Result<(), StoreError> {
    let n = db.exec(
        "UPDATE processing_limits SET lifted_by = $1, lifted_at = $2, lift_reason = $3 \
         WHERE tenant_id = $4 AND subject_id = $5 AND id = $6 AND lifted_at IS NULL",
        &[by.into(), at.into(), reason.into(), tenant.into(), subject.into(), id.into()],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    db.exec(
        "UPDATE subjects SET limits = limits - 1 WHERE tenant_id = $1 AND id = $2 AND limits > 0",
        &[tenant.into(), subject.into()],
    )?;
    Ok(())
}

/// A subject's limits, oldest first; `active` leaves out lifted ones.
pub fn limits_of_subject(
    db: &mut dyn Db,
    tenant: Uuid,
    subject: Uuid,
    active: bool,
) -> Result<Vec<LimitRow>, StoreError> {
    let sql = if active {
        "SELECT id, subject_id, kind, purposes, direct_marketing, reason, request_id, set_by, set_at, lifted_by, lifted_at, lift_reason \
         FROM processing_limits WHERE tenant_id = $1 AND subject_id = $2 AND lifted_at IS NULL"
    } else {
        "SELECT id, subject_id, kind, purposes, direct_marketing, reason, request_id, set_by, set_at, lifted_by, lifted_at, lift_reason \
         FROM processing_limits WHERE tenant_id = $1 AND subject_id = $2"
    };
    let mut v: Vec<LimitRow> =
        db.query(sql, &[tenant.into(), subject.into()])?.iter().map(limit).collect::<Result<_, _>>()?;
    v.sort_by_key(|l| l.id);
    Ok(v)
}

// ---- consent ----------------------------------------------------------------

#[derive(Clone, Debug)]
pub struct ConsentNoticeRow {
    pub purpose: String,
    pub version: i64,
    pub hash: Vec<u8>,
    pub text: String,
    pub created_by: String,
    pub created_at: i64,
}

fn consent_notice(r: &Row) -> Result<ConsentNoticeRow, StoreError> {
    Ok(ConsentNoticeRow {
        purpose: r.text(0)?,
        version: r.i64(1)?,
        hash: r.blob(2)?,
        text: r.text(3)?,
        created_by: r.text(4)?,
        created_at: r.i64(5)?,
    })
}

/// Adds the next version of a purpose's notice; returns that version.
pub fn insert_consent_notice(db: &mut dyn Db, tenant: Uuid, n: &ConsentNoticeRow) -> Result<i64, StoreError> {
    let next = db
        .query(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM consent_notices WHERE tenant_id = $1 AND purpose = $2",
            &[tenant.into(), n.purpose.as_str().into()],
        )?
        .first()
        .map(|r| r.i64(0))
        .transpose()?
        .unwrap_or(1);
    db.exec(
        "INSERT INTO consent_notices (tenant_id, purpose, version, hash, text, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            tenant.into(),
            n.purpose.as_str().into(),
            next.into(),
            n.hash.as_slice().into(),
            n.text.as_str().into(),
            n.created_by.as_str().into(),
            n.created_at.into(),
        ],
    )?;
    Ok(next)
}

pub fn get_consent_notice(
    db: &mut dyn Db,
    tenant: Uuid,
    purpose: &str,
    version: i64,
) -> Result<Option<ConsentNoticeRow>, StoreError> {
    db.query(
        "SELECT purpose, version, hash, text, created_by, created_at FROM consent_notices \
         WHERE tenant_id = $1 AND purpose = $2 AND version = $3",
        &[tenant.into(), purpose.into(), version.into()],
    )?
    .first()
    .map(consent_notice)
    .transpose()
}

/// Every notice of the tenant, by purpose and version.
pub fn list_consent_notices(db: &mut dyn Db, tenant: Uuid) -> Result<Vec<ConsentNoticeRow>, StoreError> {
    db.query(
        "SELECT purpose, version, hash, text, created_by, created_at FROM consent_notices \
         WHERE tenant_id = $1 ORDER BY purpose, version",
        &[tenant.into()],
    )?
    .iter()
    .map(consent_notice)
    .collect()
}

#[derive(Clone, Debug)]
pub struct ConsentRow {
    pub id: Uuid,
    pub subject_id: Uuid,
    pub purpose: String,
    pub given: bool,
    pub notice_version: Option<i64>,
    pub channel: String,
    /// Sealed with the subject's key.
    pub evidence: Option<Vec<u8>>,
    pub expires_at: Option<i64>,
    pub recorded_by: String,
    pub recorded_at: i64,
}

fn consent(r: &Row) -> Result<ConsentRow, StoreError> {
    Ok(ConsentRow {
        id: r.uuid(0)?,
        subject_id: r.uuid(1)?,
        purpose: r.text(2)?,
        given: r.bool(3)?,
        notice_version: r.opt_i64(4)?,
        channel: r.text(5)?,
        evidence: r.opt_blob(6)?,
        expires_at: r.opt_i64(7)?,
        recorded_by: r.text(8)?,
        recorded_at: r.i64(9)?,
    })
}

/// Appends a consent event and makes it the subject's current one for
/// its purpose.
pub fn insert_consent(db: &mut dyn Db, tenant: Uuid, c: &ConsentRow) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO consents (tenant_id, id, subject_id, purpose, given, notice_version, channel, evidence, expires_at, recorded_by, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &[
            tenant.into(),
            c.id.into(),
            c.subject_id.into(),
            c.purpose.as_str().into(),
            c.given.into(),
            c.notice_version.into(),
            c.channel.as_str().into(),
            c.evidence.clone().into(),
            c.expires_at.into(),
            c.recorded_by.as_str().into(),
            c.recorded_at.into(),
        ],
    )?;
    db.exec(
        "INSERT INTO consent_state (tenant_id, subject_id, purpose, consent_id, given, expires_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (tenant_id, subject_id, purpose) DO UPDATE SET consent_id = excluded.consent_id, given = excluded.given, expires_at = excluded.expires_at",
        &[
            tenant.into(),
            c.subject_id.into(),
            c.purpose.as_str().into(),
            c.id.into(),
            c.given.into(),
            c.expires_at.into(),
        ],
    )?;
    Ok(())
}

/// A subject's consent events, oldest first.
pub fn consents_of_subject(db: &mut dyn Db, tenant: Uuid, subject: Uuid) -> Result<Vec<ConsentRow>, StoreError> {
    // Sorted here: an ORDER BY id would lead SQLite's planner to walk the
    // primary key (tenant_id, id), every event of the tenant, for the order.
    let sql = "SELECT c.id, c.subject_id, c.purpose, c.given, c.notice_version, c.channel, c.evidence, c.expires_at, c.recorded_by, c.recorded_at \
               FROM consents c WHERE c.tenant_id = $1 AND c.subject_id = $2";
    let mut v: Vec<ConsentRow> =
        db.query(sql, &[tenant.into(), subject.into()])?.iter().map(consent).collect::<Result<_, _>>()?;
    v.sort_by_key(|c| c.id);
    Ok(v)
}

/// The current consent event of each subject for a purpose (none: never asked).
pub fn current_consents(
    db: &mut dyn Db,
    tenant: Uuid,
    purpose: &str,
    subjects: &[Uuid],
) -> Result<HashMap<Uuid, ConsentRow>, StoreError> {
    let mut out = HashMap::with_capacity(subjects.len());
    if db.dialect() == Dialect::Postgres {
        for chunk in subjects.chunks(10_000) {
            let rows = db.query(
                "SELECT c.id, c.subject_id, c.purpose, c.given, c.notice_version, c.channel, c.evidence, c.expires_at, c.recorded_by, c.recorded_at \
                 FROM consent_state s JOIN consents c ON c.tenant_id = s.tenant_id AND c.id = s.consent_id \
                 WHERE s.tenant_id = $1 AND s.purpose = $2 AND s.subject_id = ANY($3)",
                &[tenant.into(), purpose.into(), Val::TextArray(chunk.iter().map(Uuid::to_string).collect())],
            )?;
            for r in &rows {
                let c = consent(r)?;
                out.insert(c.subject_id, c);
            }
        }
        return Ok(out);
    }
    for s in subjects {
        let rows = db.query(
            "SELECT c.id, c.subject_id, c.purpose, c.given, c.notice_version, c.channel, c.evidence, c.expires_at, c.recorded_by, c.recorded_at \
             FROM consent_state s JOIN consents c ON c.tenant_id = s.tenant_id AND c.id = s.consent_id \
             WHERE s.tenant_id = $1 AND s.subject_id = $2 AND s.purpose = $3",
            &[tenant.into(), (*s).into(), purpose.into()],
        )?;
        if let Some(r) = rows.first() {
            out.insert(*s, consent(r)?);
        }
    }
    Ok(out)
}

/// A subject found by an identifier: its count of active limits and its
/// current consent event for the purpose asked about.
pub struct Addressee {
    pub subject: Uuid,
    pub limits: i64,
    pub consent: Option<ConsentRow>,
}

/// Subjects by the blind indexes of one identifier kind, each with its
/// count of limits and current consent for `purpose` (none without it), in order (`None`:
/// nobody has it). PostgreSQL: one statement per 10,000, each address an
/// index look-up (an `= ANY` of that many values is planned as a scan of
/// the whole table); SQLite: look-ups in process.
pub fn addressees_by_hashes(
    db: &mut dyn Db,
    tenant: Uuid,
    kind: &str,
    purpose: Option<&str>,
    hashes: &[Vec<u8>],
) -> Result<Vec<Option<Addressee>>, StoreError> {
    let mut out = Vec::with_capacity(hashes.len());
    if db.dialect() == Dialect::Postgres {
        for chunk in hashes.chunks(10_000) {
            let rows = db.query(
                "SELECT k.n, s.id, s.limits, c.id, c.subject_id, c.purpose, c.given, c.notice_version, c.channel, c.evidence, \
                 c.expires_at, c.recorded_by, c.recorded_at \
                 FROM unnest($3::bytea[]) WITH ORDINALITY AS k(hash, n) \
                 CROSS JOIN LATERAL (SELECT i.subject_id FROM subject_identifiers i \
                 WHERE i.tenant_id = $1 AND i.kind = $2 AND i.hash = k.hash LIMIT 1) o \
                 JOIN subjects s ON s.tenant_id = $1 AND s.id = o.subject_id \
                 LEFT JOIN consent_state cs ON cs.tenant_id = $1 AND cs.subject_id = s.id AND cs.purpose = $4 \
                 LEFT JOIN consents c ON c.tenant_id = $1 AND c.id = cs.consent_id",
                &[tenant.into(), kind.into(), Val::BlobArray(chunk.to_vec()), purpose.into()],
            )?;
            let mut found: Vec<Option<Addressee>> = (0..chunk.len()).map(|_| None).collect();
            for mut r in rows {
                let n = r.i64(0)? as usize;
                let consent = match r.0[3] {
                    Val::Null => None,
                    _ => Some(consent(&Row(r.0.split_off(3)))?),
                };
                if let Some(slot) = n.checked_sub(1).and_then(|i| found.get_mut(i)) {
                    *slot = Some(Addressee { subject: r.uuid(1)?, limits: r.i64(2)?, consent });
                }
            }
            out.extend(found);
        }
        return Ok(out);
    }
    for h in hashes {
        let rows = db.query(
            "SELECT s.id, s.limits FROM subject_identifiers i JOIN subjects s ON s.tenant_id = i.tenant_id AND s.id = i.subject_id \
             WHERE i.tenant_id = $1 AND i.kind = $2 AND i.hash = $3 LIMIT 1",
            &[tenant.into(), kind.into(), h.as_slice().into()],
        )?;
        let Some(r) = rows.first() else {
            out.push(None);
            continue;
        };
        let subject = r.uuid(0)?;
        let consent = match purpose {
            Some(p) => current_consents(db, tenant, p, &[subject])?.remove(&subject),
            None => None,
        };
        out.push(Some(Addressee { subject, limits: r.i64(1)?, consent }));
    }
    Ok(out)
}

/// Which of a subject's collections hold its records (for legal bases).
pub fn collections_of_subject(db: &mut dyn Db, tenant: Uuid, subject: Uuid) -> Result<Vec<Uuid>, StoreError> {
    db.query(
        "SELECT DISTINCT collection_id FROM records WHERE tenant_id = $1 AND subject_id = $2",
        &[tenant.into(), subject.into()],
    )?
    .iter()
    .map(|r| r.uuid(0))
    .collect()
}

// ---- recipients and disclosures ----------------------------------------------

#[derive(Clone, Debug)]
pub struct RecipientRow {
    pub name: String,
    pub description: String,
    /// `{email, webhook}` as JSON, sealed with the tenant's key.
    pub contact: Vec<u8>,
    pub created_at: i64,
}

fn recipient(r: &Row) -> Result<RecipientRow, StoreError> {
    Ok(RecipientRow { name: r.text(0)?, description: r.text(1)?, contact: r.blob(2)?, created_at: r.i64(3)? })
}

/// `Conflict` if the tenant has a recipient by this name.
pub fn insert_recipient(db: &mut dyn Db, tenant: Uuid, r: &RecipientRow) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO recipients (tenant_id, name, description, contact, created_at) VALUES ($1, $2, $3, $4, $5)",
        &[
            tenant.into(),
            r.name.as_str().into(),
            r.description.as_str().into(),
            r.contact.as_slice().into(),
            r.created_at.into(),
        ],
    )?;
    Ok(())
}

pub fn get_recipient(db: &mut dyn Db, tenant: Uuid, name: &str) -> Result<Option<RecipientRow>, StoreError> {
    db.query(
        "SELECT name, description, contact, created_at FROM recipients WHERE tenant_id = $1 AND name = $2",
        &[tenant.into(), name.into()],
    )?
    .first()
    .map(recipient)
    .transpose()
}

pub fn list_recipients(db: &mut dyn Db, tenant: Uuid) -> Result<Vec<RecipientRow>, StoreError> {
    db.query(
        "SELECT name, description, contact, created_at FROM recipients WHERE tenant_id = $1 ORDER BY name",
        &[tenant.into()],
    )?
    .iter()
    .map(recipient)
    .collect()
}

#[derive(Clone, Debug)]
pub struct DisclosureRow {
    pub id: Uuid,
    pub recipient: String,
    pub subject_id: Uuid,
    pub collection_id: Uuid,
    /// JSON array of field names.
    pub fields: String,
    pub purpose: String,
    pub basis: String,
    pub disclosed_at: i64,
    pub recorded_by: String,
}

pub fn insert_disclosure(db: &mut dyn Db, tenant: Uuid, d: &DisclosureRow) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO disclosures (tenant_id, id, recipient, subject_id, collection_id, fields, purpose, basis, disclosed_at, recorded_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            tenant.into(),
            d.id.into(),
            d.recipient.as_str().into(),
            d.subject_id.into(),
            d.collection_id.into(),
            d.fields.as_str().into(),
            d.purpose.as_str().into(),
            d.basis.as_str().into(),
            d.disclosed_at.into(),
            d.recorded_by.as_str().into(),
        ],
    )?;
    Ok(())
}

/// The disclosures of a subject's data, oldest first.
pub fn disclosures_of_subject(db: &mut dyn Db, tenant: Uuid, subject: Uuid) -> Result<Vec<DisclosureRow>, StoreError> {
    db.query(
        "SELECT id, recipient, subject_id, collection_id, fields, purpose, basis, disclosed_at, recorded_by \
         FROM disclosures WHERE tenant_id = $1 AND subject_id = $2",
        &[tenant.into(), subject.into()],
    )?
    .iter()
    .map(|r| {
        Ok(DisclosureRow {
            id: r.uuid(0)?,
            recipient: r.text(1)?,
            subject_id: r.uuid(2)?,
            collection_id: r.uuid(3)?,
            fields: r.text(4)?,
            purpose: r.text(5)?,
            basis: r.text(6)?,
            disclosed_at: r.i64(7)?,
            recorded_by: r.text(8)?,
        })
    })
    .collect::<Result<Vec<_>, StoreError>>()
    .map(|mut v| {
        v.sort_by_key(|d| d.id);
        v
    })
}

// ---- Art. 19 notices ---------------------------------------------------------

#[derive(Clone, Debug)]
pub struct RecipientNoticeRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub recipient: String,
    pub subject_id: Uuid,
    /// `rectification`, `erasure` or `restriction`.
    pub event: String,
    pub created_at: i64,
    pub webhook_at: Option<i64>,
    pub email_at: Option<i64>,
    pub done: bool,
    pub attempts: i64,
    pub next_at: i64,
    pub last_error: Option<String>,
    /// A reminder: the request it is about, or for a breach reminder the
    /// breach (`recipient` is then '').
    pub request_id: Option<Uuid>,
}

impl RecipientNoticeRow {
    /// A notice to send, queued now (`request`: a reminder of that request).
    pub fn queued(
        tenant: Uuid,
        id: Uuid,
        recipient: &str,
        subject: Uuid,
        event: &str,
        now: i64,
        request: Option<Uuid>,
    ) -> Self {
        RecipientNoticeRow {
            tenant_id: tenant,
            id,
            recipient: recipient.to_string(),
            subject_id: subject,
            event: event.to_string(),
            created_at: now,
            webhook_at: None,
            email_at: None,
            done: false,
            attempts: 0,
            next_at: now,
            last_error: None,
            request_id: request,
        }
    }
}

fn recipient_notice(r: &Row) -> Result<RecipientNoticeRow, StoreError> {
    Ok(RecipientNoticeRow {
        tenant_id: r.uuid(0)?,
        id: r.uuid(1)?,
        recipient: r.text(2)?,
        subject_id: r.uuid(3)?,
        event: r.text(4)?,
        created_at: r.i64(5)?,
        webhook_at: r.opt_i64(6)?,
        email_at: r.opt_i64(7)?,
        done: r.bool(8)?,
        attempts: r.i64(9)?,
        last_error: r.opt_text(10)?,
        next_at: r.i64(11)?,
        request_id: opt_uuid(r, 12)?,
    })
}

pub fn insert_recipient_notice(db: &mut dyn Db, n: &RecipientNoticeRow) -> Result<(), StoreError> {
    insert_notice_once(db, n).map(|_| ())
}

/// Queues a notice unless one with its id exists: true if queued now.
pub fn insert_notice_once(db: &mut dyn Db, n: &RecipientNoticeRow) -> Result<bool, StoreError> {
    Ok(db.exec(
        "INSERT INTO recipient_notices (tenant_id, id, recipient, subject_id, event, created_at, webhook_at, email_at, done, attempts, last_error, next_at, request_id) \
         VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, 0, 0, NULL, $6, $7) ON CONFLICT (tenant_id, id) DO NOTHING",
        &[
            n.tenant_id.into(),
            n.id.into(),
            n.recipient.as_str().into(),
            n.subject_id.into(),
            n.event.as_str().into(),
            n.created_at.into(),
            n.request_id.into(),
        ],
    )? == 1)
}

/// The reminders queued for a request, oldest first.
pub fn notices_of_request(db: &mut dyn Db, tenant: Uuid, request: Uuid) -> Result<Vec<RecipientNoticeRow>, StoreError> {
    db.query(
        "SELECT tenant_id, id, recipient, subject_id, event, created_at, webhook_at, email_at, done, attempts, last_error, next_at, request_id \
         FROM recipient_notices WHERE tenant_id = $1 AND request_id = $2 ORDER BY created_at, id",
        &[tenant.into(), request.into()],
    )?
    .iter()
    .map(recipient_notice)
    .collect()
}

// ---- tenant settings -----------------------------------------------------------

/// The tenant's settings, sealed (`None`: never set).
pub fn get_tenant_settings(db: &mut dyn Db, tenant: Uuid) -> Result<Option<Vec<u8>>, StoreError> {
    db.query("SELECT body FROM tenant_settings WHERE tenant_id = $1", &[tenant.into()])?
        .first()
        .map(|r| r.blob(0))
        .transpose()
}

pub fn put_tenant_settings(db: &mut dyn Db, tenant: Uuid, body: &[u8], now: i64) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO tenant_settings (tenant_id, body, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (tenant_id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
        &[tenant.into(), body.into(), now.into()],
    )?;
    Ok(())
}

/// Notices not yet sent in full whose next try is due, of every tenant.
pub fn pending_recipient_notices(db: &mut dyn Db, now: i64, limit: i64) -> Result<Vec<RecipientNoticeRow>, StoreError> {
    db.query(
        "SELECT tenant_id, id, recipient, subject_id, event, created_at, webhook_at, email_at, done, attempts, last_error, next_at, request_id \
         FROM recipient_notices WHERE done = 0 AND next_at <= $1 ORDER BY next_at LIMIT $2",
        &[now.into(), limit.into()],
    )?
    .iter()
    .map(recipient_notice)
    .collect()
}

/// Claims a due notice for one sending attempt by moving its next try to
/// `until`: false if another server claimed it first.
pub fn claim_recipient_notice(db: &mut dyn Db, n: &RecipientNoticeRow, until: i64) -> Result<bool, StoreError> {
    Ok(db.exec(
        "UPDATE recipient_notices SET next_at = $1 WHERE tenant_id = $2 AND id = $3 AND next_at = $4 AND done = 0",
        &[until.into(), n.tenant_id.into(), n.id.into(), n.next_at.into()],
    )? == 1)
}

/// Records a sending attempt's outcome.
pub fn update_recipient_notice(db: &mut dyn Db, n: &RecipientNoticeRow) -> Result<(), StoreError> {
    db.exec(
        "UPDATE recipient_notices SET webhook_at = $1, email_at = $2, done = $3, attempts = $4, last_error = $5, next_at = $6 \
         WHERE tenant_id = $7 AND id = $8",
        &[
            n.webhook_at.into(),
            n.email_at.into(),
            n.done.into(),
            n.attempts.into(),
            n.last_error.clone().into(),
            n.next_at.into(),
            n.tenant_id.into(),
            n.id.into(),
        ],
    )?;
    Ok(())
}

pub fn recipient_notices_of_subject(
    db: &mut dyn Db,
    tenant: Uuid,
    subject: Uuid,
) -> Result<Vec<RecipientNoticeRow>, StoreError> {
    db.query(
        "SELECT tenant_id, id, recipient, subject_id, event, created_at, webhook_at, email_at, done, attempts, last_error, next_at, request_id \
         FROM recipient_notices WHERE tenant_id = $1 AND subject_id = $2 AND request_id IS NULL",
        &[tenant.into(), subject.into()],
    )?
    .iter()
    .map(recipient_notice)
    .collect::<Result<Vec<_>, StoreError>>()
    .map(|mut v| {
        v.sort_by_key(|n| n.id);
        v
    })
}

/// Queues an Art. 19 notice (`event`) to every recipient the subject's
/// data was disclosed to; returns their names.
pub fn queue_recipient_notices(
    db: &mut dyn Db,
    tenant: Uuid,
    subject: Uuid,
    event: &str,
    now: i64,
) -> Result<Vec<String>, StoreError> {
    let names: Vec<String> = db
        .query(
            "SELECT DISTINCT recipient FROM disclosures WHERE tenant_id = $1 AND subject_id = $2",
            &[tenant.into(), subject.into()],
        )?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<_, _>>()?;
    let mut names = names;
    names.sort();
    for name in &names {
        insert_recipient_notice(
            db,
            &RecipientNoticeRow::queued(tenant, Uuid::now_v7(), name, subject, event, now, None),
        )?;
    }
    Ok(names)
}

/// Moves a merged subject's consent events (evidence sealed again under
/// the receiving subject's key: `resealed`, by event id), restrictions and
/// objections, and disclosures to `into`, and rebuilds `into`'s current
/// consents (the latest event per purpose) and its count of active limits.
pub fn move_rights(
    db: &mut dyn Db,
    tenant: Uuid,
    from: Uuid,
    into: Uuid,
    resealed: &[(Uuid, Option<Vec<u8>>)],
) -> Result<(), StoreError> {
    for (id, evidence) in resealed {
        db.exec(
            "UPDATE consents SET subject_id = $1, evidence = $2 WHERE tenant_id = $3 AND id = $4 AND subject_id = $5",
            &[into.into(), evidence.clone().into(), tenant.into(), (*id).into(), from.into()],
        )?;
    }
    db.exec(
        "DELETE FROM consent_state WHERE tenant_id = $1 AND subject_id IN ($2, $3)",
        &[tenant.into(), from.into(), into.into()],
    )?;
    let mut latest: HashMap<String, ConsentRow> = HashMap::new();
    for c in consents_of_subject(db, tenant, into)? {
        latest.insert(c.purpose.clone(), c);
    }
    for c in latest.values() {
        db.exec(
            "INSERT INTO consent_state (tenant_id, subject_id, purpose, consent_id, given, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
            &[tenant.into(), into.into(), c.purpose.as_str().into(), c.id.into(), c.given.into(), c.expires_at.into()],
        )?;
    }
    for sql in [
        "UPDATE processing_limits SET subject_id = $1 WHERE tenant_id = $2 AND subject_id = $3",
        "UPDATE disclosures SET subject_id = $1 WHERE tenant_id = $2 AND subject_id = $3",
    ] {
        db.exec(sql, &[into.into(), tenant.into(), from.into()])?;
    }
    db.exec(
        "UPDATE subjects SET limits = (SELECT COUNT(*) FROM processing_limits p WHERE p.tenant_id = $1 AND p.subject_id = $2 AND p.lifted_at IS NULL) \
         WHERE tenant_id = $1 AND id = $2",
        &[tenant.into(), into.into()],
    )?;
    Ok(())
}

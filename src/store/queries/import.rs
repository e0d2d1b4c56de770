//! Statements of the CSV import: many rows per statement. On PostgreSQL
//! each is one statement over arrays (`unnest`), so a chunk of 500 rows
//! costs a handful of round trips instead of several per row; on SQLite,
//! in process, the same rows one statement each.

use super::super::db::{Db, Dialect, Val};
use super::super::StoreError;
use super::{ConsentRow, IdentifierRow, RecordRow, SubjectRow};
use std::collections::HashMap;
use uuid::Uuid;

fn texts(ids: impl Iterator<Item = Uuid>) -> Val {
    Val::TextArray(ids.map(|i| i.to_string()).collect())
}

/// The subject each of these identifiers (kind, blind index) names, for
/// those that name one: one index look-up each.
pub fn owners_of_identifiers(
    db: &mut dyn Db,
    tenant: Uuid,
    probes: &[(String, Vec<u8>)],
) -> Result<HashMap<(String, Vec<u8>), Uuid>, StoreError> {
    let mut out = HashMap::with_capacity(probes.len());
    if probes.is_empty() {
        return Ok(out);
    }
    if db.dialect() == Dialect::Postgres {
        let rows = db.query(
            "SELECT k.kind, k.hash, o.subject_id FROM unnest($2::text[], $3::bytea[]) AS k(kind, hash) \
             CROSS JOIN LATERAL (SELECT i.subject_id FROM subject_identifiers i \
             WHERE i.tenant_id = $1 AND i.kind = k.kind AND i.hash = k.hash LIMIT 1) o",
            &[
                tenant.into(),
                Val::TextArray(probes.iter().map(|p| p.0.clone()).collect()),
                Val::BlobArray(probes.iter().map(|p| p.1.clone()).collect()),
            ],
        )?;
        for r in &rows {
            out.insert((r.text(0)?, r.blob(1)?), r.uuid(2)?);
        }
        return Ok(out);
    }
    for p in probes {
        if let Some(s) = super::subjects_by_identifier(db, tenant, &p.0, &p.1)?.first() {
            out.insert(p.clone(), *s);
        }
    }
    Ok(out)
}

/// The wrapped keys of these subjects (those that exist).
pub fn wrapped_keys(db: &mut dyn Db, tenant: Uuid, ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<u8>>, StoreError> {
    let mut out = HashMap::with_capacity(ids.len());
    if ids.is_empty() {
        return Ok(out);
    }
    if db.dialect() == Dialect::Postgres {
        let rows = db.query(
            "SELECT id, wrapped_key FROM subjects WHERE tenant_id = $1 AND id = ANY($2)",
            &[tenant.into(), texts(ids.iter().copied())],
        )?;
        for r in &rows {
            out.insert(r.uuid(0)?, r.blob(1)?);
        }
        return Ok(out);
    }
    for id in ids {
        if let Some(s) = super::get_subject(db, tenant, *id)? {
            out.insert(s.id, s.wrapped_key);
        }
    }
    Ok(out)
}

pub fn insert_subjects(db: &mut dyn Db, rows: &[SubjectRow]) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    if db.dialect() == Dialect::Postgres {
        db.exec(
            "INSERT INTO subjects (tenant_id, id, wrapped_key, created_at) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::bigint[])",
            &[
                texts(rows.iter().map(|s| s.tenant_id)),
                texts(rows.iter().map(|s| s.id)),
                Val::BlobArray(rows.iter().map(|s| s.wrapped_key.clone()).collect()),
                Val::I64Array(rows.iter().map(|s| s.created_at).collect()),
            ],
        )?;
        return Ok(());
    }
    rows.iter().try_for_each(|s| super::insert_subject(db, s))
}

pub fn insert_records(db: &mut dyn Db, rows: &[RecordRow]) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    if db.dialect() == Dialect::Postgres {
        db.exec(
            "INSERT INTO records (tenant_id, id, collection_id, subject_id, fields, version, created_at, updated_at) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::bigint[], $7::bigint[], $8::bigint[])",
            &[
                texts(rows.iter().map(|r| r.tenant_id)),
                texts(rows.iter().map(|r| r.id)),
                texts(rows.iter().map(|r| r.collection_id)),
                texts(rows.iter().map(|r| r.subject_id)),
                Val::BlobArray(rows.iter().map(|r| r.fields.clone()).collect()),
                Val::I64Array(rows.iter().map(|r| r.version).collect()),
                Val::I64Array(rows.iter().map(|r| r.created_at).collect()),
                Val::I64Array(rows.iter().map(|r| r.updated_at).collect()),
            ],
        )?;
        return Ok(());
    }
    rows.iter().try_for_each(|r| super::insert_record(db, r))
}

/// Identifiers (`attributes`: false) or searchable attributes (true) of
/// several subjects: (subject, row) pairs.
pub fn insert_blind_indexes(
    db: &mut dyn Db,
    tenant: Uuid,
    rows: &[(Uuid, IdentifierRow)],
    attributes: bool,
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    if db.dialect() == Dialect::Postgres {
        let params = [
            tenant.into(),
            Val::TextArray(rows.iter().map(|r| r.1.kind.clone()).collect()),
            Val::BlobArray(rows.iter().map(|r| r.1.hash.clone()).collect()),
            texts(rows.iter().map(|r| r.0)),
            Val::TextArray(rows.iter().map(|r| r.1.source_record.map(|s| s.to_string()).unwrap_or_default()).collect()),
        ];
        let sql = if attributes {
            "INSERT INTO subject_attributes (tenant_id, kind, hash, subject_id, source_record) \
             SELECT $1, * FROM unnest($2::text[], $3::bytea[], $4::text[], $5::text[]) ON CONFLICT DO NOTHING"
        } else {
            "INSERT INTO subject_identifiers (tenant_id, kind, hash, subject_id, source_record) \
             SELECT $1, * FROM unnest($2::text[], $3::bytea[], $4::text[], $5::text[]) ON CONFLICT DO NOTHING"
        };
        db.exec(sql, &params)?;
        return Ok(());
    }
    for (subject, row) in rows {
        let one = std::slice::from_ref(row);
        if attributes {
            super::insert_attributes(db, tenant, *subject, one)?;
        } else {
            super::insert_identifiers(db, tenant, *subject, one)?;
        }
    }
    Ok(())
}

/// Appends consent events (in order) and makes the last of each subject
/// and purpose its current one.
pub fn insert_consents(db: &mut dyn Db, tenant: Uuid, rows: &[ConsentRow]) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    if db.dialect() != Dialect::Postgres {
        return rows.iter().try_for_each(|c| super::insert_consent(db, tenant, c));
    }
    db.exec(
        "INSERT INTO consents (tenant_id, id, subject_id, purpose, given, notice_version, channel, evidence, expires_at, recorded_by, recorded_at) \
         SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::text[], $8::bytea[], $9::bigint[], $10::text[], $11::bigint[])",
        &[
            tenant.into(),
            texts(rows.iter().map(|c| c.id)),
            texts(rows.iter().map(|c| c.subject_id)),
            Val::TextArray(rows.iter().map(|c| c.purpose.clone()).collect()),
            Val::I64Array(rows.iter().map(|c| c.given as i64).collect()),
            Val::OptI64Array(rows.iter().map(|c| c.notice_version).collect()),
            Val::TextArray(rows.iter().map(|c| c.channel.clone()).collect()),
            Val::OptBlobArray(rows.iter().map(|c| c.evidence.clone()).collect()),
            Val::OptI64Array(rows.iter().map(|c| c.expires_at).collect()),
            Val::TextArray(rows.iter().map(|c| c.recorded_by.clone()).collect()),
            Val::I64Array(rows.iter().map(|c| c.recorded_at).collect()),
        ],
    )?;
    // One upsert may touch a row once: the last event of each subject and purpose.
    let mut last: HashMap<(Uuid, &str), &ConsentRow> = HashMap::with_capacity(rows.len());
    for c in rows {
        last.insert((c.subject_id, c.purpose.as_str()), c);
    }
    let current: Vec<&ConsentRow> = last.into_values().collect();
    db.exec(
        "INSERT INTO consent_state (tenant_id, subject_id, purpose, consent_id, given, expires_at) \
         SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[]) \
         ON CONFLICT (tenant_id, subject_id, purpose) DO UPDATE SET consent_id = excluded.consent_id, given = excluded.given, expires_at = excluded.expires_at",
        &[
            tenant.into(),
            texts(current.iter().map(|c| c.subject_id)),
            Val::TextArray(current.iter().map(|c| c.purpose.clone()).collect()),
            texts(current.iter().map(|c| c.id)),
            Val::I64Array(current.iter().map(|c| c.given as i64).collect()),
            Val::OptI64Array(current.iter().map(|c| c.expires_at).collect()),
        ],
    )?;
    Ok(())
}

/// Refreshes the planner's statistics of the tables an import of
/// `imported` rows grew, when that is more than a tenth of what the
/// statistics last counted (PostgreSQL; autovacuum would get there later
/// by the same measure, and until then a query over the new rows may be
/// planned as if the tables were nearly empty). `true`: analysed.
pub fn analyse_after_import(db: &mut dyn Db, imported: usize) -> Result<bool, StoreError> {
    if db.dialect() != Dialect::Postgres {
        return Ok(false);
    }
    let counted = db.query("SELECT reltuples::bigint FROM pg_class WHERE oid = 'records'::regclass", &[])?;
    let counted = counted.first().map(|r| r.i64(0)).transpose()?.unwrap_or(0).max(0);
    if (imported as i64) * 10 <= counted {
        return Ok(false);
    }
    db.batch("ANALYZE subjects, subject_identifiers, subject_attributes, records, consents, consent_state")?;
    Ok(true)
}

/// Removes what a failed import wrote: its records (with their
/// identifiers and attributes), its consent events, and the subjects it
/// created that hold no record now.
pub fn undo_import(
    db: &mut dyn Db,
    tenant: Uuid,
    records: &[Uuid],
    subjects: &[Uuid],
    consents: &[Uuid],
) -> Result<(), StoreError> {
    for id in records {
        super::delete_identifiers_of_record(db, tenant, *id)?;
        super::delete_attributes_of_record(db, tenant, *id)?;
        db.exec("DELETE FROM records WHERE tenant_id = $1 AND id = $2", &[tenant.into(), (*id).into()])?;
    }
    for id in consents {
        db.exec("DELETE FROM consent_state WHERE tenant_id = $1 AND consent_id = $2", &[tenant.into(), (*id).into()])?;
        db.exec("DELETE FROM consents WHERE tenant_id = $1 AND id = $2", &[tenant.into(), (*id).into()])?;
    }
    for s in subjects {
        if super::count_records_of_subject(db, tenant, *s)? == 0 {
            super::delete_subject(db, tenant, *s)?;
        }
    }
    Ok(())
}

//! Which records are one person's: a DPO merges two subjects found to be
//! one person, or splits records off a subject into a new one (two people
//! that were taken for one). Both seal the moved records again under the
//! receiving subject's key, move their identifiers and attributes with
//! them, and are audited; a merge destroys the merged subject's key after
//! moving its consents (evidence sealed again), restrictions, objections
//! and disclosures. A split leaves those with the subject it splits from
//! (which of two people consented is not known from the records).

use super::records::{seal_fields, SubjectInfo};
use super::{Actor, Result, ServiceError, TenantCtx, Vault};
use crate::crypto::SubjectKey;
use crate::domain::access::Action;
use crate::domain::Invalid;
use crate::store::queries::{self, RecordRow, SealedRecord, SubjectRow};
use crate::store::StoreError;
use uuid::Uuid;

/// Largest number of records one split moves.
pub const MAX_SPLIT: usize = 1000;

/// A merge or split done: the subject that received the records.
pub struct Moved {
    pub subject: SubjectInfo,
    pub records_moved: u64,
}

impl Vault {
    /// `rows` opened and sealed again under subject `to`'s key, each with the
    /// version it was read at (for `queries::move_record`).
    fn resealed<'a>(
        &self,
        t: &TenantCtx,
        rows: impl Iterator<Item = &'a SealedRecord>,
        key: &SubjectKey,
        to: Uuid,
        now: i64,
    ) -> Result<Vec<(RecordRow, i64)>> {
        rows.map(|r| {
            // The collection's name only labels the view; the values are what count.
            let values: Vec<_> = self.open_record(t, "", r)?.data.into_iter().collect();
            let rec = &r.record;
            let fields = seal_fields(key, t.id, rec.collection_id, rec.id, &values);
            Ok((
                RecordRow { subject_id: to, fields, version: rec.version + 1, updated_at: now, ..rec.clone() },
                rec.version,
            ))
        })
        .collect()
    }

    /// Merges subject `from` into `into`: every record of `from` is sealed
    /// again under `into`'s key and moved, with its identifiers and
    /// attributes; `from`'s own identifiers go to `into`; `from` and its key
    /// are then gone. Its audit events stay under its id (they hold no
    /// values); the merge event names both.
    pub async fn merge_subjects(&self, actor: &Actor, tenant: Uuid, into: Uuid, from: Uuid) -> Result<Moved> {
        let call = self.call(actor, Action::SubjectMerge, Some(tenant)).subject(into).detail(format!("from={from}"));
        self.run(
            call,
            |cx| async move {
                let t = cx.tenant()?.clone();
                if into == from {
                    return Err(Invalid::new("from", "is the subject itself").into());
                }
                let (a, b, rows, consents) = self
                    .store
                    .read(move |db| {
                        Ok((
                            queries::get_subject(db, tenant, into)?,
                            queries::get_subject(db, tenant, from)?,
                            queries::records_of_subject(db, tenant, from)?,
                            queries::consents_of_subject(db, tenant, from)?,
                        ))
                    })
                    .await?;
                let a = a.ok_or(ServiceError::NotFound("subject"))?;
                let b = b.ok_or_else(|| Invalid::new("from", "no such subject in this tenant"))?;
                let key = self.subject_key(&t, into, &a.wrapped_key).await?;
                let now = self.clock.now_ms();
                let moved = self.resealed(&t, rows.iter(), &key, into, now)?;
                // The evidence of `from`'s consents, sealed again under `into`'s key.
                let old = self.subject_key(&t, from, &b.wrapped_key).await?;
                let evidence: Vec<(Uuid, Option<Vec<u8>>)> = consents
                    .iter()
                    .map(|c| {
                        let ctx = super::consent::evidence_context(tenant, c.id);
                        let e = match &c.evidence {
                            Some(sealed) => {
                                let plain =
                                    old.open_field(&ctx, sealed).map_err(|e| ServiceError::Internal(e.to_string()))?;
                                Some(key.seal_field(&ctx, &plain))
                            }
                            None => None,
                        };
                        Ok((c.id, e))
                    })
                    .collect::<Result<_>>()?;
                let n = moved.len() as u64;
                self.write_recorded(move |db, d| {
                    for (row, version) in &moved {
                        queries::move_record(db, row, from, *version)?;
                    }
                    // A record added to `from` since it was read would go with its key.
                    if queries::count_records_of_subject(db, tenant, from)? > 0 {
                        return Err(StoreError::Stale);
                    }
                    queries::move_subject_identifiers(db, tenant, from, into)?;
                    queries::move_rights(db, tenant, from, into, &evidence)?;
                    queries::delete_subject(db, tenant, from)?;
                    d.detail = Some(format!("from={from} records_moved={n}"));
                    Ok(())
                })
                .await
                .inspect(|()| self.store.erased())
                .map_err(|e| match e {
                    StoreError::Stale | StoreError::NotFound => {
                        ServiceError::Conflict("a record of the subjects changed meanwhile; try again")
                    }
                    e => e.into(),
                })?;
                Ok(Moved {
                    subject: SubjectInfo { id: into, created_at: a.created_at, created: false },
                    records_moved: n,
                })
            },
            |m, d| d.detail = Some(format!("from={from} records_moved={}", m.records_moved)),
        )
        .await
    }

    /// Splits `records` off `subject` into a new subject with a key of its
    /// own. Refused when an identifier of a moved record stays with the
    /// subject (it would then name two people): move those records too.
    pub async fn split_subject(&self, actor: &Actor, tenant: Uuid, subject: Uuid, records: &[Uuid]) -> Result<Moved> {
        let call = self.call(actor, Action::SubjectSplit, Some(tenant)).subject(subject);
        self.run(
            call,
            |cx| async move {
                let t = cx.tenant()?.clone();
                if records.is_empty() || records.len() > MAX_SPLIT {
                    return Err(Invalid::new("records", format!("must name 1-{MAX_SPLIT} records")).into());
                }
                for (i, r) in records.iter().enumerate() {
                    if records[..i].contains(r) {
                        return Err(Invalid::new(format!("records[{i}]"), "is named twice").into());
                    }
                }
                let (s, rows, idents) = self
                    .store
                    .read(move |db| {
                        Ok((
                            queries::get_subject(db, tenant, subject)?,
                            queries::records_of_subject(db, tenant, subject)?,
                            queries::identifiers_of_subject(db, tenant, subject)?,
                        ))
                    })
                    .await?;
                s.ok_or(ServiceError::NotFound("subject"))?;
                for (i, r) in records.iter().enumerate() {
                    if !rows.iter().any(|x| x.record.id == *r) {
                        return Err(Invalid::new(format!("records[{i}]"), "is not a record of this subject").into());
                    }
                }
                let (going, staying): (Vec<_>, Vec<_>) =
                    idents.iter().partition(|i| i.source_record.is_some_and(|r| records.contains(&r)));
                if going.iter().any(|g| staying.iter().any(|s| g.kind == s.kind && g.hash == s.hash)) {
                    return Err(ServiceError::Conflict(
                        "an identifier of a record split off stays with the subject (another record or the \
                         subject itself has it): it would name two people; split those records together",
                    ));
                }
                let id = Uuid::now_v7();
                let (key, wrapped) = t.keys.new_subject_key(tenant, id);
                let now = self.clock.now_ms();
                let going = rows.iter().filter(|r| records.contains(&r.record.id));
                let moved = self.resealed(&t, going, &key, id, now)?;
                let n = moved.len() as u64;
                self.write_recorded(move |db, d| {
                    queries::insert_subject(
                        db,
                        &SubjectRow { tenant_id: tenant, id, wrapped_key: wrapped, created_at: now },
                    )?;
                    for (row, version) in &moved {
                        queries::move_record(db, row, subject, *version)?;
                    }
                    d.detail = Some(format!("into={id} records_moved={n}"));
                    Ok(())
                })
                .await
                .map_err(|e| match e {
                    StoreError::Stale => ServiceError::Conflict("a record of the subject changed meanwhile; try again"),
                    e => e.into(),
                })?;
                Ok(Moved { subject: SubjectInfo { id, created_at: now, created: true }, records_moved: n })
            },
            |m, d| d.detail = Some(format!("into={} records_moved={}", m.subject.id, m.records_moved)),
        )
        .await
    }
}

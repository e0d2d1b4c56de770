//! Erasure (Art. 17, Ham 7c): each collection's rule decides what happens
//! to the subject's records in it — deleted, anonymised (cut from the
//! subject, only the fields the collection keeps, sealed with the tenant's
//! key), or kept by law (the answer gives the legal reason). When nothing
//! of the subject remains, its identifiers, consents, limits and key go
//! too (crypto-shredding). Recipients the subject's data was disclosed to
//! are queued an Art. 19 notice in the same transaction.

use super::approvals::{Command, Held};
use super::{Actor, Collection, Result, ServiceError, TenantCtx, Vault};
use crate::domain::access::Action;
use crate::domain::schema::ErasureRule;
use crate::store::db::Db;
use crate::store::queries::{self, AnonymisedRow};
use crate::store::StoreError;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use uuid::Uuid;

/// What an erasure did.
#[derive(Debug, Default)]
pub struct Erasure {
    pub records_deleted: u64,
    pub records_anonymised: u64,
    /// Records kept by their collection's rule, with its legal reason.
    pub kept: Vec<Kept>,
    /// Nothing of the subject remains: its key is destroyed.
    pub subject_erased: bool,
    /// Recipients queued an Art. 19 notice.
    pub recipients_notified: Vec<String>,
}

#[derive(Debug)]
pub struct Kept {
    pub collection: String,
    pub records: u64,
    pub reason: String,
}

impl Vault {
    /// Erases a subject per each collection's rule. Four-eyes if the
    /// tenant's policy holds `subject.erase`.
    /// With `request`, the erasure answers that verified request of the
    /// subject, and the request's history records it in the same commit.
    pub async fn erase_subject(
        &self,
        actor: &Actor,
        tenant: Uuid,
        subject: Uuid,
        request: Option<Uuid>,
    ) -> Result<Held<Erasure>> {
        let mut call = self.call(actor, Action::SubjectErase, Some(tenant)).subject(subject);
        if let Some(r) = request {
            call = call.detail(format!("request={r}"));
        }
        let cmd = Command::EraseSubject { tenant, subject, request };
        self.run_held(
            call,
            cmd,
            |cx| async move {
                let t = cx.tenant()?.clone();
                let linked = match request {
                    Some(r) => {
                        let v = self.request_to_act_on(tenant, r, subject).await?;
                        Some(self.linked(
                            v,
                            "erasure",
                            "subject erased per each collection's rule".into(),
                            actor.staff_id,
                        ))
                    }
                    None => None,
                };
                self.erase_in(&t, subject, None, linked).await
            },
            |_, _| {},
        )
        .await
    }

    /// Erases the subject's records in the collections `only` names (all
    /// without it) per their rules, inside the calling use case's event.
    pub(super) async fn erase_in(
        &self,
        t: &TenantCtx,
        subject: Uuid,
        only: Option<&HashSet<Uuid>>,
        linked: Option<(queries::RequestRow, i64)>,
    ) -> Result<Erasure> {
        let plan = self.plan_erasure(t, subject, only).await?;
        let tenant = t.id;
        let done = self
            .write_recorded(move |db, d| {
                if let Some((r, seen)) = &linked {
                    queries::update_request(db, r, *seen)?;
                }
                let done = plan.apply(db, tenant, subject)?;
                d.detail = Some(format!("{}{}", d.detail.take().map(|s| s + " ").unwrap_or_default(), done.summary()));
                Ok(done)
            })
            .await
            .map_err(erasure_error)?;
        self.erased();
        Ok(done)
    }

    /// What erasing the subject's records in `only` (all without it) will
    /// do: read and decided here, written by `ErasurePlan::apply` in the
    /// caller's transaction.
    pub(super) async fn plan_erasure(
        &self,
        t: &TenantCtx,
        subject: Uuid,
        only: Option<&HashSet<Uuid>>,
    ) -> Result<ErasurePlan> {
        let tenant = t.id;
        let rows = self.records_of(tenant, subject).await?;
        let names = self.collection_names(tenant).await?;
        let mut defs: BTreeMap<Uuid, Arc<Collection>> = BTreeMap::new();
        let now = self.clock.now_ms();
        let (mut deletes, mut anonymised) = (Vec::new(), Vec::new());
        let mut kept: BTreeMap<(String, String), Kept> = BTreeMap::new();
        let mut keep = |collection: &str, reason: &str| {
            kept.entry((collection.to_string(), reason.to_string()))
                .or_insert(Kept { collection: collection.to_string(), records: 0, reason: reason.to_string() })
                .records += 1
        };
        let rows: Vec<_> = rows.iter().filter(|r| only.is_none_or(|o| o.contains(&r.record.collection_id))).collect();
        // Legal holds on the subject, its records or their collections keep what they cover.
        let mut targets: Vec<Uuid> = vec![subject];
        targets.extend(rows.iter().flat_map(|r| [r.record.id, r.record.collection_id]));
        targets.sort();
        targets.dedup();
        let holds = self.store.read(move |db| queries::active_holds_on(db, tenant, &targets, now)).await?;
        for r in rows {
            let cid = r.record.collection_id;
            if let std::collections::btree_map::Entry::Vacant(e) = defs.entry(cid) {
                let name = names.get(&cid).ok_or(ServiceError::Internal("a record's collection is gone".into()))?;
                e.insert(self.collection(tenant, name).await?);
            }
            let c = &defs[&cid];
            if let Some(h) = holds.iter().find(|h| [subject, r.record.id, cid].contains(&h.target)) {
                keep(&c.def.name, &format!("under legal hold {} (erasure stops while it is active)", h.id));
                continue;
            }
            match &c.def.erasure {
                ErasureRule::Delete => deletes.push((r.record.id, r.record.version)),
                ErasureRule::Refuse { reason } => keep(&c.def.name, reason),
                ErasureRule::Anonymise { .. } => {
                    let view = self.open_record(t, &c.def.name, r)?;
                    let data = c.def.anonymise(&view.data).unwrap_or_default();
                    let json = serde_json::to_vec(&data).map_err(|e| ServiceError::Internal(e.to_string()))?;
                    let id = r.record.id;
                    anonymised.push((
                        AnonymisedRow {
                            id,
                            collection_id: cid,
                            data: t.keys.seal(&anonymised_context(cid, id), &json),
                            created_at: r.record.created_at,
                            anonymised_at: now,
                        },
                        r.record.version,
                    ));
                }
            }
        }
        Ok(ErasurePlan { deletes, anonymised, kept: kept.into_values().collect(), now })
    }
}

/// An erasure decided, not yet written.
pub(super) struct ErasurePlan {
    deletes: Vec<(Uuid, i64)>,
    anonymised: Vec<(AnonymisedRow, i64)>,
    kept: Vec<Kept>,
    now: i64,
}

impl ErasurePlan {
    /// Writes the erasure: anonymised rows in, records out (each only at
    /// the version read: else `Stale`), Art. 19 notices queued, and the
    /// subject with its key gone when no record remains.
    pub(super) fn apply(
        self,
        db: &mut dyn Db,
        tenant: Uuid,
        subject: Uuid,
    ) -> std::result::Result<Erasure, StoreError> {
        for (a, version) in &self.anonymised {
            queries::insert_anonymised(db, tenant, a)?;
            queries::delete_record_at(db, tenant, subject, a.id, *version)?;
        }
        for (id, version) in &self.deletes {
            queries::delete_record_at(db, tenant, subject, *id, *version)?;
        }
        let recipients_notified = queries::queue_recipient_notices(db, tenant, subject, "erasure", self.now)?;
        let subject_erased = queries::count_records_of_subject(db, tenant, subject)? == 0;
        if subject_erased {
            queries::delete_subject(db, tenant, subject)?;
        }
        // What a restore of an older backup must erase again (AVL-2).
        let mut journal: Vec<_> = self
            .anonymised
            .iter()
            .map(|(a, _)| a.id)
            .chain(self.deletes.iter().map(|d| d.0))
            .map(|r| (Some(subject), Some(r)))
            .collect();
        if subject_erased {
            journal.push((Some(subject), None));
        }
        queries::journal_erasures(db, tenant, &journal, self.now)?;
        Ok(Erasure {
            records_deleted: self.deletes.len() as u64,
            records_anonymised: self.anonymised.len() as u64,
            kept: self.kept,
            subject_erased,
            recipients_notified,
        })
    }
}

pub(super) fn erasure_error(e: StoreError) -> ServiceError {
    match e {
        StoreError::NotFound => ServiceError::NotFound("subject"),
        StoreError::Stale => {
            ServiceError::Conflict("a record of the subject (or the request) changed during the erasure; try again")
        }
        e => e.into(),
    }
}

impl Erasure {
    /// The audit event's detail: counts and collection names, no values.
    pub fn summary(&self) -> String {
        let kept: Vec<String> = self.kept.iter().map(|k| format!("{}:{}", k.collection, k.records)).collect();
        format!(
            "records_deleted={} records_anonymised={} kept=[{}] subject_erased={} recipients_notified={}",
            self.records_deleted,
            self.records_anonymised,
            kept.join(","),
            self.subject_erased,
            self.recipients_notified.len()
        )
    }
}

/// The AEAD context of an anonymised record's data.
pub(super) fn anonymised_context(collection: Uuid, id: Uuid) -> String {
    format!("varuh/anonymised/v1/{collection}/{id}")
}

/// An anonymised record: what its collection keeps, cut from any subject.
pub struct AnonymisedView {
    pub id: Uuid,
    pub data: serde_json::Map<String, serde_json::Value>,
    pub created_at: i64,
    pub anonymised_at: i64,
}

impl Vault {
    /// One page of a collection's anonymised records (for analysis: no
    /// subject, no identifying field).
    pub async fn anonymised_records(
        &self,
        actor: &Actor,
        tenant: Uuid,
        collection: &str,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<AnonymisedView>> {
        let call = self.call(actor, Action::RecordsAnonymised, Some(tenant)).collection(collection);
        self.run(
            call,
            |cx| async move {
                let t = cx.tenant()?.clone();
                if !(1..=1000).contains(&limit) {
                    return Err(crate::domain::Invalid::new("limit", "must be 1-1000").into());
                }
                let c = self.collection(tenant, collection).await?;
                let cid = c.id;
                let rows =
                    self.store.read(move |db| queries::anonymised_of_collection(db, tenant, cid, after, limit)).await?;
                rows.into_iter()
                    .map(|r| {
                        let plain = t
                            .keys
                            .open(&anonymised_context(cid, r.id), &r.data)
                            .map_err(|e| ServiceError::Internal(e.to_string()))?;
                        let data = serde_json::from_slice(&plain)
                            .map_err(|_| ServiceError::Internal("anonymised data is not JSON".into()))?;
                        Ok(AnonymisedView { id: r.id, data, created_at: r.created_at, anonymised_at: r.anonymised_at })
                    })
                    .collect()
            },
            |v: &Vec<AnonymisedView>, d| d.detail = Some(format!("records={}", v.len())),
        )
        .await
    }
}

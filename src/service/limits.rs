//! Restriction (Art. 18, Ham 7d) and objection (Art. 21, Ham 7f): set on a
//! subject (optionally answering a verified request, whose history then
//! records it), listed, lifted with a reason; and the check every read of
//! personal data makes against them (`domain::limits`). A restriction
//! queues an Art. 19 notice to the recipients of the subject's data.

use super::{Actor, Result, ServiceError, Vault};
use crate::domain::access::Action;
use crate::domain::limits::{self as rules, Limit, LimitKind, LEGAL_CLAIMS};
use crate::domain::schema::CollectionDef;
use crate::domain::Invalid;
use crate::store::queries::{self, LimitRow};
use crate::store::StoreError;
use std::collections::BTreeSet;
use uuid::Uuid;

/// What a new limit says.
pub struct NewLimit {
    pub kind: LimitKind,
    pub purposes: Vec<String>,
    pub direct_marketing: bool,
    pub reason: String,
    pub request: Option<Uuid>,
}

const MAX_REASON: usize = 2000;

impl Vault {
    /// Every purpose of the tenant's collections.
    pub(super) async fn tenant_purposes(&self, tenant: Uuid) -> Result<BTreeSet<String>> {
        let rows = self.store.read(move |db| queries::list_collections(db, tenant)).await?;
        let mut out = BTreeSet::new();
        for r in rows {
            let def: CollectionDef =
                serde_json::from_str(&r.definition).map_err(|e| ServiceError::Internal(e.to_string()))?;
            out.extend(def.purposes);
        }
        Ok(out)
    }

    /// Restricts or objects to processing of a subject's data.
    pub async fn set_limit(&self, actor: &Actor, tenant: Uuid, subject: Uuid, new: NewLimit) -> Result<LimitRow> {
        let call = self.call(actor, Action::SubjectLimitSet, Some(tenant)).subject(subject).detail(format!(
            "kind={} purposes={} direct_marketing={}",
            new.kind.as_str(),
            new.purposes.join(","),
            new.direct_marketing
        ));
        self.run(
            call,
            |_| async move {
                let known = self.tenant_purposes(tenant).await?;
                for (i, p) in new.purposes.iter().enumerate() {
                    if p == LEGAL_CLAIMS || !known.contains(p) {
                        return Err(Invalid::new(
                            format!("purposes[{i}]"),
                            "is not a purpose of this tenant's collections (legal_claims cannot be limited)",
                        )
                        .into());
                    }
                }
                if new.kind == LimitKind::Objection && new.purposes.is_empty() && !new.direct_marketing {
                    return Err(
                        Invalid::new("purposes", "an objection names its purposes, or is to direct marketing").into()
                    );
                }
                if new.kind == LimitKind::Restriction && new.direct_marketing {
                    return Err(Invalid::new(
                        "direct_marketing",
                        "is for objections; a restriction names purposes or none (all)",
                    )
                    .into());
                }
                let reason = new.reason.trim().to_string();
                if reason.is_empty() || reason.len() > MAX_REASON {
                    return Err(Invalid::new("reason", format!("must say why, in 1-{MAX_REASON} bytes")).into());
                }
                let linked = match new.request {
                    Some(r) => {
                        let v = self.request_to_act_on(tenant, r, subject).await?;
                        Some(self.linked(v, new.kind.as_str(), format!("{} set", new.kind.as_str()), actor.staff_id))
                    }
                    None => None,
                };
                let now = self.clock.now_ms();
                let row = LimitRow {
                    id: Uuid::now_v7(),
                    subject_id: subject,
                    kind: new.kind.as_str().into(),
                    purposes: serde_json::to_string(&new.purposes).unwrap_or_else(|_| "[]".into()),
                    direct_marketing: new.direct_marketing,
                    reason,
                    request_id: new.request,
                    set_by: actor.staff_id.to_string(),
                    set_at: now,
                    lifted_by: None,
                    lifted_at: None,
                    lift_reason: None,
                };
                let out = row.clone();
                let restriction = new.kind == LimitKind::Restriction;
                self.write_recorded(move |db, d| {
                    queries::insert_limit(db, tenant, &row)?;
                    if let Some((r, seen)) = &linked {
                        queries::update_request(db, r, *seen)?;
                    }
                    if restriction {
                        let told = queries::queue_recipient_notices(db, tenant, subject, "restriction", now)?;
                        d.detail =
                            Some(format!("{} recipients_notified={}", d.detail.take().unwrap_or_default(), told.len()));
                    }
                    Ok(())
                })
                .await
                .map_err(|e| match e {
                    StoreError::NotFound => ServiceError::NotFound("subject"),
                    StoreError::Stale => ServiceError::Conflict("the request was changed meanwhile; try again"),
                    e => e.into(),
                })?;
                Ok(out)
            },
            |l, d| d.record = Some(l.id),
        )
        .await
    }

    /// Lifts an active limit, with the reason (e.g. the accuracy was verified).
    pub async fn lift_limit(&self, actor: &Actor, tenant: Uuid, subject: Uuid, id: Uuid, reason: &str) -> Result<()> {
        let call = self.call(actor, Action::SubjectLimitLift, Some(tenant)).subject(subject).record(id);
        self.run(
            call,
            |_| async move {
                let reason = reason.trim().to_string();
                if reason.is_empty() || reason.len() > MAX_REASON {
                    return Err(Invalid::new("reason", format!("must say why, in 1-{MAX_REASON} bytes")).into());
                }
                let (by, now) = (actor.staff_id.to_string(), self.clock.now_ms());
                self.write_recorded(move |db, _| queries::lift_limit(db, tenant, subject, id, &by, now, &reason))
                    .await
                    .map_err(|e| match e {
                        StoreError::NotFound => ServiceError::NotFound("active limit"),
                        e => e.into(),
                    })
            },
            |_, _| {},
        )
        .await
    }

    /// A subject's limits, active and lifted, oldest first.
    pub async fn subject_limits(&self, actor: &Actor, tenant: Uuid, subject: Uuid) -> Result<Vec<LimitRow>> {
        let call = self.call(actor, Action::SubjectLimitList, Some(tenant)).subject(subject);
        self.run(
            call,
            |_| async move {
                let (exists, rows) = self
                    .store
                    .read(move |db| {
                        Ok((
                            queries::get_subject(db, tenant, subject)?.is_some(),
                            queries::limits_of_subject(db, tenant, subject, false)?,
                        ))
                    })
                    .await?;
                if !exists && rows.is_empty() {
                    return Err(ServiceError::NotFound("subject"));
                }
                Ok(rows)
            },
            |v, d| d.detail = Some(format!("limits={}", v.len())),
        )
        .await
    }

    /// The active limits of a subject, as rules.
    pub(super) async fn active_limits(&self, tenant: Uuid, subject: Uuid) -> Result<Vec<Limit>> {
        let rows = self.store.read(move |db| queries::limits_of_subject(db, tenant, subject, true)).await?;
        Ok(rows.iter().map(limit_of).collect())
    }

    /// Refuses a read of a limited subject's record for a blocked purpose.
    pub(super) async fn check_limits(
        &self,
        tenant: Uuid,
        subject: Uuid,
        c: &CollectionDef,
        purpose: Option<&str>,
    ) -> Result<()> {
        let limits = self.active_limits(tenant, subject).await?;
        rules::check(&limits, c, purpose).map_err(|b| ServiceError::Restricted(b.why))
    }
}

/// A stored limit as a rule (a kind this version does not know restricts everything).
pub(super) fn limit_of(r: &LimitRow) -> Limit {
    Limit {
        kind: LimitKind::parse(&r.kind).unwrap_or(LimitKind::Restriction),
        purposes: serde_json::from_str(&r.purposes).unwrap_or_default(),
        direct_marketing: r.direct_marketing,
    }
}

/// Checks a read's stated purpose against the collection: one of its
/// purposes, or `legal_claims`.
pub(super) fn check_purpose(c: &CollectionDef, purpose: Option<&str>) -> Result<()> {
    match purpose {
        Some(p) if p != LEGAL_CLAIMS && !c.purposes.iter().any(|q| q == p) => Err(Invalid::new(
            "purpose",
            format!("is not a purpose of collection {} ({}, or legal_claims)", c.name, c.purposes.join(", ")),
        )
        .into()),
        _ => Ok(()),
    }
}

impl Vault {
    /// Drops from `rows` the records of limited subjects that `purpose`
    /// may not read (each subject's limits read once); returns how many
    /// were withheld and the first reason. `defs` has every row's collection.
    pub(super) async fn withhold(
        &self,
        tenant: Uuid,
        defs: &std::collections::HashMap<Uuid, std::sync::Arc<super::Collection>>,
        rows: &mut Vec<queries::SealedRecord>,
        purpose: Option<&str>,
    ) -> Result<(usize, Option<String>)> {
        if !rows.iter().any(|r| r.limited) {
            return Ok((0, None));
        }
        let mut limits: std::collections::HashMap<Uuid, Vec<Limit>> = Default::default();
        for r in rows.iter().filter(|r| r.limited) {
            let s = r.record.subject_id;
            if let std::collections::hash_map::Entry::Vacant(e) = limits.entry(s) {
                e.insert(self.active_limits(tenant, s).await?);
            }
        }
        let mut first = None;
        let before = rows.len();
        rows.retain(|r| {
            let (Some(l), Some(c)) = (limits.get(&r.record.subject_id), defs.get(&r.record.collection_id)) else {
                return true;
            };
            match rules::check(l, &c.def, purpose) {
                Ok(()) => true,
                Err(b) => {
                    first.get_or_insert(b.why);
                    false
                }
            }
        });
        Ok((before - rows.len(), first))
    }
}

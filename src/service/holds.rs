//! Legal holds (RET-2): a subject, a record or a collection put on hold
//! with the reason, who set it and until when. While a hold is active the
//! retention sweep leaves what it covers and an erasure keeps it (its
//! answer names the hold); lifting it needs a reason. Reasons are sealed
//! with the tenant's key: they may name a person or a case.

use super::{Actor, Result, ServiceError, TenantCtx, Vault};
use crate::domain::access::Action;
use crate::domain::Invalid;
use crate::store::queries::{self, HoldRow};
use uuid::Uuid;

const MAX_REASON: usize = 2000;

/// What a hold covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HoldScope {
    Subject,
    Record,
    Collection,
}

impl HoldScope {
    pub fn as_str(self) -> &'static str {
        match self {
            HoldScope::Subject => "subject",
            HoldScope::Record => "record",
            HoldScope::Collection => "collection",
        }
    }
}

/// A hold as shown: its reasons opened.
#[derive(Debug, Clone)]
pub struct HoldView {
    pub row: HoldRow,
    pub reason: String,
    pub lift_reason: Option<String>,
    /// The collection's name, for a hold on a collection.
    pub collection: Option<String>,
    pub active: bool,
}

pub struct NewHold {
    pub scope: HoldScope,
    /// The subject's or record's id, or the collection's name.
    pub target: String,
    pub reason: String,
    pub until: Option<i64>,
}

fn reason_context(tenant: Uuid, hold: Uuid, what: &str) -> String {
    format!("varuh/legal-hold/{what}/{tenant}/{hold}")
}

fn check_reason(field: &str, reason: &str) -> Result<String> {
    let r = reason.trim();
    if r.is_empty() || r.len() > MAX_REASON {
        return Err(Invalid::new(field, format!("must say why, in 1-{MAX_REASON} bytes")).into());
    }
    Ok(r.to_string())
}

impl Vault {
    /// Puts a subject, record or collection under a legal hold.
    pub async fn set_hold(&self, actor: &Actor, tenant: Uuid, new: NewHold) -> Result<HoldView> {
        let call = self.call(actor, Action::LegalHoldSet, Some(tenant)).detail(format!("scope={}", new.scope.as_str()));
        self.run(
            call,
            |cx| async move {
                let t = cx.tenant()?.clone();
                let reason = check_reason("reason", &new.reason)?;
                let now = self.clock.now_ms();
                if new.until.is_some_and(|u| u <= now) {
                    return Err(Invalid::new("until", "must be in the future").into());
                }
                let (target, collection) = match new.scope {
                    HoldScope::Collection => {
                        let c = self.collection(tenant, &new.target).await.map_err(|e| match e {
                            ServiceError::NotFound(_) => Invalid::new("target", "no collection has this name").into(),
                            e => e,
                        })?;
                        (c.id, Some(c.def.name.clone()))
                    }
                    scope => {
                        let id: Uuid = new
                            .target
                            .parse()
                            .map_err(|_| Invalid::new("target", format!("must be a {} id", scope.as_str())))?;
                        let found = match scope {
                            HoldScope::Subject => {
                                self.store.read(move |db| queries::get_subject(db, tenant, id)).await?.is_some()
                            }
                            _ => self.store.read(move |db| queries::record_place(db, tenant, id)).await?.is_some(),
                        };
                        if !found {
                            return Err(ServiceError::NotFound(if scope == HoldScope::Subject {
                                "subject"
                            } else {
                                "record"
                            }));
                        }
                        (id, None)
                    }
                };
                let id = Uuid::now_v7();
                let row = HoldRow {
                    id,
                    scope: new.scope.as_str().into(),
                    target,
                    reason: t.keys.seal(&reason_context(tenant, id, "reason"), reason.as_bytes()),
                    set_by: actor.staff_id.to_string(),
                    set_at: now,
                    until_at: new.until,
                    lifted_by: None,
                    lifted_at: None,
                    lift_reason: None,
                };
                let stored = row.clone();
                self.write_recorded(move |db, d| {
                    d.detail = Some(format!("hold={id} scope={} target={target}", stored.scope));
                    queries::insert_hold(db, tenant, &stored)
                })
                .await?;
                Ok(HoldView { row, reason, lift_reason: None, collection, active: true })
            },
            |_, _| {},
        )
        .await
    }

    /// Lifts an active hold, with the reason.
    pub async fn lift_hold(&self, actor: &Actor, tenant: Uuid, id: Uuid, reason: &str) -> Result<HoldView> {
        let call = self.call(actor, Action::LegalHoldLift, Some(tenant)).detail(format!("hold={id}"));
        self.run(
            call,
            |cx| async move {
                let t = cx.tenant()?.clone();
                let reason = check_reason("reason", reason)?;
                let now = self.clock.now_ms();
                let sealed = t.keys.seal(&reason_context(tenant, id, "lift"), reason.as_bytes());
                let by = actor.staff_id.to_string();
                let lifted = self
                    .write_recorded(move |db, _| {
                        if queries::get_hold(db, tenant, id)?.is_none() {
                            return Ok(None);
                        }
                        queries::lift_hold(db, tenant, id, &by, now, &sealed).map(Some)
                    })
                    .await?;
                match lifted {
                    None => Err(ServiceError::NotFound("legal hold")),
                    Some(false) => Err(ServiceError::Conflict("this legal hold was lifted already")),
                    Some(true) => {
                        let row = self
                            .store
                            .read_latest(move |db| queries::get_hold(db, tenant, id))
                            .await?
                            .ok_or(ServiceError::NotFound("legal hold"))?;
                        self.hold_view(&t, row, now).await
                    }
                }
            },
            |_, _| {},
        )
        .await
    }

    /// The tenant's legal holds, newest first, active and lifted.
    pub async fn list_holds(&self, actor: &Actor, tenant: Uuid) -> Result<Vec<HoldView>> {
        let call = self.call(actor, Action::LegalHoldList, Some(tenant));
        self.run(
            call,
            |cx| async move {
                let t = cx.tenant()?.clone();
                let now = self.clock.now_ms();
                let rows = self.store.read(move |db| queries::list_holds(db, tenant)).await?;
                let mut out = Vec::with_capacity(rows.len());
                for r in rows {
                    out.push(self.hold_view(&t, r, now).await?);
                }
                Ok(out)
            },
            |v: &Vec<HoldView>, d| d.detail = Some(format!("holds={}", v.len())),
        )
        .await
    }

    async fn hold_view(&self, t: &TenantCtx, row: HoldRow, now: i64) -> Result<HoldView> {
        let open = |what: &str, sealed: &[u8]| -> Result<String> {
            let plain = t
                .keys
                .open(&reason_context(t.id, row.id, what), sealed)
                .map_err(|e| ServiceError::Internal(e.to_string()))?;
            Ok(String::from_utf8_lossy(&plain).into_owned())
        };
        let reason = open("reason", &row.reason)?;
        let lift_reason = row.lift_reason.as_deref().map(|s| open("lift", s)).transpose()?;
        let collection =
            if row.scope == "collection" { self.collection_names(t.id).await?.get(&row.target).cloned() } else { None };
        let active = row.active(now);
        Ok(HoldView { row, reason, lift_reason, collection, active })
    }
}

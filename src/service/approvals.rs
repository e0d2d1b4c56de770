//! Four-eyes approval (ACC-3). A tenant's policy lists the actions that
//! need a second person (`four_eyes.operations`; only actions the
//! permission table marks eligible: erasure, bulk export, grant changes,
//! policy changes). Such a call is checked as usual, then stored as a
//! [`Command`] (ids and settings, never a personal value) and answered
//! `202` with the pending approval. Another person allowed to decide
//! approves or rejects it (a reason is required to reject); nobody decides
//! their own; an approval expires after `four_eyes.approval_hours`. An
//! approved command runs as its requester, through the same use case and
//! checks, and every step is audited (request, decision, execution, each
//! naming the approval).

use super::kernel::{Call, Cx};
use super::{Actor, Result, ServiceError, Vault};
use crate::audit::Draft;
use crate::domain::access::{Access, Action};
use crate::domain::policy::Policy;
use crate::domain::Invalid;
use crate::store::queries::{self, ApprovalRow};
use serde::{Deserialize, Serialize};
use std::future::Future;
use uuid::Uuid;

/// A privileged use case, stored to run later.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    EraseSubject {
        tenant: Uuid,
        subject: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request: Option<Uuid>,
    },
    ExportRecords {
        tenant: Uuid,
        collection: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        purpose: Option<String>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        pseudonymise: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        recipient: Option<String>,
        /// Asked for encrypted: collected only encrypted.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        protected: bool,
    },
    ChangeGrants {
        tenant: Option<Uuid>,
        staff: Uuid,
        role: String,
        access: Access,
    },
    SetPolicy {
        tenant: Option<Uuid>,
        policy: Box<Policy>,
    },
}

impl Command {
    pub fn action(&self) -> Action {
        match self {
            Command::EraseSubject { .. } => Action::SubjectErase,
            Command::ExportRecords { .. } => Action::RecordsExport,
            Command::ChangeGrants { .. } => Action::GrantsChange,
            Command::SetPolicy { .. } => Action::PolicyChange,
        }
    }
}

/// A use case that may be held for approval: done, or waiting.
pub enum Held<T> {
    Done(T),
    Pending(Box<ApprovalInfo>),
}

#[derive(Debug, Clone)]
pub struct ApprovalInfo {
    pub id: Uuid,
    pub tenant: Uuid,
    pub action: String,
    pub command: serde_json::Value,
    pub requested_by: Uuid,
    pub requested_at: i64,
    pub expires_at: i64,
    /// `pending`, `approved`, `rejected`, `expired`, `failed`.
    pub state: String,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<i64>,
    pub reason: Option<String>,
}

fn info(r: &ApprovalRow, now: i64) -> ApprovalInfo {
    let state = if r.state == "pending" && now >= r.expires_at { "expired".to_string() } else { r.state.clone() };
    ApprovalInfo {
        id: r.id,
        tenant: r.tenant_id,
        action: r.action.clone(),
        command: serde_json::from_str(&r.command).unwrap_or_default(),
        requested_by: r.requested_by,
        requested_at: r.requested_at,
        expires_at: r.expires_at,
        state,
        decided_by: r.decided_by,
        decided_at: r.decided_at,
        reason: r.reason.clone(),
    }
}

/// A decision on a pending approval.
pub enum Decision {
    Approve,
    Reject { reason: String },
}

impl Vault {
    /// [`Vault::run`] for an action a tenant may hold for approval: if its
    /// policy does (and this is not the approved command running), the call
    /// is checked, `cmd` is stored and `Held::Pending` returned.
    pub(crate) async fn run_held<'a, T, F, Fut>(
        &self,
        call: Call<'a>,
        cmd: Command,
        work: F,
        fill: impl FnOnce(&T, &mut Draft),
    ) -> Result<Held<T>>
    where
        F: FnOnce(Cx<'a>) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let actor = call.actor;
        let held = match call.tenant {
            Some(t) if actor.approval.is_none() => {
                let p = self.policy(Some(t)).await?;
                p.four_eyes
                    .operations
                    .iter()
                    .any(|o| o == call.action.name())
                    .then_some((t, p.four_eyes.approval_hours))
            }
            _ => None,
        };
        let Some((tenant, hours)) = held else {
            return self
                .run(
                    call,
                    |cx| async move { work(cx).await.map(Held::Done) },
                    |v, d| {
                        if let Held::Done(v) = v {
                            fill(v, d)
                        }
                    },
                )
                .await;
        };
        let now = self.clock.now_ms();
        let row = ApprovalRow {
            tenant_id: tenant,
            id: Uuid::now_v7(),
            action: call.action.name().to_string(),
            command: serde_json::to_string(&cmd).map_err(|e| ServiceError::Internal(e.to_string()))?,
            requested_by: actor.staff_id,
            requested_at: now,
            expires_at: now + i64::from(hours) * 3_600_000,
            state: "pending".into(),
            decided_by: None,
            decided_at: None,
            reason: None,
        };
        let out = info(&row, now);
        self.run(
            call,
            |_| async move {
                let id = row.id;
                self.write_recorded(move |db, d| {
                    d.detail = Some(format!("held for approval={id}"));
                    queries::insert_approval(db, &row)
                })
                .await?;
                Ok(Held::Pending(Box::new(out)))
            },
            |_, _| {},
        )
        .await
    }

    pub async fn list_approvals(&self, actor: &Actor, tenant: Uuid) -> Result<Vec<ApprovalInfo>> {
        let call = self.call(actor, Action::ApprovalList, Some(tenant));
        self.run(
            call,
            |_| async {
                let now = self.clock.now_ms();
                Ok(self
                    .store
                    .read(move |db| queries::list_approvals(db, tenant))
                    .await?
                    .iter()
                    .map(|r| info(r, now))
                    .collect())
            },
            |_, _| {},
        )
        .await
    }

    /// Approves (and runs, as its requester) or rejects a pending approval.
    pub async fn decide_approval(
        &self,
        actor: &Actor,
        tenant: Uuid,
        id: Uuid,
        decision: Decision,
    ) -> Result<ApprovalInfo> {
        let call = self.call(actor, Action::ApprovalDecide, Some(tenant)).detail(format!("approval={id}"));
        let (approved, row) = self
            .run(
                call,
                |_| async {
                    let now = self.clock.now_ms();
                    let row = self
                        .store
                        .read_latest(move |db| queries::get_approval(db, tenant, id))
                        .await?
                        .ok_or(ServiceError::NotFound("approval"))?;
                    if row.state != "pending" {
                        return Err(ServiceError::Conflict("this approval was decided already"));
                    }
                    if now >= row.expires_at {
                        self.write_recorded(move |db, _| {
                            queries::decide_approval(db, tenant, id, "expired", Uuid::nil(), now, None)
                        })
                        .await?;
                        return Err(ServiceError::Conflict("this approval has expired"));
                    }
                    if row.requested_by == actor.staff_id {
                        return Err(ServiceError::Forbidden("nobody approves their own request".into()));
                    }
                    let (state, reason) = match &decision {
                        Decision::Approve => ("approved", None),
                        Decision::Reject { reason } => {
                            let r = reason.trim();
                            if r.is_empty() || r.chars().count() > 500 {
                                return Err(Invalid::new("reason", "is required to reject (1-500 characters)").into());
                            }
                            ("rejected", Some(r.to_string()))
                        }
                    };
                    let by = actor.staff_id;
                    let ok = self
                        .write_recorded(move |db, d| {
                            d.detail = Some(format!("approval={id} {state}"));
                            queries::decide_approval(db, tenant, id, state, by, now, reason.as_deref())
                        })
                        .await?;
                    if !ok {
                        return Err(ServiceError::Conflict("this approval was decided already"));
                    }
                    let mut row = row;
                    (row.state, row.decided_by, row.decided_at) = (state.to_string(), Some(by), Some(now));
                    Ok((state == "approved", row))
                },
                |_, _| {},
            )
            .await?;
        if approved {
            let cmd: Command = serde_json::from_str(&row.command).map_err(|e| ServiceError::Internal(e.to_string()))?;
            let requester = self.requester(actor, row.requested_by, id).await?;
            self.execute(&requester, cmd).await?;
        }
        Ok(info(&row, self.clock.now_ms()))
    }

    /// Collects an approved export, once, as its requester.
    pub async fn collect_export(
        &self,
        actor: &Actor,
        tenant: Uuid,
        approval: Uuid,
        protected: bool,
    ) -> Result<Vec<super::records::RecordView>> {
        // Refused before the approval is read: the kernel runs the call
        // again so that the refusal is recorded like any other.
        if self.admit_only(actor, Action::RecordsExport, Some(tenant)).await.is_err() {
            let call = self.call(actor, Action::RecordsExport, Some(tenant)).detail(format!("approval={approval}"));
            self.run(call, |_| async { Ok(()) }, |_, _| {}).await?;
        }
        let row = self.store.read_latest(move |db| queries::get_approval(db, tenant, approval)).await?;
        let row = row
            .filter(|r| r.requested_by == actor.staff_id && r.action == Action::RecordsExport.name())
            .ok_or(ServiceError::NotFound("approval"))?;
        if row.state != "approved" {
            return Err(ServiceError::Conflict("this export is not approved, or was collected already"));
        }
        let Ok(Command::ExportRecords { collection, purpose, pseudonymise, recipient, protected: asked, .. }) =
            serde_json::from_str(&row.command)
        else {
            return Err(ServiceError::Internal("stored command is malformed".into()));
        };
        if asked && !protected {
            return Err(Invalid::new(
                "protect",
                "this export was asked for encrypted: collect it with `protect` (POST)",
            )
            .into());
        }
        if !self.store.write(move |db| queries::collect_approval(db, tenant, approval)).await? {
            return Err(ServiceError::Conflict("this export was collected already"));
        }
        let mut a = actor.clone();
        a.approval = Some(approval);
        let opts = super::records::ExportOptions { purpose, pseudonymise, recipient, protected };
        match self.export_records(&a, tenant, &collection, &opts).await? {
            Held::Done(v) => Ok(v),
            Held::Pending(_) => Err(ServiceError::Internal("an approved export was held again".into())),
        }
    }

    /// The requester of an approval, as the actor its command runs as.
    async fn requester(&self, decider: &Actor, staff: Uuid, approval: Uuid) -> Result<Actor> {
        let s = self
            .store
            .read_latest(move |db| queries::staff_by_id(db, staff))
            .await?
            .ok_or(ServiceError::NotFound("staff"))?;
        if s.disabled {
            return Err(ServiceError::Conflict("the requester's account is suspended; the command did not run"));
        }
        Ok(Actor {
            req: decider.req.clone(),
            staff_id: s.id,
            tenant: s.tenant_id,
            role: super::identity::role_of(&s)?,
            access: std::sync::Arc::new(super::identity::access_of(&s.access)?),
            must_change_password: false,
            must_enrol_mfa: false,
            approval: Some(approval),
            session: None,
            prefs: super::Prefs::default(),
        })
    }

    /// Runs an approved command through its use case.
    async fn execute(&self, actor: &Actor, cmd: Command) -> Result<()> {
        match cmd {
            Command::EraseSubject { tenant, subject, request } => {
                self.erase_subject(actor, tenant, subject, request).await.map(|_| ())
            }
            // The requester collects an approved export itself, once (`collect_export`).
            Command::ExportRecords { .. } => Ok(()),
            Command::ChangeGrants { tenant, staff, role, access } => {
                self.change_grants(actor, tenant, staff, &role, access).await.map(|_| ())
            }
            Command::SetPolicy { tenant, policy } => self.set_policy(actor, tenant, *policy).await.map(|_| ()),
        }
    }
}

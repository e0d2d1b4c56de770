//! Four-eyes approvals (ACC-3): a held call answers `202` with its pending
//! approval; others list, approve or reject it; the requester of an
//! approved export collects it here.

use crate::http::extract::{Auth, Body};
use crate::http::problem::{ApiResult, Problem};
use crate::http::routes::records::{deliver_records, RecordOut};
use crate::http::{path_id, time, AppState};
use crate::service::approvals::{ApprovalInfo, Decision, Held};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct ApprovalOut {
    pub id: String,
    pub tenant_id: String,
    /// The action held, e.g. `subject.erase`.
    pub action: String,
    /// The stored command (ids and settings only).
    #[schema(value_type = Object)]
    pub command: serde_json::Value,
    pub requested_by: String,
    pub requested_at: String,
    pub expires_at: String,
    /// `pending`, `approved`, `rejected`, `expired`, `collected`.
    pub state: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub reason: Option<String>,
}

pub fn approval_out(a: ApprovalInfo) -> ApprovalOut {
    ApprovalOut {
        id: a.id.to_string(),
        tenant_id: a.tenant.to_string(),
        action: a.action,
        command: a.command,
        requested_by: a.requested_by.to_string(),
        requested_at: time(a.requested_at),
        expires_at: time(a.expires_at),
        state: a.state,
        decided_by: a.decided_by.map(|d| d.to_string()),
        decided_at: a.decided_at.map(time),
        reason: a.reason,
    }
}

/// The answer of a use case that may be held: `ok` as given, or `202` with the approval.
pub fn held<T>(h: Held<T>, ok: impl FnOnce(T) -> Response) -> Response {
    match h {
        Held::Done(v) => ok(v),
        Held::Pending(a) => (StatusCode::ACCEPTED, Json(approval_out(*a))).into_response(),
    }
}

/// Approvals of a tenant, newest first.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/approvals", tag = "approvals", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = Vec<ApprovalOut>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn list_approvals(
    State(s): State<AppState>,
    a: Auth,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Vec<ApprovalOut>>> {
    let t = path_id(&tenant, "tenant")?;
    Ok(Json(s.vault.list_approvals(&a.actor, t).await?.into_iter().map(approval_out).collect()))
}

/// Approves another person's pending operation; it runs at once, as its requester.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/approvals/{approval}/approve", tag = "approvals", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("approval" = String, Path, description = "Approval id")),
    responses((status = 200, body = ApprovalOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn approve(
    State(s): State<AppState>,
    a: Auth,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<Json<ApprovalOut>> {
    let (t, id) = (path_id(&tenant, "tenant")?, path_id(&id, "approval")?);
    Ok(Json(approval_out(s.vault.decide_approval(&a.actor, t, id, Decision::Approve).await?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rejection {
    /// Why (required, 1-500 characters).
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// Rejects another person's pending operation, with a reason.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/approvals/{approval}/reject", tag = "approvals", security(("bearer" = [])), request_body = Rejection,
    params(("tenant" = String, Path, description = "Tenant id"), ("approval" = String, Path, description = "Approval id")),
    responses((status = 200, body = ApprovalOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn reject(
    State(s): State<AppState>,
    a: Auth,
    Path((tenant, id)): Path<(String, String)>,
    Body(req): Body<Rejection>,
) -> ApiResult<Json<ApprovalOut>> {
    let (t, id) = (path_id(&tenant, "tenant")?, path_id(&id, "approval")?);
    Ok(Json(approval_out(s.vault.decide_approval(&a.actor, t, id, Decision::Reject { reason: req.reason }).await?)))
}

/// The requester collects an approved export, once.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/approvals/{approval}/export", tag = "approvals", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("approval" = String, Path, description = "Approval id")),
    responses((status = 200, body = Vec<RecordOut>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn collect_export(
    State(s): State<AppState>,
    a: Auth,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let (t, id) = (path_id(&tenant, "tenant")?, path_id(&id, "approval")?);
    deliver_records(s.vault.collect_export(&a.actor, t, id, false).await?, None)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectIn {
    /// Deliver it encrypted (an age file of the JSON array); required when
    /// the export was asked for encrypted.
    #[serde(default)]
    pub protect: Option<crate::http::routes::access_report::ProtectIn>,
}

/// The requester collects an approved export, once, encrypted if asked.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/approvals/{approval}/export", tag = "approvals", security(("bearer" = [])), request_body(content = Option<CollectIn>, description = "optional"),
    params(("tenant" = String, Path, description = "Tenant id"), ("approval" = String, Path, description = "Approval id")),
    responses((status = 200, body = Vec<RecordOut>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn collect_export_protected(
    State(s): State<AppState>,
    a: Auth,
    Path((tenant, id)): Path<(String, String)>,
    crate::http::extract::OptBody(b): crate::http::extract::OptBody<CollectIn>,
) -> ApiResult<Response> {
    let (t, id) = (path_id(&tenant, "tenant")?, path_id(&id, "approval")?);
    let protect = crate::http::routes::access_report::checked_protect(b.and_then(|b| b.protect))?;
    deliver_records(s.vault.collect_export(&a.actor, t, id, protect.is_some()).await?, protect)
}

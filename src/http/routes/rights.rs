//! The subject's rights beyond the register: restriction and objection
//! (limits on a subject's processing).

use crate::domain::limits::LimitKind;
use crate::http::extract::{Auth, Body};
use crate::http::problem::{ApiResult, Problem};
use crate::http::{path_id, time, AppState};
use crate::service::limits::NewLimit;
use crate::store::queries::LimitRow;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

fn opt_id(v: Option<String>, field: &str) -> Result<Option<uuid::Uuid>, Problem> {
    v.map(|s| s.parse().map_err(|_| Problem::invalid(field, "is not an id"))).transpose()
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitIn {
    #[schema(inline)]
    pub kind: LimitKind,
    /// The purposes limited (of the tenant's collections). A restriction
    /// without any restricts every purpose but `legal_claims`.
    #[serde(default)]
    pub purposes: Vec<String>,
    /// An objection to direct marketing: every purpose a collection marks as such.
    #[serde(default)]
    pub direct_marketing: bool,
    /// Why (e.g. "accuracy contested, Art. 18(1)(a)").
    #[schema(min_length = 1, max_length = 2000)]
    pub reason: String,
    /// The verified request this answers (its history records it).
    #[serde(default)]
    #[schema(pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    pub request_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LimitOut {
    pub id: String,
    pub subject_id: String,
    /// `restriction` or `objection`.
    pub kind: String,
    pub purposes: Vec<String>,
    pub direct_marketing: bool,
    pub reason: String,
    pub request_id: Option<String>,
    pub set_by: String,
    pub set_at: String,
    pub active: bool,
    pub lifted_by: Option<String>,
    pub lifted_at: Option<String>,
    pub lift_reason: Option<String>,
}

fn limit_out(r: LimitRow) -> LimitOut {
    LimitOut {
        id: r.id.to_string(),
        subject_id: r.subject_id.to_string(),
        kind: r.kind,
        purposes: serde_json::from_str(&r.purposes).unwrap_or_default(),
        direct_marketing: r.direct_marketing,
        reason: r.reason,
        request_id: r.request_id.map(|u| u.to_string()),
        set_by: r.set_by,
        set_at: time(r.set_at),
        active: r.lifted_at.is_none(),
        lifted_by: r.lifted_by,
        lifted_at: r.lifted_at.map(time),
        lift_reason: r.lift_reason,
    }
}

/// Restricts (Art. 18) or objects to (Art. 21) processing of a subject's
/// data. Reads for a blocked purpose are refused from then on; a
/// restriction queues a notice to the recipients of the subject's data.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/subjects/{subject}/limits", tag = "rights", security(("bearer" = [])), request_body = LimitIn,
    params(("tenant" = String, Path, description = "Tenant id"), ("subject" = String, Path, description = "Subject id")),
    responses((status = 201, body = LimitOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn set_limit(
    State(s): State<AppState>,
    a: Auth,
    Path((tenant, subject)): Path<(String, String)>,
    Body(b): Body<LimitIn>,
) -> ApiResult<(StatusCode, Json<LimitOut>)> {
    let (t, sid) = (path_id(&tenant, "tenant")?, path_id(&subject, "subject")?);
    let new = NewLimit {
        kind: b.kind,
        purposes: b.purposes,
        direct_marketing: b.direct_marketing,
        reason: b.reason,
        request: opt_id(b.request_id, "request_id")?,
    };
    Ok((StatusCode::CREATED, Json(limit_out(s.vault.set_limit(&a.actor, t, sid, new).await?))))
}

/// A subject's restrictions and objections, active and lifted.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/subjects/{subject}/limits", tag = "rights", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("subject" = String, Path, description = "Subject id")),
    responses((status = 200, body = Vec<LimitOut>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn list_limits(
    State(s): State<AppState>,
    a: Auth,
    Path((tenant, subject)): Path<(String, String)>,
) -> ApiResult<Json<Vec<LimitOut>>> {
    let (t, sid) = (path_id(&tenant, "tenant")?, path_id(&subject, "subject")?);
    Ok(Json(s.vault.subject_limits(&a.actor, t, sid).await?.into_iter().map(limit_out).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LiftIn {
    #[schema(min_length = 1, max_length = 2000)]
    pub reason: String,
}

/// Lifts a restriction or objection, with the reason.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/subjects/{subject}/limits/{limit}/lift", tag = "rights", security(("bearer" = [])), request_body = LiftIn,
    params(("tenant" = String, Path, description = "Tenant id"), ("subject" = String, Path, description = "Subject id"), ("limit" = String, Path, description = "Limit id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn lift_limit(
    State(s): State<AppState>,
    a: Auth,
    Path((tenant, subject, limit)): Path<(String, String, String)>,
    Body(b): Body<LiftIn>,
) -> ApiResult<StatusCode> {
    let (t, sid, l) = (path_id(&tenant, "tenant")?, path_id(&subject, "subject")?, path_id(&limit, "limit")?);
    s.vault.lift_limit(&a.actor, t, sid, l, &b.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

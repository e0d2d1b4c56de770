//! The register of data-subject requests (DSR-1): open, list (a state,
//! overdue), read, and the steps verify → start → complete, extend, refuse.
//! The requester's e-mail travels only in the body and is kept only as a
//! blind index.

use crate::domain::requests::{RequestKind, RequestState};
use crate::http::extract::{Auth, Body, Params};
use crate::http::problem::{ApiResult, Problem};
use crate::http::{path_id, time, AppState};
use crate::service::requests::{NewRequest, RequestView, Step};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenRequest {
    pub kind: RequestKind,
    /// How it came in: `e-mail`, `letter`, `web form`, `in person` …
    #[schema(min_length = 1, max_length = 100)]
    pub channel: String,
    /// When it was received (RFC 3339; default: now). The deadline counts from here.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub received_at: Option<String>,
    /// The subject, if known.
    #[serde(default)]
    #[schema(pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    pub subject_id: Option<String>,
    /// The requester's e-mail: finds the subject and flags duplicates; kept only as a blind index.
    #[serde(default)]
    #[schema(format = Email)]
    pub requester_email: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Verification {
    pub method: String,
    pub by: String,
    pub at: String,
}

#[derive(Serialize, ToSchema)]
pub struct Extension {
    pub months: i64,
    pub reason: String,
    pub subject_informed_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct HistoryOut {
    pub at: String,
    pub action: String,
    pub by: String,
    pub note: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RequestOut {
    pub id: String,
    pub kind: String,
    pub channel: String,
    pub received_at: String,
    /// One calendar month from receipt, plus any extension (Art. 12(3)).
    pub due_at: String,
    /// Whole days to the due date; negative when overdue.
    pub days_left: i64,
    pub overdue: bool,
    /// `received`, `verified`, `in_progress`, `done`, `refused`.
    pub state: String,
    pub subject_id: Option<String>,
    pub verification: Option<Verification>,
    pub extension: Option<Extension>,
    pub refusal_reason: Option<String>,
    pub response: Option<String>,
    /// An open request of the same kind for the same person, opened earlier.
    pub duplicate_of: Option<String>,
    pub opened_by: String,
    pub history: Vec<HistoryOut>,
}

pub(crate) fn request_out(v: RequestView) -> RequestOut {
    let (days_left, overdue) = (v.days_left(), v.overdue());
    let r = v.row;
    RequestOut {
        id: r.id.to_string(),
        kind: r.kind,
        channel: r.channel,
        received_at: time(r.received_at),
        due_at: time(r.due_at),
        days_left,
        overdue,
        state: r.state,
        subject_id: r.subject_id.map(|s| s.to_string()),
        verification: match (r.verified_method, r.verified_by, r.verified_at) {
            (Some(method), Some(by), Some(at)) => Some(Verification { method, by, at: time(at) }),
            _ => None,
        },
        extension: r.extension_reason.map(|reason| Extension {
            months: r.extension_months,
            reason,
            subject_informed_at: r.subject_informed_at.map(time),
        }),
        refusal_reason: r.refusal_reason,
        response: r.response,
        duplicate_of: r.duplicate_of.map(|d| d.to_string()),
        opened_by: r.opened_by,
        history: v
            .history
            .into_iter()
            .map(|e| HistoryOut { at: time(e.at), action: e.action, by: e.by, note: e.note })
            .collect(),
    }
}

/// Opens a request; due one calendar month after receipt.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/requests", tag = "requests", security(("bearer" = [])), request_body = OpenRequest,
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 201, body = RequestOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn open_request(
    State(s): State<AppState>,
    a: Auth,
    Path(tenant): Path<String>,
    Body(req): Body<OpenRequest>,
) -> ApiResult<(StatusCode, Json<RequestOut>)> {
    let t = path_id(&tenant, "tenant")?;
    let received_at = req
        .received_at
        .as_deref()
        .map(|r| {
            crate::clock::parse_rfc3339(r).ok_or_else(|| Problem::invalid("received_at", "must be an RFC 3339 time"))
        })
        .transpose()?;
    let subject_id = req
        .subject_id
        .as_deref()
        .map(|r| r.parse().map_err(|_| Problem::invalid("subject_id", "must be a subject id")))
        .transpose()?;
    let new = NewRequest {
        kind: req.kind,
        channel: req.channel,
        received_at,
        subject_id,
        requester_email: req.requester_email,
    };
    Ok((StatusCode::CREATED, Json(request_out(s.vault.open_request(&a.actor, t, new).await?))))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Only requests in this state.
    #[param(inline)]
    pub state: Option<RequestState>,
    /// Only open requests past their due date.
    pub overdue: Option<bool>,
    /// At most this many (1-500, default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<usize>,
}

/// The register, soonest due first.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/requests", tag = "requests", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ListParams),
    responses((status = 200, body = Vec<RequestOut>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn list_requests(
    State(s): State<AppState>,
    a: Auth,
    Path(tenant): Path<String>,
    Params(p): Params<ListParams>,
) -> ApiResult<Json<Vec<RequestOut>>> {
    let t = path_id(&tenant, "tenant")?;
    let v = s.vault.list_requests(&a.actor, t, p.state, p.overdue.unwrap_or(false), p.limit.unwrap_or(100)).await?;
    Ok(Json(v.into_iter().map(request_out).collect()))
}

/// One request with its history.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/requests/{request}", tag = "requests", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("request" = String, Path, description = "Request id")),
    responses((status = 200, body = RequestOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_request(
    State(s): State<AppState>,
    a: Auth,
    Path((tenant, request)): Path<(String, String)>,
) -> ApiResult<Json<RequestOut>> {
    let (t, r) = (path_id(&tenant, "tenant")?, path_id(&request, "request")?);
    Ok(Json(request_out(s.vault.get_request(&a.actor, t, r).await?)))
}

async fn step(s: AppState, a: Auth, p: (String, String), st: Step) -> ApiResult<Json<RequestOut>> {
    let (t, r) = (path_id(&p.0, "tenant")?, path_id(&p.1, "request")?);
    Ok(Json(request_out(s.vault.request_step(&a.actor, t, r, st).await?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    /// How the identity was verified: `signed-in account`, `ID document`, `e-mail confirmation` …
    #[schema(min_length = 1, max_length = 200)]
    pub method: String,
}

/// Records how the requester's identity was verified (by whom and when: the caller, now).
#[utoipa::path(post, path = "/v1/tenants/{tenant}/requests/{request}/verify", tag = "requests", security(("bearer" = [])), request_body = VerifyBody,
    params(("tenant" = String, Path, description = "Tenant id"), ("request" = String, Path, description = "Request id")),
    responses((status = 200, body = RequestOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn verify_request(
    State(s): State<AppState>,
    a: Auth,
    Path(p): Path<(String, String)>,
    Body(b): Body<VerifyBody>,
) -> ApiResult<Json<RequestOut>> {
    step(s, a, p, Step::Verify { method: b.method }).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartBody {}

/// Starts work on a verified request.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/requests/{request}/start", tag = "requests", security(("bearer" = [])), request_body = StartBody,
    params(("tenant" = String, Path, description = "Tenant id"), ("request" = String, Path, description = "Request id")),
    responses((status = 200, body = RequestOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn start_request(
    State(s): State<AppState>,
    a: Auth,
    Path(p): Path<(String, String)>,
    Body(_start): Body<StartBody>,
) -> ApiResult<Json<RequestOut>> {
    step(s, a, p, Step::Start).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendBody {
    /// 1 or 2 further months (at most two in all).
    #[schema(minimum = 1, maximum = 2)]
    pub months: u32,
    #[schema(min_length = 1, max_length = 2000)]
    pub reason: String,
    /// The subject has been told of the extension and its reasons (required, Art. 12(3)).
    pub subject_informed: bool,
}

/// Extends the deadline by up to two months, within the first month.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/requests/{request}/extend", tag = "requests", security(("bearer" = [])), request_body = ExtendBody,
    params(("tenant" = String, Path, description = "Tenant id"), ("request" = String, Path, description = "Request id")),
    responses((status = 200, body = RequestOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn extend_request(
    State(s): State<AppState>,
    a: Auth,
    Path(p): Path<(String, String)>,
    Body(b): Body<ExtendBody>,
) -> ApiResult<Json<RequestOut>> {
    step(s, a, p, Step::Extend { months: b.months, reason: b.reason, subject_informed: b.subject_informed }).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteBody {
    /// What was sent to the subject, and how (no personal values).
    #[schema(min_length = 1, max_length = 2000)]
    pub response: String,
}

/// Closes a verified request as done, with the response sent.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/requests/{request}/complete", tag = "requests", security(("bearer" = [])), request_body = CompleteBody,
    params(("tenant" = String, Path, description = "Tenant id"), ("request" = String, Path, description = "Request id")),
    responses((status = 200, body = RequestOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn complete_request(
    State(s): State<AppState>,
    a: Auth,
    Path(p): Path<(String, String)>,
    Body(b): Body<CompleteBody>,
) -> ApiResult<Json<RequestOut>> {
    step(s, a, p, Step::Complete { response: b.response }).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefuseBody {
    /// Why (required): e.g. identity could not be verified, manifestly unfounded (Art. 12(5)).
    #[schema(min_length = 1, max_length = 2000)]
    pub reason: String,
}

/// Refuses a request, with the reason.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/requests/{request}/refuse", tag = "requests", security(("bearer" = [])), request_body = RefuseBody,
    params(("tenant" = String, Path, description = "Tenant id"), ("request" = String, Path, description = "Request id")),
    responses((status = 200, body = RequestOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn refuse_request(
    State(s): State<AppState>,
    a: Auth,
    Path(p): Path<(String, String)>,
    Body(b): Body<RefuseBody>,
) -> ApiResult<Json<RequestOut>> {
    step(s, a, p, Step::Refuse { reason: b.reason }).await
}

//! Retention and legal holds: run the sweep now (or a dry run), record a
//! subject's retention event, and the holds register.

use crate::domain::schema::Retention;
use crate::http::extract::{Auth, Body, Bulk};
use crate::http::problem::{ApiResult, Problem};
use crate::http::{path_id, time, AppState};
use crate::service::holds::{HoldScope, HoldView, NewHold};
use crate::service::retention::{CollectionSweep, RetentionReport};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

fn opt_time(field: &'static str, v: Option<String>) -> Result<Option<i64>, Problem> {
    v.map(|t| crate::clock::parse_rfc3339(&t).ok_or_else(|| Problem::invalid(field, "must be an RFC 3339 time")))
        .transpose()
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunIn {
    /// Find what would go; write nothing.
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Serialize, ToSchema)]
pub struct SweepOut {
    pub collection: String,
    pub retention: Option<Retention>,
    /// Records whose retention has run out (a dry run: that would go).
    pub expired: u64,
    pub deleted: u64,
    pub anonymised: u64,
    /// Subjects left with no record, erased with their keys.
    pub subjects_erased: u64,
    /// Expired records kept by legal holds, and those holds' ids.
    pub held: u64,
    pub holds: Vec<String>,
    /// Why part of the collection was not swept (the next run takes it).
    pub error: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ReportOut {
    pub tenant_id: String,
    pub dry_run: bool,
    pub at: String,
    pub collections: Vec<SweepOut>,
}

fn sweep_out(c: CollectionSweep) -> SweepOut {
    SweepOut {
        collection: c.collection,
        retention: c.retention,
        expired: c.expired,
        deleted: c.deleted,
        anonymised: c.anonymised,
        subjects_erased: c.subjects_erased,
        held: c.held,
        holds: c.holds.iter().map(|h| h.to_string()).collect(),
        error: c.error,
    }
}

pub fn report_out(r: RetentionReport) -> ReportOut {
    ReportOut {
        tenant_id: r.tenant.to_string(),
        dry_run: r.dry_run,
        at: time(r.at),
        collections: r.collections.into_iter().map(sweep_out).collect(),
    }
}

/// Runs the tenant's retention sweep now: expired records deleted or
/// anonymised per each collection's erasure rule, legal holds respected;
/// the report says what was done and what was held back.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/retention/run", tag = "retention", security(("bearer" = [])), request_body = RunIn,
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = ReportOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn run(
    State(s): State<AppState>,
    a: Auth,
    Path(tenant): Path<String>,
    Body(b): Body<RunIn>,
) -> ApiResult<Json<ReportOut>> {
    let t = path_id(&tenant, "tenant")?;
    Ok(Json(report_out(s.vault.retention_run(&a.actor, t, b.dry_run).await?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventIn {
    /// The event a collection's `after_event` rule counts from (`contract_end`,
    /// `purpose_ended`, …): 1-64 of a-z, 0-9, _.
    #[schema(pattern = "^[a-z0-9_]{1,64}$")]
    pub event: String,
    /// When it happened (or will); now without it.
    #[serde(default)]
    pub at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct EventOut {
    pub subject_id: String,
    pub event: String,
    pub at: String,
}

/// Records a subject's retention event (a contract ended, a purpose
/// ended); recording it again moves it.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/subjects/{subject}/retention-events", tag = "retention", security(("bearer" = [])), request_body = EventIn,
    params(("tenant" = String, Path, description = "Tenant id"), ("subject" = String, Path, description = "Subject id")),
    responses((status = 201, body = EventOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn record_event(
    State(s): State<AppState>,
    a: Auth,
    Path((tenant, subject)): Path<(String, String)>,
    Body(b): Body<EventIn>,
) -> ApiResult<(StatusCode, Json<EventOut>)> {
    let (t, sid) = (path_id(&tenant, "tenant")?, path_id(&subject, "subject")?);
    let at = opt_time("at", b.at)?;
    let (event, at) = s.vault.record_retention_event(&a.actor, t, sid, &b.event, at).await?;
    Ok((StatusCode::CREATED, Json(EventOut { subject_id: sid.to_string(), event, at: time(at) })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkEventIn {
    #[schema(pattern = "^[a-z0-9_]{1,64}$")]
    pub event: String,
    #[serde(default)]
    pub at: Option<String>,
    /// The subjects, by e-mail address: 1-100,000.
    #[schema(min_items = 1, max_items = 100000)]
    pub emails: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct BulkEventOut {
    pub event: String,
    /// Subjects whose event was recorded (an address listed twice counts once).
    pub recorded: u64,
    /// Addresses no subject has.
    pub unknown: u64,
}

/// Records one retention event for the subjects of a list of e-mail
/// addresses (e.g. the customers whose contracts ended).
#[utoipa::path(post, path = "/v1/tenants/{tenant}/retention-events", tag = "retention", security(("bearer" = [])), request_body = BulkEventIn,
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = BulkEventOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn record_events(
    State(s): State<AppState>,
    a: Auth,
    Path(tenant): Path<String>,
    Bulk(b): Bulk<BulkEventIn>,
) -> ApiResult<Json<BulkEventOut>> {
    let t = path_id(&tenant, "tenant")?;
    let at = opt_time("at", b.at)?;
    let (recorded, unknown) = s.vault.record_retention_events_by_email(&a.actor, t, &b.event, at, &b.emails).await?;
    Ok(Json(BulkEventOut { event: b.event, recorded, unknown }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldIn {
    #[schema(inline)]
    pub scope: HoldScope,
    /// The subject's or record's id, or the collection's name.
    #[schema(min_length = 1, max_length = 100)]
    pub target: String,
    /// Why (a case, a claim, an authority's request).
    #[schema(min_length = 1, max_length = 2000)]
    pub reason: String,
    /// When the hold ends by itself (else when lifted).
    #[serde(default)]
    pub until: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LiftIn {
    #[schema(min_length = 1, max_length = 2000)]
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct HoldOut {
    pub id: String,
    /// `subject`, `record` or `collection`.
    pub scope: String,
    pub target: String,
    /// The collection's name, for a hold on a collection.
    pub collection: Option<String>,
    pub reason: String,
    pub set_by: String,
    pub set_at: String,
    pub until: Option<String>,
    pub active: bool,
    pub lifted_by: Option<String>,
    pub lifted_at: Option<String>,
    pub lift_reason: Option<String>,
}

pub(crate) fn hold_out(h: HoldView) -> HoldOut {
    HoldOut {
        id: h.row.id.to_string(),
        scope: h.row.scope,
        target: h.row.target.to_string(),
        collection: h.collection,
        reason: h.reason,
        set_by: h.row.set_by,
        set_at: time(h.row.set_at),
        until: h.row.until_at.map(time),
        active: h.active,
        lifted_by: h.row.lifted_by,
        lifted_at: h.row.lifted_at.map(time),
        lift_reason: h.lift_reason,
    }
}

/// Puts a subject, a record or a collection under a legal hold: retention
/// leaves it and erasure keeps it until the hold is lifted or ends.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/legal-holds", tag = "retention", security(("bearer" = [])), request_body = HoldIn,
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 201, body = HoldOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn set_hold(
    State(s): State<AppState>,
    a: Auth,
    Path(tenant): Path<String>,
    Body(b): Body<HoldIn>,
) -> ApiResult<(StatusCode, Json<HoldOut>)> {
    let t = path_id(&tenant, "tenant")?;
    let new = NewHold { scope: b.scope, target: b.target, reason: b.reason, until: opt_time("until", b.until)? };
    Ok((StatusCode::CREATED, Json(hold_out(s.vault.set_hold(&a.actor, t, new).await?))))
}

/// The tenant's legal holds, newest first, active and lifted.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/legal-holds", tag = "retention", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = Vec<HoldOut>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn list_holds(
    State(s): State<AppState>,
    a: Auth,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Vec<HoldOut>>> {
    let t = path_id(&tenant, "tenant")?;
    Ok(Json(s.vault.list_holds(&a.actor, t).await?.into_iter().map(hold_out).collect()))
}

/// Lifts a legal hold, with the reason.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/legal-holds/{hold}/lift", tag = "retention", security(("bearer" = [])), request_body = LiftIn,
    params(("tenant" = String, Path, description = "Tenant id"), ("hold" = String, Path, description = "Legal hold id")),
    responses((status = 200, body = HoldOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn lift_hold(
    State(s): State<AppState>,
    a: Auth,
    Path((tenant, hold)): Path<(String, String)>,
    Body(b): Body<LiftIn>,
) -> ApiResult<Json<HoldOut>> {
    let (t, h) = (path_id(&tenant, "tenant")?, path_id(&hold, "hold")?);
    Ok(Json(hold_out(s.vault.lift_hold(&a.actor, t, h, &b.reason).await?)))
}

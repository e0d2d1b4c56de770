//! The breach register over the API (BRE-1, BRE-2): record and amend a
//! breach, list the register and its due and overdue clocks, record each
//! notification made (controller, authority, subjects; in phases), and
//! download the notification documents (PDF or text, English or Slovenian).

use crate::domain::breach::{
    Audience, BreachDetails, BreachKind, Clock, ClockState, FoundBy, Phase, Risk, SubjectsDecision,
};
use crate::http::extract::{Auth, Body, Params};
use crate::http::problem::{ApiResult, Problem};
use crate::http::{path_id, time, AppState};
use crate::service::breach_scope::{Scope, ScopeBy, ScopeQuery};
use crate::service::breaches::{BreachView, DueClock, NewNotification, NotificationDetails, NotificationView};
use crate::service::documents::Lang;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

fn at(field: &'static str, v: &str) -> Result<i64, Problem> {
    crate::clock::parse_rfc3339(v).ok_or_else(|| Problem::invalid(field, "must be an RFC 3339 time"))
}

fn opt_at(field: &'static str, v: Option<&str>) -> Result<Option<i64>, Problem> {
    v.map(|v| at(field, v)).transpose()
}

/// A breach as recorded (and, with `version`, as amended).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BreachIn {
    /// On a change: the version read (409 if another change came first).
    #[serde(default)]
    pub version: Option<i64>,
    #[schema(inline, min_items = 1)]
    pub kinds: Vec<BreachKind>,
    /// When it happened (or began), if known.
    #[serde(default)]
    pub occurred_at: Option<String>,
    /// When the organisation became reasonably certain a breach occurred:
    /// the clocks start here.
    pub aware_at: String,
    #[serde(default)]
    pub contained_at: Option<String>,
    /// `processor`: found by the one running varuh for this controller;
    /// its notice to the controller is then due within the tenant's
    /// `breach_notice_hours`.
    #[schema(inline)]
    pub found_by: FoundBy,
    #[schema(min_length = 1, max_length = 20000)]
    pub description: String,
    #[serde(default)]
    pub subject_categories: Vec<String>,
    #[serde(default)]
    pub data_categories: Vec<String>,
    #[serde(default)]
    pub subjects_approx: Option<u64>,
    #[serde(default)]
    pub records_approx: Option<u64>,
    #[serde(default)]
    pub consequences: String,
    #[serde(default)]
    pub measures_taken: String,
    #[serde(default)]
    pub measures_proposed: String,
    #[schema(inline)]
    pub risk: Risk,
    #[schema(min_length = 1, max_length = 20000)]
    pub risk_rationale: String,
    /// The DPO or contact point (default: the tenant's DPO e-mail).
    #[serde(default)]
    pub contact: String,
    /// The Art. 34 decision on telling the subjects, with its rationale.
    #[serde(default)]
    pub subjects_decision: Option<SubjectsDecision>,
    /// Why the authority is (or was) notified after 72 hours.
    #[serde(default)]
    pub late_reason: Option<String>,
    #[serde(default)]
    pub closed: bool,
}

fn details_of(b: BreachIn) -> Result<(Option<i64>, BreachDetails), Problem> {
    Ok((
        b.version,
        BreachDetails {
            kinds: b.kinds,
            occurred_at: opt_at("occurred_at", b.occurred_at.as_deref())?,
            aware_at: at("aware_at", &b.aware_at)?,
            contained_at: opt_at("contained_at", b.contained_at.as_deref())?,
            found_by: b.found_by,
            description: b.description,
            subject_categories: b.subject_categories,
            data_categories: b.data_categories,
            subjects_approx: b.subjects_approx,
            records_approx: b.records_approx,
            consequences: b.consequences,
            measures_taken: b.measures_taken,
            measures_proposed: b.measures_proposed,
            risk: b.risk,
            risk_rationale: b.risk_rationale,
            contact: b.contact,
            subjects_decision: b.subjects_decision,
            late_reason: b.late_reason,
            closed: b.closed,
        },
    ))
}

#[derive(Serialize, ToSchema)]
pub struct ClockOut {
    #[schema(inline)]
    pub audience: Audience,
    /// None: "without undue delay", no hour count (the subjects).
    pub due_at: Option<String>,
    pub notified_at: Option<String>,
    #[schema(inline)]
    pub state: ClockState,
    /// Hours left (negative: overdue), while it runs.
    pub hours_left: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct NotificationOut {
    pub id: String,
    #[schema(inline)]
    pub audience: Audience,
    #[schema(inline)]
    pub phase: Phase,
    pub sent_at: String,
    pub to: String,
    pub channel: String,
    pub summary: String,
    pub late_reason: Option<String>,
    pub recorded_by: String,
    pub recorded_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct BreachOut {
    pub id: String,
    pub version: i64,
    #[schema(inline)]
    pub kinds: Vec<BreachKind>,
    pub occurred_at: Option<String>,
    pub aware_at: String,
    pub contained_at: Option<String>,
    #[schema(inline)]
    pub found_by: FoundBy,
    pub description: String,
    pub subject_categories: Vec<String>,
    pub data_categories: Vec<String>,
    pub subjects_approx: Option<u64>,
    pub records_approx: Option<u64>,
    pub consequences: String,
    pub measures_taken: String,
    pub measures_proposed: String,
    #[schema(inline)]
    pub risk: Risk,
    pub risk_rationale: String,
    /// As recorded, or the tenant's DPO e-mail.
    pub contact: String,
    pub subjects_decision: Option<SubjectsDecision>,
    pub late_reason: Option<String>,
    pub closed: bool,
    /// The processor's contract hours to the controller, as the clocks use them.
    pub controller_hours: u32,
    pub clocks: Vec<ClockOut>,
    pub notifications: Vec<NotificationOut>,
    pub recorded_by: String,
    pub recorded_at: String,
    pub updated_at: String,
}

fn clock_out(c: &Clock, now: i64) -> ClockOut {
    let running = matches!(c.state, ClockState::Running | ClockState::Overdue);
    ClockOut {
        audience: c.audience,
        due_at: c.due_at.map(time),
        notified_at: c.notified_at.map(time),
        state: c.state,
        hours_left: c.due_at.filter(|_| running).map(|d| ((d - now) as f64 / 3_600_000.0 * 10.0).round() / 10.0),
    }
}

pub(crate) fn notification_out(n: NotificationView) -> NotificationOut {
    NotificationOut {
        id: n.row.id.to_string(),
        audience: n.audience,
        phase: n.phase,
        sent_at: time(n.row.sent_at),
        to: n.details.to,
        channel: n.details.channel,
        summary: n.details.summary,
        late_reason: n.details.late_reason,
        recorded_by: n.row.recorded_by,
        recorded_at: time(n.row.recorded_at),
    }
}

pub(crate) fn breach_out(b: BreachView, now: i64) -> BreachOut {
    let d = b.details;
    BreachOut {
        id: b.row.id.to_string(),
        version: b.row.version,
        kinds: d.kinds,
        occurred_at: d.occurred_at.map(time),
        aware_at: time(d.aware_at),
        contained_at: d.contained_at.map(time),
        found_by: d.found_by,
        description: d.description,
        subject_categories: d.subject_categories,
        data_categories: d.data_categories,
        subjects_approx: d.subjects_approx,
        records_approx: d.records_approx,
        consequences: d.consequences,
        measures_taken: d.measures_taken,
        measures_proposed: d.measures_proposed,
        risk: d.risk,
        risk_rationale: d.risk_rationale,
        contact: b.contact,
        subjects_decision: d.subjects_decision,
        late_reason: d.late_reason,
        closed: d.closed,
        controller_hours: b.controller_hours,
        clocks: b.clocks.iter().map(|c| clock_out(c, now)).collect(),
        notifications: b.notifications.into_iter().map(notification_out).collect(),
        recorded_by: b.row.recorded_by,
        recorded_at: time(b.row.recorded_at),
        updated_at: time(b.row.updated_at),
    }
}

/// Records a breach in the register: every breach is documented, notified
/// or not (Art. 33(5)).
#[utoipa::path(post, path = "/v1/tenants/{tenant}/breaches", tag = "breaches", security(("bearer" = [])), request_body = BreachIn,
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 201, body = BreachOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn record(
    State(s): State<AppState>,
    a: Auth,
    Path(tenant): Path<String>,
    Body(b): Body<BreachIn>,
) -> ApiResult<(StatusCode, Json<BreachOut>)> {
    let t = path_id(&tenant, "tenant")?;
    let (version, d) = details_of(b)?;
    if version.is_some() {
        return Err(Problem::invalid("version", "a new breach has no version yet"));
    }
    let v = s.vault.record_breach(&a.actor, t, d).await?;
    Ok((StatusCode::CREATED, Json(breach_out(v, s.vault.clock.now_ms()))))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Only breaches not closed.
    pub open: Option<bool>,
}

/// The breach register, newest awareness first, each with its clocks.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/breaches", tag = "breaches", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ListParams),
    responses((status = 200, body = Vec<BreachOut>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn list(
    State(s): State<AppState>,
    a: Auth,
    Path(tenant): Path<String>,
    Params(p): Params<ListParams>,
) -> ApiResult<Json<Vec<BreachOut>>> {
    let t = path_id(&tenant, "tenant")?;
    let now = s.vault.clock.now_ms();
    let v = s.vault.list_breaches(&a.actor, t, p.open.unwrap_or(false)).await?;
    Ok(Json(v.into_iter().map(|b| breach_out(b, now)).collect()))
}

/// One breach with its clocks and every notification made.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/breaches/{breach}", tag = "breaches", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("breach" = String, Path, description = "Breach id")),
    responses((status = 200, body = BreachOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get(
    State(s): State<AppState>,
    a: Auth,
    Path((tenant, breach)): Path<(String, String)>,
) -> ApiResult<Json<BreachOut>> {
    let (t, id) = (path_id(&tenant, "tenant")?, path_id(&breach, "breach")?);
    Ok(Json(breach_out(s.vault.get_breach(&a.actor, t, id).await?, s.vault.clock.now_ms())))
}

/// Replaces what a breach says, at the version read.
#[utoipa::path(put, path = "/v1/tenants/{tenant}/breaches/{breach}", tag = "breaches", security(("bearer" = [])), request_body = BreachIn,
    params(("tenant" = String, Path, description = "Tenant id"), ("breach" = String, Path, description = "Breach id")),
    responses((status = 200, body = BreachOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update(
    State(s): State<AppState>,
    a: Auth,
    Path((tenant, breach)): Path<(String, String)>,
    Body(b): Body<BreachIn>,
) -> ApiResult<Json<BreachOut>> {
    let (t, id) = (path_id(&tenant, "tenant")?, path_id(&breach, "breach")?);
    let (version, d) = details_of(b)?;
    let version = version.ok_or_else(|| Problem::invalid("version", "must be the version read"))?;
    let v = s.vault.update_breach(&a.actor, t, id, version, d).await?;
    Ok(Json(breach_out(v, s.vault.clock.now_ms())))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotifyIn {
    #[schema(inline)]
    pub audience: Audience,
    #[schema(inline)]
    pub phase: Phase,
    /// When it was sent (default: now).
    #[serde(default)]
    pub sent_at: Option<String>,
    /// Who it went to.
    #[schema(min_length = 1, max_length = 500)]
    pub to: String,
    #[serde(default)]
    pub channel: String,
    #[serde(default)]
    pub summary: String,
    /// After 72 hours to the authority: the reasons for the delay.
    #[serde(default)]
    pub late_reason: Option<String>,
    /// The processor's notice to the controller only: varuh e-mails the
    /// notice in this language (`en` or `sl`) to the tenant's DPO e-mail
    /// and posts it to its webhook, retrying until delivered.
    #[serde(default)]
    #[schema(inline)]
    pub deliver: Option<DeliverIn>,
}

#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum DeliverIn {
    En,
    Sl,
}

/// Records a notification made about a breach (its first, or a later
/// phase, Art. 33(4)).
#[utoipa::path(post, path = "/v1/tenants/{tenant}/breaches/{breach}/notifications", tag = "breaches", security(("bearer" = [])), request_body = NotifyIn,
    params(("tenant" = String, Path, description = "Tenant id"), ("breach" = String, Path, description = "Breach id")),
    responses((status = 201, body = NotificationOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn notify(
    State(s): State<AppState>,
    a: Auth,
    Path((tenant, breach)): Path<(String, String)>,
    Body(b): Body<NotifyIn>,
) -> ApiResult<(StatusCode, Json<NotificationOut>)> {
    let (t, id) = (path_id(&tenant, "tenant")?, path_id(&breach, "breach")?);
    let sent_at = opt_at("sent_at", b.sent_at.as_deref())?;
    let n = NotificationDetails { to: b.to, channel: b.channel, summary: b.summary, late_reason: b.late_reason };
    let deliver = b.deliver.map(|l| match l {
        DeliverIn::En => Lang::En,
        DeliverIn::Sl => Lang::Sl,
    });
    let new = NewNotification { audience: b.audience, phase: b.phase, sent_at, details: n, deliver };
    let v = s.vault.record_breach_notification(&a.actor, t, id, new).await?;
    Ok((StatusCode::CREATED, Json(notification_out(v))))
}

#[derive(Serialize, ToSchema)]
pub struct DueClockOut {
    pub breach_id: String,
    pub aware_at: String,
    #[schema(inline)]
    pub risk: Risk,
    pub clock: ClockOut,
}

pub(crate) fn due_out(c: DueClock, now: i64) -> DueClockOut {
    DueClockOut {
        breach_id: c.breach.to_string(),
        aware_at: time(c.aware_at),
        risk: c.risk,
        clock: clock_out(&c.clock, now),
    }
}

/// The clocks of the open breaches that still want something — running,
/// overdue, or a decision owed — overdue first, then soonest due.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/breach-clocks", tag = "breaches", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = Vec<DueClockOut>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn clocks(
    State(s): State<AppState>,
    a: Auth,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Vec<DueClockOut>>> {
    let t = path_id(&tenant, "tenant")?;
    let now = s.vault.clock.now_ms();
    Ok(Json(s.vault.breach_clocks(&a.actor, t).await?.into_iter().map(|c| due_out(c, now)).collect()))
}

/// The format of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Pdf,
    Text,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NoticeParams {
    #[param(inline)]
    pub audience: Audience,
    /// `en` (default) or `sl`.
    #[param(inline)]
    pub lang: Option<Lang>,
    /// `pdf` (default) or `text` (an e-mail's body).
    #[param(inline)]
    pub format: Option<Format>,
}

/// A breach's notification document as the register has it now: to the
/// supervisory authority (Art. 33(3)), to the controller (the processor's
/// notice), or to the data subjects (Art. 34(2)).
#[utoipa::path(get, path = "/v1/tenants/{tenant}/breaches/{breach}/notice", tag = "breaches", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("breach" = String, Path, description = "Breach id"), NoticeParams),
    responses((status = 200, content_type = "application/pdf", body = String), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn notice(
    State(s): State<AppState>,
    a: Auth,
    Path((tenant, breach)): Path<(String, String)>,
    Params(p): Params<NoticeParams>,
) -> ApiResult<Response> {
    let (t, id) = (path_id(&tenant, "tenant")?, path_id(&breach, "breach")?);
    let lang = p.lang.unwrap_or(Lang::En);
    let doc = s.vault.breach_document(&a.actor, t, id, p.audience, lang).await?;
    let lang_tag = if lang == Lang::Sl { "sl" } else { "en" };
    let (bytes, media, ext) = match p.format.unwrap_or(Format::Pdf) {
        Format::Pdf => (doc.pdf(), "application/pdf", "pdf"),
        Format::Text => (doc.text().into_bytes(), "text/plain; charset=utf-8", "txt"),
    };
    let mut r = (StatusCode::OK, bytes).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    let name = format!("attachment; filename=\"breach-{id}-{}-{lang_tag}.{ext}\"", p.audience.as_str());
    if let Ok(v) = HeaderValue::from_str(&name) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeIn {
    /// The compromised staff account's id (one of account, api_key, source).
    #[serde(default)]
    pub account: Option<String>,
    /// The compromised API key's id.
    #[serde(default)]
    pub api_key: Option<String>,
    /// The attacker's source address (IPv4 or IPv6): in the body, never in a URL.
    #[serde(default)]
    pub source: Option<String>,
    /// The window, RFC 3339 (at most 366 days).
    pub from: String,
    pub to: String,
    /// Write the numbers and categories into this breach, at `version`.
    #[serde(default)]
    pub breach_id: Option<String>,
    #[serde(default)]
    pub version: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct CollectionTouchedOut {
    pub tenant_id: String,
    pub collection: String,
    pub records: u64,
    pub subjects: u64,
    /// Whole-collection exports (every record in it counts).
    pub exports: u64,
    pub fields: Vec<String>,
    pub data_categories: Vec<String>,
    pub subject_categories: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TenantTouchedOut {
    pub tenant_id: String,
    pub name: String,
    /// Where the processor's notice goes (the tenant's DPO e-mail).
    pub dpo_email: Option<String>,
    pub subjects: u64,
    pub records: u64,
}

#[derive(Serialize, ToSchema)]
pub struct ScopeOut {
    pub events_examined: u64,
    /// Successful events about personal data.
    pub events_matched: u64,
    pub subjects: u64,
    /// The first 1,000 subjects touched.
    pub subject_ids: Vec<String>,
    pub records: u64,
    pub collections: Vec<CollectionTouchedOut>,
    pub data_categories: Vec<String>,
    pub subject_categories: Vec<String>,
    /// The tenants touched: the controllers a processor notifies.
    pub tenants: Vec<TenantTouchedOut>,
    pub notes: Vec<String>,
    /// The breach as prefilled, when `breach_id` was given.
    pub breach: Option<BreachOut>,
}

fn scope_query(b: &ScopeIn) -> Result<ScopeQuery, Problem> {
    let id = |f: &'static str, v: &str| v.parse().map_err(|_| Problem::invalid(f, "must be an id"));
    let by = match (&b.account, &b.api_key, &b.source) {
        (Some(a), None, None) => ScopeBy::Account(id("account", a)?),
        (None, Some(k), None) => ScopeBy::ApiKey(id("api_key", k)?),
        (None, None, Some(s)) => ScopeBy::Source(
            s.trim().parse().map_err(|_| Problem::invalid("source", "must be an IPv4 or IPv6 address"))?,
        ),
        _ => return Err(Problem::invalid("account", "give exactly one of account, api_key and source")),
    };
    Ok(ScopeQuery { by, from: at("from", &b.from)?, to: at("to", &b.to)? })
}

fn scope_out(s: Scope, breach: Option<BreachOut>) -> ScopeOut {
    ScopeOut {
        events_examined: s.events_examined,
        events_matched: s.events_matched,
        subjects: s.subjects,
        subject_ids: s.subject_ids.iter().map(|i| i.to_string()).collect(),
        records: s.records,
        collections: s
            .collections
            .into_iter()
            .map(|c| CollectionTouchedOut {
                tenant_id: c.tenant.to_string(),
                collection: c.collection,
                records: c.records,
                subjects: c.subjects,
                exports: c.exports,
                fields: c.fields,
                data_categories: c.data_categories,
                subject_categories: c.subject_categories,
            })
            .collect(),
        data_categories: s.data_categories,
        subject_categories: s.subject_categories,
        tenants: s
            .tenants
            .into_iter()
            .map(|t| TenantTouchedOut {
                tenant_id: t.tenant.to_string(),
                name: t.name,
                dpo_email: t.dpo_email,
                subjects: t.subjects,
                records: t.records,
            })
            .collect(),
        notes: s.notes,
        breach,
    }
}

/// What a compromised account, API key or source address touched in a
/// window, from the tenant's audit trail; optionally written into a breach.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/breach-scope", tag = "breaches", security(("bearer" = [])), request_body = ScopeIn,
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = ScopeOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn scope(
    State(s): State<AppState>,
    a: Auth,
    Path(tenant): Path<String>,
    Body(b): Body<ScopeIn>,
) -> ApiResult<Json<ScopeOut>> {
    let t = path_id(&tenant, "tenant")?;
    let q = scope_query(&b)?;
    let apply = match (&b.breach_id, b.version) {
        (None, None) => None,
        (Some(id), Some(v)) => Some((id.parse().map_err(|_| Problem::invalid("breach_id", "must be a breach id"))?, v)),
        _ => return Err(Problem::invalid("version", "breach_id and version go together")),
    };
    let scope = s.vault.breach_scope(&a.actor, t, q).await?;
    let breach = match apply {
        Some((id, v)) => {
            Some(breach_out(s.vault.prefill_breach(&a.actor, t, id, v, &scope).await?, s.vault.clock.now_ms()))
        }
        None => None,
    };
    Ok(Json(scope_out(scope, breach)))
}

/// The processor's view: a breach's scope across every tenant, with each
/// affected tenant and the DPO its notice goes to.
#[utoipa::path(post, path = "/v1/system/breach-scope", tag = "breaches", security(("bearer" = [])), request_body = ScopeIn,
    responses((status = 200, body = ScopeOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn scope_all(State(s): State<AppState>, a: Auth, Body(b): Body<ScopeIn>) -> ApiResult<Json<ScopeOut>> {
    let q = scope_query(&b)?;
    if b.breach_id.is_some() || b.version.is_some() {
        return Err(Problem::invalid(
            "breach_id",
            "a breach is a tenant's: prefill it through the tenant's breach-scope",
        ));
    }
    Ok(Json(scope_out(s.vault.breach_scope_all(&a.actor, q).await?, None)))
}

//! The registers over the API: processors and sub-processors (REG-2), and
//! the records of processing activities (REG-1) as JSON, HTML, CSV or PDF.

use crate::domain::processor::ProcessorEntry;
use crate::http::extract::{Auth, Body, Params};
use crate::http::problem::ApiResult;
use crate::http::{path_id, time, AppState};
use crate::service::documents::Lang;
use crate::service::processors::{ProcessorRegister, ProcessorView};
use crate::service::ropa::Ropa;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct ProcessorOut {
    pub id: String,
    pub version: i64,
    #[serde(flatten)]
    pub entry: ProcessorEntry,
    /// The collections whose definitions name it.
    pub collections: Vec<String>,
    /// Its `review_due` date has passed.
    pub review_overdue: bool,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct RegisterOut {
    pub processors: Vec<ProcessorOut>,
    /// Processors named by a collection that the register does not hold: gaps.
    pub unregistered: Vec<String>,
}

fn processor_out(p: ProcessorView) -> ProcessorOut {
    ProcessorOut {
        id: p.row.id.to_string(),
        version: p.row.version,
        entry: p.entry,
        collections: p.collections,
        review_overdue: p.review_overdue,
        created_at: time(p.row.created_at),
        updated_at: time(p.row.updated_at),
    }
}

fn register_out(r: ProcessorRegister) -> RegisterOut {
    RegisterOut { processors: r.processors.into_iter().map(processor_out).collect(), unregistered: r.unregistered }
}

/// Adds a processor or sub-processor to the register.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/processors", tag = "registers", security(("bearer" = [])), request_body = ProcessorEntry,
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 201, body = ProcessorOut), (status = 401, body = crate::http::problem::Problem), (status = 403, body = crate::http::problem::Problem), (status = 404, body = crate::http::problem::Problem), (status = 422, body = crate::http::problem::Problem)))]
pub async fn create(
    State(s): State<AppState>,
    a: Auth,
    Path(tenant): Path<String>,
    Body(b): Body<ProcessorEntry>,
) -> ApiResult<(StatusCode, Json<ProcessorOut>)> {
    let t = path_id(&tenant, "tenant")?;
    Ok((StatusCode::CREATED, Json(processor_out(s.vault.create_processor(&a.actor, t, b).await?))))
}

/// The processor register with its gaps.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/processors", tag = "registers", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = RegisterOut), (status = 401, body = crate::http::problem::Problem), (status = 403, body = crate::http::problem::Problem), (status = 404, body = crate::http::problem::Problem)))]
pub async fn list(State(s): State<AppState>, a: Auth, Path(tenant): Path<String>) -> ApiResult<Json<RegisterOut>> {
    let t = path_id(&tenant, "tenant")?;
    Ok(Json(register_out(s.vault.list_processors(&a.actor, t).await?)))
}

#[utoipa::path(get, path = "/v1/tenants/{tenant}/processors/{processor}", tag = "registers", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("processor" = String, Path, description = "Processor id")),
    responses((status = 200, body = ProcessorOut), (status = 401, body = crate::http::problem::Problem), (status = 403, body = crate::http::problem::Problem), (status = 404, body = crate::http::problem::Problem)))]
pub async fn get(
    State(s): State<AppState>,
    a: Auth,
    Path((tenant, processor)): Path<(String, String)>,
) -> ApiResult<Json<ProcessorOut>> {
    let (t, id) = (path_id(&tenant, "tenant")?, path_id(&processor, "processor")?);
    Ok(Json(processor_out(s.vault.get_processor(&a.actor, t, id).await?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessorPut {
    /// The version read (409 if another change came first).
    pub version: i64,
    pub entry: ProcessorEntry,
}

/// Replaces a processor's entry, at the version read.
#[utoipa::path(put, path = "/v1/tenants/{tenant}/processors/{processor}", tag = "registers", security(("bearer" = [])), request_body = ProcessorPut,
    params(("tenant" = String, Path, description = "Tenant id"), ("processor" = String, Path, description = "Processor id")),
    responses((status = 200, body = ProcessorOut), (status = 401, body = crate::http::problem::Problem), (status = 403, body = crate::http::problem::Problem), (status = 404, body = crate::http::problem::Problem), (status = 409, body = crate::http::problem::Problem), (status = 422, body = crate::http::problem::Problem)))]
pub async fn update(
    State(s): State<AppState>,
    a: Auth,
    Path((tenant, processor)): Path<(String, String)>,
    Body(b): Body<ProcessorPut>,
) -> ApiResult<Json<ProcessorOut>> {
    let (t, id) = (path_id(&tenant, "tenant")?, path_id(&processor, "processor")?);
    Ok(Json(processor_out(s.vault.update_processor(&a.actor, t, id, b.version, b.entry).await?)))
}

/// The format of a generated register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RegisterFormat {
    Json,
    Html,
    Csv,
    Pdf,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RopaParams {
    /// `json` (default), `html`, `csv` or `pdf`.
    #[param(inline)]
    pub format: Option<RegisterFormat>,
    /// `en` (default) or `sl`.
    #[param(inline)]
    pub lang: Option<Lang>,
}

/// The records of processing activities (Art. 30(1)), generated now from
/// the collections, the processor register and the settings, with the
/// mandatory information that is missing listed as gaps.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/records-of-processing", tag = "registers", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), RopaParams),
    responses((status = 200, body = Ropa), (status = 401, body = crate::http::problem::Problem), (status = 403, body = crate::http::problem::Problem), (status = 404, body = crate::http::problem::Problem), (status = 422, body = crate::http::problem::Problem)))]
pub async fn records_of_processing(
    State(s): State<AppState>,
    a: Auth,
    Path(tenant): Path<String>,
    Params(p): Params<RopaParams>,
) -> ApiResult<Response> {
    let t = path_id(&tenant, "tenant")?;
    let lang = p.lang.unwrap_or(Lang::En);
    let r = s.vault.records_of_processing(&a.actor, t, lang).await?;
    let tag = if lang == Lang::Sl { "sl" } else { "en" };
    let (bytes, media, ext) = match p.format.unwrap_or(RegisterFormat::Json) {
        RegisterFormat::Json => return Ok(Json(r).into_response()),
        RegisterFormat::Html => (r.html(lang).into_bytes(), "text/html; charset=utf-8", "html"),
        RegisterFormat::Csv => (r.csv(lang), "text/csv; charset=utf-8", "csv"),
        RegisterFormat::Pdf => (r.pdf(lang), "application/pdf", "pdf"),
    };
    let mut resp = (StatusCode::OK, bytes).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"records-of-processing-{tag}.{ext}\"")) {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

//! The registers over the API: processors and sub-processors (REG-2), the
//! records of processing activities (REG-1) as JSON, HTML, CSV or PDF, the
//! staff register (REG-3) and the TOMs statement (REG-4) as JSON, HTML or PDF.

use crate::domain::processor::ProcessorEntry;
use crate::domain::staff_register::{Due, StaffEntry};
use crate::http::attachment;
use crate::http::extract::{Auth, Body, Params};
use crate::http::problem::ApiResult;
use crate::http::{path_id, time, AppState};
use crate::service::documents::Lang;
use crate::service::processors::{ProcessorRegister, ProcessorView};
use crate::service::ropa::{ProcessorRecord, Ropa};
use crate::service::staff_register::{AccountSummary, ChecklistItem, DueLine, PersonView};
use crate::service::toms::Toms;
use axum::extract::{Path, State};
use axum::http::StatusCode;
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

pub(crate) fn processor_out(p: ProcessorView) -> ProcessorOut {
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
    responses((status = 200, description = "The records (JSON), or the document", content((Ropa = "application/json"), (String = "text/html"), (String = "text/csv"), (String = "application/pdf"))), (status = 401, body = crate::http::problem::Problem), (status = 403, body = crate::http::problem::Problem), (status = 404, body = crate::http::problem::Problem), (status = 422, body = crate::http::problem::Problem)))]
pub async fn records_of_processing(
    State(s): State<AppState>,
    a: Auth,
    Path(tenant): Path<String>,
    Params(p): Params<RopaParams>,
) -> ApiResult<Response> {
    let t = path_id(&tenant, "tenant")?;
    let lang = p.lang.unwrap_or(Lang::En);
    let r = s.vault.records_of_processing(&a.actor, t, lang).await?;
    let tag = lang_tag(lang);
    let (bytes, media, ext) = match p.format.unwrap_or(RegisterFormat::Json) {
        RegisterFormat::Json => return Ok(Json(r).into_response()),
        RegisterFormat::Html => (r.html(lang).into_bytes(), "text/html; charset=utf-8", "html"),
        RegisterFormat::Csv => (r.csv(lang), "text/csv; charset=utf-8", "csv"),
        RegisterFormat::Pdf => (r.pdf(lang), "application/pdf", "pdf"),
    };
    Ok(attachment(bytes, media, &format!("records-of-processing-{tag}.{ext}")))
}

fn lang_tag(lang: Lang) -> &'static str {
    if lang == Lang::Sl {
        "sl"
    } else {
        "en"
    }
}

/// One person of the staff register, with their account and what is due.
#[derive(Serialize, ToSchema)]
pub struct PersonOut {
    pub id: String,
    pub version: i64,
    #[serde(flatten)]
    pub entry: StaffEntry,
    /// The person's varuh account, if the entry links one.
    pub linked_account: Option<AccountSummary>,
    /// The offboarding checklist, once the person has a last day or their
    /// account was offboarded.
    pub checklist: Vec<ChecklistItem>,
    /// What is due of them: overdue, due (within the days asked), or scheduled.
    pub dues: Vec<Due>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct StaffRegisterOut {
    pub people: Vec<PersonOut>,
    /// Every overdue and due item, overdue first.
    pub due: Vec<DueLine>,
    /// Accounts of people that no entry covers: gaps.
    pub accounts_not_in_register: Vec<AccountSummary>,
}

pub(crate) fn person_out(p: PersonView) -> PersonOut {
    PersonOut {
        id: p.row.id.to_string(),
        version: p.row.version,
        entry: p.entry,
        linked_account: p.account,
        checklist: p.offboarding,
        dues: p.dues,
        created_at: time(p.row.created_at),
        updated_at: time(p.row.updated_at),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DueParams {
    /// Items due within this many days count as due (default 30, at most 366).
    pub within_days: Option<u32>,
}

fn horizon(p: &DueParams) -> ApiResult<u32> {
    match p.within_days {
        Some(d) if d > 366 => {
            Err(crate::service::ServiceError::Invalid(crate::domain::Invalid::new("within_days", "must be 0-366"))
                .into())
        }
        d => Ok(d.unwrap_or(30)),
    }
}

/// Adds a person to the staff register.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/staff-register", tag = "registers", security(("bearer" = [])), request_body = StaffEntry,
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 201, body = PersonOut), (status = 401, body = crate::http::problem::Problem), (status = 403, body = crate::http::problem::Problem), (status = 404, body = crate::http::problem::Problem), (status = 422, body = crate::http::problem::Problem)))]
pub async fn create_person(
    State(s): State<AppState>,
    a: Auth,
    Path(tenant): Path<String>,
    Body(b): Body<StaffEntry>,
) -> ApiResult<(StatusCode, Json<PersonOut>)> {
    let t = path_id(&tenant, "tenant")?;
    Ok((StatusCode::CREATED, Json(person_out(s.vault.create_staff_entry(&a.actor, t, b, 30).await?))))
}

/// The staff register: each person with what is due, the due and overdue
/// list, and the accounts the register lacks.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/staff-register", tag = "registers", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), DueParams),
    responses((status = 200, body = StaffRegisterOut), (status = 401, body = crate::http::problem::Problem), (status = 403, body = crate::http::problem::Problem), (status = 404, body = crate::http::problem::Problem), (status = 422, body = crate::http::problem::Problem)))]
pub async fn list_people(
    State(s): State<AppState>,
    a: Auth,
    Path(tenant): Path<String>,
    Params(p): Params<DueParams>,
) -> ApiResult<Json<StaffRegisterOut>> {
    let t = path_id(&tenant, "tenant")?;
    let r = s.vault.list_staff_register(&a.actor, t, horizon(&p)?).await?;
    Ok(Json(StaffRegisterOut {
        people: r.people.into_iter().map(person_out).collect(),
        due: r.due,
        accounts_not_in_register: r.accounts_not_in_register,
    }))
}

/// One person's view: entry, account, checklist, dues.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/staff-register/{entry}", tag = "registers", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("entry" = String, Path, description = "Register entry id"), DueParams),
    responses((status = 200, body = PersonOut), (status = 401, body = crate::http::problem::Problem), (status = 403, body = crate::http::problem::Problem), (status = 404, body = crate::http::problem::Problem), (status = 422, body = crate::http::problem::Problem)))]
pub async fn get_person(
    State(s): State<AppState>,
    a: Auth,
    Path((tenant, entry)): Path<(String, String)>,
    Params(p): Params<DueParams>,
) -> ApiResult<Json<PersonOut>> {
    let (t, id) = (path_id(&tenant, "tenant")?, path_id(&entry, "entry")?);
    Ok(Json(person_out(s.vault.get_staff_entry(&a.actor, t, id, horizon(&p)?).await?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonPut {
    /// The version read (409 if another change came first).
    pub version: i64,
    pub entry: StaffEntry,
}

/// Replaces a person's entry (a training done, the statement signed, a last day), at the version read.
#[utoipa::path(put, path = "/v1/tenants/{tenant}/staff-register/{entry}", tag = "registers", security(("bearer" = [])), request_body = PersonPut,
    params(("tenant" = String, Path, description = "Tenant id"), ("entry" = String, Path, description = "Register entry id")),
    responses((status = 200, body = PersonOut), (status = 401, body = crate::http::problem::Problem), (status = 403, body = crate::http::problem::Problem), (status = 404, body = crate::http::problem::Problem), (status = 409, body = crate::http::problem::Problem), (status = 422, body = crate::http::problem::Problem)))]
pub async fn update_person(
    State(s): State<AppState>,
    a: Auth,
    Path((tenant, entry)): Path<(String, String)>,
    Body(b): Body<PersonPut>,
) -> ApiResult<Json<PersonOut>> {
    let (t, id) = (path_id(&tenant, "tenant")?, path_id(&entry, "entry")?);
    Ok(Json(person_out(s.vault.update_staff_entry(&a.actor, t, id, b.version, b.entry, 30).await?)))
}

/// The statement of technical and organisational measures (Art. 32),
/// generated now from the live configuration, each technical measure with
/// its evidence, and what is not in force.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/toms", tag = "registers", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), RopaParams),
    responses((status = 200, description = "The statement (JSON), or the document", content((Toms = "application/json"), (String = "text/html"), (String = "application/pdf"))), (status = 401, body = crate::http::problem::Problem), (status = 403, body = crate::http::problem::Problem), (status = 404, body = crate::http::problem::Problem), (status = 422, body = crate::http::problem::Problem)))]
pub async fn toms(
    State(s): State<AppState>,
    a: Auth,
    Path(tenant): Path<String>,
    Params(p): Params<RopaParams>,
) -> ApiResult<Response> {
    let t = path_id(&tenant, "tenant")?;
    let lang = p.lang.unwrap_or(Lang::En);
    if p.format == Some(RegisterFormat::Csv) {
        return Err(crate::service::ServiceError::Invalid(crate::domain::Invalid::new(
            "format",
            "the TOMs statement is json, html or pdf",
        ))
        .into());
    }
    let r = s.vault.toms(&a.actor, t, lang).await?;
    let tag = lang_tag(lang);
    Ok(match p.format.unwrap_or(RegisterFormat::Json) {
        // CSV was refused above.
        RegisterFormat::Json | RegisterFormat::Csv => Json(r).into_response(),
        RegisterFormat::Html => {
            attachment(r.html(lang).into_bytes(), "text/html; charset=utf-8", &format!("toms-{tag}.html"))
        }
        RegisterFormat::Pdf => attachment(r.pdf(lang), "application/pdf", &format!("toms-{tag}.pdf")),
    })
}

/// The processor's records of processing (Art. 30(2)): one entry per
/// controller tenant, generated now; the processor from `operator_name`
/// and `operator_contact` in the server's configuration.
#[utoipa::path(get, path = "/v1/system/records-of-processing", tag = "registers", security(("bearer" = [])),
    params(RopaParams),
    responses((status = 200, description = "The record (JSON), or the document", content((ProcessorRecord = "application/json"), (String = "text/csv"), (String = "application/pdf"))), (status = 401, body = crate::http::problem::Problem), (status = 403, body = crate::http::problem::Problem), (status = 422, body = crate::http::problem::Problem)))]
pub async fn processor_record(
    State(s): State<AppState>,
    a: Auth,
    Params(p): Params<RopaParams>,
) -> ApiResult<Response> {
    let lang = p.lang.unwrap_or(Lang::En);
    if p.format == Some(RegisterFormat::Html) {
        return Err(crate::service::ServiceError::Invalid(crate::domain::Invalid::new(
            "format",
            "the processor's record is json, csv or pdf",
        ))
        .into());
    }
    let r = s.vault.processor_record(&a.actor, lang).await?;
    let tag = lang_tag(lang);
    Ok(match p.format.unwrap_or(RegisterFormat::Json) {
        // HTML was refused above.
        RegisterFormat::Json | RegisterFormat::Html => Json(r).into_response(),
        RegisterFormat::Csv => {
            attachment(r.csv(lang), "text/csv; charset=utf-8", &format!("processor-record-{tag}.csv"))
        }
        RegisterFormat::Pdf => attachment(r.pdf(lang), "application/pdf", &format!("processor-record-{tag}.pdf")),
    })
}

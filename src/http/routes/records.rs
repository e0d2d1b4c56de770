//! Data subjects and records. Identifier values travel only in request
//! bodies (never in URLs), so access logs cannot capture them.

use crate::http::extract::{Auth, Body, Params};
use crate::http::problem::{ApiResult, Problem};
use crate::http::routes::approvals::{held, ApprovalOut};
use crate::http::{path_id, time, AppState};
use crate::service::records::{Change, RecordView, SubjectInfo, SubjectRef};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubject {
    /// Identifiers by kind: `email`, `phone`, or a name such as `customer_number`.
    pub identifiers: BTreeMap<String, String>,
}

#[derive(Serialize, ToSchema)]
pub struct SubjectOut {
    pub id: String,
    pub created_at: String,
}

pub(crate) fn subject_out(s: &SubjectInfo) -> SubjectOut {
    SubjectOut { id: s.id.to_string(), created_at: time(s.created_at) }
}

/// Finds the subject with these identifiers, or creates one (201 when created).
#[utoipa::path(post, path = "/v1/tenants/{tenant}/subjects", tag = "subjects", security(("bearer" = [])), request_body = NewSubject,
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = SubjectOut), (status = 201, body = SubjectOut), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn find_or_create_subject(
    State(s): State<AppState>,
    a: Auth,
    Path(tenant): Path<String>,
    Body(req): Body<NewSubject>,
) -> ApiResult<(StatusCode, Json<SubjectOut>)> {
    let t = path_id(&tenant, "tenant")?;
    let info = s.vault.find_or_create_subject(&a.actor, t, &req.identifiers).await?;
    let status = if info.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(subject_out(&info))))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Lookup {
    /// `email`, `phone`, or another identifier kind.
    pub kind: String,
    pub value: String,
}

/// Looks a subject up by one identifier, through its blind index.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/subjects/lookup", tag = "subjects", security(("bearer" = [])), request_body = Lookup,
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = SubjectOut), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn lookup_subject(
    State(s): State<AppState>,
    a: Auth,
    Path(tenant): Path<String>,
    Body(req): Body<Lookup>,
) -> ApiResult<Json<SubjectOut>> {
    let t = path_id(&tenant, "tenant")?;
    Ok(Json(subject_out(&s.vault.lookup_subject(&a.actor, t, &req.kind, &req.value).await?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Search {
    /// `email`, `phone`, or another identifier or attribute kind.
    pub kind: String,
    pub value: String,
    /// The last subject id of the previous page.
    #[serde(default)]
    #[schema(pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    pub after: Option<String>,
    /// At most this many subjects (1-100, default 20).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 100)]
    pub limit: Option<usize>,
}

#[derive(Serialize, ToSchema)]
pub struct SearchOut {
    /// The value is an identifier: it names at most one person.
    pub by_identifier: bool,
    pub subjects: Vec<SubjectOut>,
    /// More subjects share the value: ask again with `after`.
    pub more: bool,
}

/// Lists the subjects with an identifier or a searchable attribute (a
/// shared phone or address may name several people; they are never merged).
#[utoipa::path(post, path = "/v1/tenants/{tenant}/subjects/search", tag = "subjects", security(("bearer" = [])), request_body = Search,
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = SearchOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn search_subjects(
    State(s): State<AppState>,
    a: Auth,
    Path(tenant): Path<String>,
    Body(req): Body<Search>,
) -> ApiResult<Json<SearchOut>> {
    let t = path_id(&tenant, "tenant")?;
    let after = req
        .after
        .as_deref()
        .map(|a| a.parse().map_err(|_| Problem::invalid("after", "must be a subject id")))
        .transpose()?;
    let m = s.vault.search_subjects(&a.actor, t, &req.kind, &req.value, after, req.limit.unwrap_or(20)).await?;
    Ok(Json(SearchOut {
        by_identifier: m.by_identifier,
        subjects: m.subjects.iter().map(subject_out).collect(),
        more: m.more,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Merge {
    /// The subject whose records join this one; it is gone afterwards.
    #[schema(pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    pub from: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Split {
    /// Ids of this subject's records that are another person's.
    pub records: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MovedOut {
    /// The subject that now holds the records.
    pub subject: SubjectOut,
    pub records_moved: u64,
}

fn moved_out(m: &crate::service::subject_identity::Moved) -> MovedOut {
    MovedOut { subject: subject_out(&m.subject), records_moved: m.records_moved }
}

/// Merges another subject into this one: the two are one person (a DPO's
/// decision). Its records are sealed again under this subject's key; the
/// other subject and its key are gone.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/subjects/{subject}/merge", tag = "subjects", security(("bearer" = [])), request_body = Merge,
    params(("tenant" = String, Path, description = "Tenant id"), ("subject" = String, Path, description = "Subject id")),
    responses((status = 200, body = MovedOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn merge_subjects(
    State(s): State<AppState>,
    a: Auth,
    Path((tenant, subject)): Path<(String, String)>,
    Body(req): Body<Merge>,
) -> ApiResult<Json<MovedOut>> {
    let (t, sid) = (path_id(&tenant, "tenant")?, path_id(&subject, "subject")?);
    let from = req.from.parse().map_err(|_| Problem::invalid("from", "must be a subject id"))?;
    Ok(Json(moved_out(&s.vault.merge_subjects(&a.actor, t, sid, from).await?)))
}

/// Splits records off this subject into a new subject (they are another
/// person's), sealed again under the new subject's key.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/subjects/{subject}/split", tag = "subjects", security(("bearer" = [])), request_body = Split,
    params(("tenant" = String, Path, description = "Tenant id"), ("subject" = String, Path, description = "Subject id")),
    responses((status = 201, body = MovedOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn split_subject(
    State(s): State<AppState>,
    a: Auth,
    Path((tenant, subject)): Path<(String, String)>,
    Body(req): Body<Split>,
) -> ApiResult<(StatusCode, Json<MovedOut>)> {
    let (t, sid) = (path_id(&tenant, "tenant")?, path_id(&subject, "subject")?);
    let mut ids = Vec::with_capacity(req.records.len());
    for (i, r) in req.records.iter().enumerate() {
        ids.push(r.parse().map_err(|_| Problem::invalid(format!("records[{i}]"), "must be a record id"))?);
    }
    Ok((StatusCode::CREATED, Json(moved_out(&s.vault.split_subject(&a.actor, t, sid, &ids).await?))))
}

/// One subject.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/subjects/{subject}", tag = "subjects", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("subject" = String, Path, description = "Subject id")),
    responses((status = 200, body = SubjectOut), (status = 404, body = Problem)))]
pub async fn get_subject(
    State(s): State<AppState>,
    a: Auth,
    Path((tenant, subject)): Path<(String, String)>,
) -> ApiResult<Json<SubjectOut>> {
    let (t, sid) = (path_id(&tenant, "tenant")?, path_id(&subject, "subject")?);
    Ok(Json(subject_out(&s.vault.get_subject(&a.actor, t, sid).await?)))
}

#[derive(Serialize, ToSchema)]
pub struct Erased {
    pub records_deleted: u64,
    /// Records cut from the subject, keeping only the fields the collection names.
    pub records_anonymised: u64,
    /// Records kept by their collection's rule, with the legal reason.
    pub kept: Vec<KeptOut>,
    /// Nothing of the subject remains: its key is destroyed.
    pub subject_erased: bool,
    /// Recipients queued a notice of the erasure (Art. 19).
    pub recipients_notified: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct KeptOut {
    pub collection: String,
    pub records: u64,
    pub reason: String,
}

pub fn erased_out(e: crate::service::erasure::Erasure) -> Erased {
    Erased {
        records_deleted: e.records_deleted,
        records_anonymised: e.records_anonymised,
        kept: e
            .kept
            .into_iter()
            .map(|k| KeptOut { collection: k.collection, records: k.records, reason: k.reason })
            .collect(),
        subject_erased: e.subject_erased,
        recipients_notified: e.recipients_notified,
    }
}

/// Erases a subject: every record, identifier and the subject's key.
/// `202` with a pending approval if the tenant holds erasures for four-eyes.
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/subjects/{subject}", tag = "subjects", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("subject" = String, Path, description = "Subject id"), EraseParams),
    responses((status = 200, body = Erased), (status = 202, body = ApprovalOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn erase_subject(
    State(s): State<AppState>,
    a: Auth,
    Path((tenant, subject)): Path<(String, String)>,
    Params(q): Params<EraseParams>,
) -> ApiResult<Response> {
    let (t, sid) = (path_id(&tenant, "tenant")?, path_id(&subject, "subject")?);
    let request = request_id(q.request.as_deref())?;
    Ok(held(s.vault.erase_subject(&a.actor, t, sid, request).await?, |e| Json(erased_out(e)).into_response()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportIn {
    /// What the export serves (one of the collection's purposes; also `?purpose=`).
    #[serde(default)]
    pub purpose: Option<String>,
    /// For analysis: each record keeps only what the collection's `analysis`
    /// rule keeps; record and subject ids become pseudonyms, stable per
    /// tenant and purpose (needs `purpose`).
    #[serde(default)]
    pub pseudonymise: bool,
    /// The export goes to this recipient of the register: recorded as a
    /// disclosure of each exported subject.
    #[serde(default)]
    pub recipient: Option<String>,
    /// Deliver it encrypted (an age file of the JSON array).
    #[serde(default)]
    pub protect: Option<crate::http::routes::access_report::ProtectIn>,
}

/// Exports every record of a collection (masked fields masked),
/// optionally pseudonymised for analysis, to a recipient, or encrypted.
/// `202` with a pending approval if the tenant holds bulk exports for
/// four-eyes; the requester then collects it from the approval once it is
/// approved.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/collections/{collection}/export", tag = "records", security(("bearer" = [])), request_body(content = Option<ExportIn>, description = "optional"),
    params(("tenant" = String, Path, description = "Tenant id"), ("collection" = String, Path, description = "Collection name"), ReadPurpose),
    responses((status = 200, body = Vec<RecordOut>), (status = 202, body = ApprovalOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn export_records(
    State(s): State<AppState>,
    a: Auth,
    Path((tenant, collection)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    crate::http::extract::OptBody(b): crate::http::extract::OptBody<ExportIn>,
) -> ApiResult<Response> {
    let t = path_id(&tenant, "tenant")?;
    let b = b.unwrap_or(ExportIn { purpose: None, pseudonymise: false, recipient: None, protect: None });
    let protect = crate::http::routes::access_report::checked_protect(b.protect)?;
    let opts = crate::service::records::ExportOptions {
        purpose: b.purpose.or(purpose(q)?),
        pseudonymise: b.pseudonymise,
        recipient: b.recipient,
        protected: protect.is_some(),
    };
    let out = s.vault.export_records(&a.actor, t, &collection, &opts).await?;
    Ok(match out {
        crate::service::approvals::Held::Done(v) => deliver_records(v, protect)?,
        pending => held(pending, |_| StatusCode::OK.into_response()),
    })
}

/// An export's records as JSON, or that JSON as an age file.
pub fn deliver_records(v: Vec<RecordView>, protect: Option<crate::documents::protect::Protect>) -> ApiResult<Response> {
    let list: Vec<RecordOut> = v.into_iter().map(record_out).collect();
    Ok(match protect {
        None => Json(list).into_response(),
        Some(p) => {
            let json = serde_json::to_vec(&list).unwrap_or_default();
            let sealed = p.seal(&json).map_err(crate::service::ServiceError::Internal)?;
            let mut r = (StatusCode::OK, sealed).into_response();
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
            r
        }
    })
}

#[derive(Serialize, ToSchema)]
pub struct RecordOut {
    pub id: String,
    pub collection: String,
    pub subject_id: String,
    pub data: Map<String, Value>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

pub fn record_out(r: RecordView) -> RecordOut {
    RecordOut {
        id: r.id.to_string(),
        collection: r.collection,
        subject_id: r.subject.to_string(),
        data: r.data,
        version: r.version,
        created_at: time(r.created_at),
        updated_at: time(r.updated_at),
    }
}

fn with_etag(status: StatusCode, r: RecordView) -> Response {
    let etag = HeaderValue::from_str(&format!("\"{}\"", r.version)).ok();
    let mut resp = (status, Json(record_out(r))).into_response();
    if let Some(e) = etag {
        resp.headers_mut().insert(header::ETAG, e);
    }
    resp
}

/// Every record about a subject, across collections.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/subjects/{subject}/records", tag = "subjects", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("subject" = String, Path, description = "Subject id"), ReadPurpose),
    responses((status = 200, body = Vec<RecordOut>), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn subject_records(
    State(s): State<AppState>,
    a: Auth,
    Path((tenant, subject)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Vec<RecordOut>>> {
    let (t, sid) = (path_id(&tenant, "tenant")?, path_id(&subject, "subject")?);
    let purpose = purpose(q)?;
    Ok(Json(s.vault.subject_records(&a.actor, t, sid, purpose.as_deref()).await?.into_iter().map(record_out).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRecord {
    /// The subject; if absent, found or created by the record's identifier fields.
    pub subject_id: Option<String>,
    pub data: Map<String, Value>,
}

/// Stores a record about a data subject.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/collections/{collection}/records", tag = "records", security(("bearer" = [])), request_body = NewRecord,
    params(("tenant" = String, Path, description = "Tenant id"), ("collection" = String, Path, description = "Collection name")),
    responses((status = 201, body = RecordOut), (status = 404, body = Problem), (status = 409, body = Problem), (status = 413, body = Problem),
        (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn create_record(
    State(s): State<AppState>,
    a: Auth,
    Path((tenant, collection)): Path<(String, String)>,
    Body(req): Body<NewRecord>,
) -> ApiResult<Response> {
    let t = path_id(&tenant, "tenant")?;
    let subject = match req.subject_id {
        Some(id) => SubjectRef::Id(id.parse().map_err(|_| Problem::invalid("subject_id", "is not a subject id"))?),
        None => SubjectRef::FromData,
    };
    let r = s.vault.create_record(&a.actor, t, &collection, subject, &req.data).await?;
    Ok(with_etag(StatusCode::CREATED, r))
}

/// Query parameters of a listing (parsed by `page`; described here for OpenAPI).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, reason = "only describes the query for OpenAPI")]
pub struct Page {
    /// The last record id of the previous page.
    #[param(format = "uuid")]
    pub after: Option<String>,
    /// 1-1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// What the read serves: one of the collection's purposes, or
    /// `legal_claims`. Records of subjects whose restriction or objection
    /// blocks it are left out; without it, those of any limited subject.
    pub purpose: Option<String>,
}

/// Query parameters of the anonymised records' listing (described here for OpenAPI).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, reason = "only describes the query for OpenAPI")]
pub struct AnonPage {
    /// The last record id of the previous page.
    #[param(format = "uuid")]
    pub after: Option<String>,
    /// 1-1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// `?purpose=` of a read (described here for OpenAPI).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, reason = "only describes the query for OpenAPI")]
pub struct ReadPurpose {
    /// What the read serves: one of the collection's purposes, or
    /// `legal_claims`. A subject with a restriction or objection is read
    /// only for a purpose it leaves open (else `403 processing-restricted`).
    pub purpose: Option<String>,
}

/// The query parameters a route takes (`allowed`), decoded; any other is an error.
fn query(q: Option<String>, allowed: &[&str]) -> Result<Vec<(String, String)>, Problem> {
    let mut out = Vec::new();
    for (k, v) in form_urlencoded::parse(q.as_deref().unwrap_or("").as_bytes()) {
        if !allowed.contains(&k.as_ref()) {
            return Err(Problem::invalid(
                k.chars().take(32).collect::<String>(),
                "is not a query parameter of this route",
            ));
        }
        out.push((k.into_owned(), v.into_owned()));
    }
    Ok(out)
}

/// A read's `?purpose=`: what the read serves (one of the collection's purposes).
fn purpose(q: Option<String>) -> Result<Option<String>, Problem> {
    Ok(query(q, &["purpose"])?.pop().map(|(_, v)| v))
}

type Listing = (Option<uuid::Uuid>, Option<i64>, Option<String>);

fn page(q: Option<String>) -> Result<Listing, Problem> {
    let (mut after, mut limit, mut purpose) = (None, None, None);
    for (k, v) in query(q, &["after", "limit", "purpose"])? {
        match k.as_str() {
            "after" => after = Some(v.parse().map_err(|_| Problem::invalid("after", "is not a record id"))?),
            "limit" => limit = Some(v.parse().map_err(|_| Problem::invalid("limit", "must be an integer"))?),
            _ => purpose = Some(v),
        }
    }
    Ok((after, limit, purpose))
}

/// Lists a collection's records, in pages (`after` = last id seen).
#[utoipa::path(get, path = "/v1/tenants/{tenant}/collections/{collection}/records", tag = "records", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("collection" = String, Path, description = "Collection name"), Page),
    responses((status = 200, body = Vec<RecordOut>), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn list_records(
    State(s): State<AppState>,
    a: Auth,
    Path((tenant, collection)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Vec<RecordOut>>> {
    let t = path_id(&tenant, "tenant")?;
    let (after, limit, purpose) = page(q)?;
    let list = s.vault.list_records(&a.actor, t, &collection, after, limit, purpose.as_deref()).await?;
    Ok(Json(list.into_iter().map(record_out).collect()))
}

#[derive(Serialize, ToSchema)]
pub struct AnonymisedOut {
    pub id: String,
    /// Only the fields the collection's erasure rule keeps (dates cut as it says).
    pub data: Map<String, Value>,
    pub created_at: String,
    pub anonymised_at: String,
}

/// A page of a collection's anonymised records: what erasures kept for
/// analysis under the collection's `anonymise` rule, cut from any subject.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/collections/{collection}/anonymised", tag = "records", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("collection" = String, Path, description = "Collection name"), AnonPage),
    responses((status = 200, body = Vec<AnonymisedOut>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn anonymised_records(
    State(s): State<AppState>,
    a: Auth,
    Path((tenant, collection)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Vec<AnonymisedOut>>> {
    let t = path_id(&tenant, "tenant")?;
    let (after, limit, purpose) = page(q)?;
    if purpose.is_some() {
        return Err(Problem::invalid("purpose", "is not a query parameter of this route"));
    }
    let v = s.vault.anonymised_records(&a.actor, t, &collection, after, limit.unwrap_or(100)).await?;
    Ok(Json(
        v.into_iter()
            .map(|r| AnonymisedOut {
                id: r.id.to_string(),
                data: r.data,
                created_at: time(r.created_at),
                anonymised_at: time(r.anonymised_at),
            })
            .collect(),
    ))
}

type RecordPath = Path<(String, String, String)>;

fn request_id(v: Option<&str>) -> Result<Option<uuid::Uuid>, Problem> {
    v.map(|r| r.parse().map_err(|_| Problem::invalid("request_id", "must be a request id"))).transpose()
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EraseParams {
    /// The verified request this erasure answers (its history records it).
    pub request: Option<String>,
}

fn ids(p: &(String, String, String)) -> Result<(uuid::Uuid, uuid::Uuid), Problem> {
    Ok((path_id(&p.0, "tenant")?, path_id(&p.2, "record")?))
}

/// One record.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/collections/{collection}/records/{record}", tag = "records", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("collection" = String, Path, description = "Collection name"), ("record" = String, Path, description = "Record id"), ReadPurpose),
    responses((status = 200, body = RecordOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn get_record(
    State(s): State<AppState>,
    a: Auth,
    Path(p): RecordPath,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let (t, r) = ids(&p)?;
    let purpose = purpose(q)?;
    Ok(with_etag(StatusCode::OK, s.vault.get_record(&a.actor, t, &p.1, r, purpose.as_deref()).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordData {
    pub data: Map<String, Value>,
    /// The verified rectification request this change answers (its history records it).
    #[serde(default)]
    #[schema(pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    pub request_id: Option<String>,
}

fn if_match(h: &HeaderMap) -> Result<Option<i64>, Problem> {
    match h.get(header::IF_MATCH) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .ok()
            .map(|s| s.trim().trim_start_matches("W/").trim_matches('"'))
            .and_then(|s| s.parse().ok())
            .map(Some)
            .ok_or_else(|| Problem::invalid("If-Match", "must be a version ETag such as \"3\"")),
    }
}

/// Replaces a record's data (optionally guarded by `If-Match`).
#[utoipa::path(put, path = "/v1/tenants/{tenant}/collections/{collection}/records/{record}", tag = "records", security(("bearer" = [])), request_body = RecordData,
    params(("tenant" = String, Path, description = "Tenant id"), ("collection" = String, Path, description = "Collection name"), ("record" = String, Path, description = "Record id")),
    responses((status = 200, body = RecordOut), (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn replace_record(
    State(s): State<AppState>,
    a: Auth,
    Path(p): RecordPath,
    h: HeaderMap,
    Body(req): Body<RecordData>,
) -> ApiResult<Response> {
    let (t, r) = ids(&p)?;
    let v = s
        .vault
        .update_record(
            &a.actor,
            t,
            &p.1,
            r,
            Change {
                data: &req.data,
                merge: false,
                expected_version: if_match(&h)?,
                request: request_id(req.request_id.as_deref())?,
            },
        )
        .await?;
    Ok(with_etag(StatusCode::OK, v))
}

/// Changes some fields of a record (JSON merge: `null` removes a field).
#[utoipa::path(patch, path = "/v1/tenants/{tenant}/collections/{collection}/records/{record}", tag = "records", security(("bearer" = [])), request_body = RecordData,
    params(("tenant" = String, Path, description = "Tenant id"), ("collection" = String, Path, description = "Collection name"), ("record" = String, Path, description = "Record id")),
    responses((status = 200, body = RecordOut), (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn patch_record(
    State(s): State<AppState>,
    a: Auth,
    Path(p): RecordPath,
    h: HeaderMap,
    Body(req): Body<RecordData>,
) -> ApiResult<Response> {
    let (t, r) = ids(&p)?;
    let v = s
        .vault
        .update_record(
            &a.actor,
            t,
            &p.1,
            r,
            Change {
                data: &req.data,
                merge: true,
                expected_version: if_match(&h)?,
                request: request_id(req.request_id.as_deref())?,
            },
        )
        .await?;
    Ok(with_etag(StatusCode::OK, v))
}

/// Deletes a record.
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/collections/{collection}/records/{record}", tag = "records", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("collection" = String, Path, description = "Collection name"), ("record" = String, Path, description = "Record id")),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_record(State(s): State<AppState>, a: Auth, Path(p): RecordPath) -> ApiResult<StatusCode> {
    let (t, r) = ids(&p)?;
    s.vault.delete_record(&a.actor, t, &p.1, r).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportConsentIn {
    /// The column that says whether the contact consented (yes/no, da/ne, 1/0, x or empty).
    pub column: String,
    /// One of the collection's purposes.
    pub purpose: String,
    /// The version of the purpose's notice the contacts consented to.
    #[schema(minimum = 1)]
    pub notice_version: i64,
    /// How consent was collected (`web form of the customer`, `paper`).
    #[schema(min_length = 1, max_length = 100)]
    pub channel: String,
    /// The column with each row's evidence of consent (kept sealed with the subject's key).
    #[serde(default)]
    pub evidence_column: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportIn {
    /// The file: a header line, then one contact per line.
    #[schema(min_length = 1)]
    pub csv: String,
    /// File column → field of the collection.
    pub columns: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub consent: Option<ImportConsentIn>,
    /// Import the good rows and report the bad ones (default: nothing on any bad row).
    #[serde(default)]
    pub skip_bad_rows: bool,
    /// Only check the file.
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ImportOut {
    pub rows: usize,
    pub imported: usize,
    pub subjects_created: usize,
    pub consents: usize,
    pub skipped: usize,
    /// The rows at fault (skipped): row number from 1, column, rule; never the value.
    pub errors: Vec<crate::http::problem::RowProblem>,
}

/// Imports a CSV contact list into a collection: every row or none (a
/// `422 import-rejected` lists the rows at fault), unless `skip_bad_rows`.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/collections/{collection}/import", tag = "records", security(("bearer" = [])), request_body = ImportIn,
    params(("tenant" = String, Path, description = "Tenant id"), ("collection" = String, Path, description = "Collection name")),
    responses((status = 200, body = ImportOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn import_records(
    State(s): State<AppState>,
    a: Auth,
    Path((tenant, collection)): Path<(String, String)>,
    crate::http::extract::Bulk(b): crate::http::extract::Bulk<ImportIn>,
) -> ApiResult<Json<ImportOut>> {
    let t = path_id(&tenant, "tenant")?;
    let spec = crate::service::import::ImportSpec {
        csv: b.csv,
        columns: b.columns,
        consent: b.consent.map(|c| crate::service::import::ConsentColumn {
            column: c.column,
            evidence_column: c.evidence_column,
            purpose: c.purpose,
            notice_version: c.notice_version,
            channel: c.channel,
        }),
        skip_bad_rows: b.skip_bad_rows,
        dry_run: b.dry_run,
    };
    let r = s.vault.import_records(&a.actor, t, &collection, spec, None).await?;
    Ok(Json(ImportOut {
        rows: r.rows,
        imported: r.imported,
        subjects_created: r.subjects_created,
        consents: r.consents,
        skipped: r.skipped,
        errors: r.errors.iter().take(1000).map(Into::into).collect(),
    }))
}

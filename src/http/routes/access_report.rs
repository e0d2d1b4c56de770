//! The documents of a subject's rights: the access report (Art. 15) as
//! JSON and as a PDF, and the portability archive (Art. 20); the documents
//! optionally encrypted for delivery.

use crate::documents::protect::Protect;
use crate::domain::schema::{LegalBasis, Retention};
use crate::http::extract::{Auth, Body, Params};
use crate::http::problem::{ApiResult, Problem};
use crate::http::routes::records::{record_out, RecordOut};
use crate::http::{path_id, time, AppState};
use crate::service::access_report::AccessReport;
use crate::service::documents::{Delivery, Lang};
use axum::extract::{Path, State};
use axum::response::Response;
use axum::Json;
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

#[derive(Serialize, ToSchema)]
pub struct SectionOut {
    pub collection: String,
    pub description: String,
    pub purposes: Vec<String>,
    pub legal_basis: LegalBasis,
    /// The categories of the data held in this collection (its fields').
    pub data_categories: Vec<String>,
    pub retention: Retention,
    pub recipients: Vec<String>,
    pub processors: Vec<String>,
    pub third_country_transfers: Vec<String>,
    /// Where the data came from.
    pub source: String,
    pub records: Vec<RecordOut>,
}

#[derive(Serialize, ToSchema)]
pub struct AccessReportOut {
    pub subject_id: String,
    pub subject_since: String,
    pub generated_at: String,
    pub collections: Vec<SectionOut>,
    pub rights: Vec<String>,
    pub complaint: String,
    /// Every disclosure of the subject's data to a recipient.
    pub disclosures: Vec<ReportDisclosure>,
    /// Consent given and withdrawn, oldest first.
    pub consents: Vec<ReportConsent>,
    /// Restrictions and objections in force.
    pub limits: Vec<ReportLimit>,
}

#[derive(Serialize, ToSchema)]
pub struct ReportDisclosure {
    pub recipient: String,
    pub collection: String,
    pub fields: Vec<String>,
    pub purpose: String,
    pub basis: String,
    pub disclosed_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct ReportConsent {
    pub purpose: String,
    pub given: bool,
    pub notice_version: Option<i64>,
    pub channel: String,
    pub at: String,
    pub expires_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ReportLimit {
    /// `restriction` or `objection`.
    pub kind: String,
    pub purposes: Vec<String>,
    pub direct_marketing: bool,
    pub since: String,
}

fn report_out(r: AccessReport) -> AccessReportOut {
    AccessReportOut {
        subject_id: r.subject.id.to_string(),
        subject_since: time(r.subject.created_at),
        generated_at: time(r.generated_at),
        collections: r
            .sections
            .into_iter()
            .map(|s| {
                let mut cats: Vec<String> = s.def.fields.iter().map(|f| f.category.clone()).collect();
                cats.sort();
                cats.dedup();
                SectionOut {
                    collection: s.def.name.clone(),
                    description: s.def.description.clone(),
                    purposes: s.def.purposes.clone(),
                    legal_basis: s.def.legal_basis,
                    data_categories: cats,
                    retention: s.def.retention.clone(),
                    recipients: s.def.recipients.clone(),
                    processors: s.def.processors.clone(),
                    third_country_transfers: s.def.third_country_transfers.clone(),
                    source: s.def.source.clone(),
                    records: s.records.into_iter().map(record_out).collect(),
                }
            })
            .collect(),
        rights: r.rights.into_iter().map(|(en, _)| en.to_string()).collect(),
        complaint: r.complaint,
        disclosures: r
            .disclosures
            .into_iter()
            .map(|(d, collection)| ReportDisclosure {
                recipient: d.recipient,
                collection,
                fields: serde_json::from_str(&d.fields).unwrap_or_default(),
                purpose: d.purpose,
                basis: d.basis,
                disclosed_at: time(d.disclosed_at),
            })
            .collect(),
        consents: r
            .consents
            .into_iter()
            .map(|c| ReportConsent {
                purpose: c.purpose,
                given: c.given,
                notice_version: c.notice_version,
                channel: c.channel,
                at: time(c.recorded_at),
                expires_at: c.expires_at.map(time),
            })
            .collect(),
        limits: r
            .limits
            .into_iter()
            .map(|l| ReportLimit {
                kind: l.kind,
                purposes: serde_json::from_str(&l.purposes).unwrap_or_default(),
                direct_marketing: l.direct_marketing,
                since: time(l.set_at),
            })
            .collect(),
    }
}

/// Everything about a subject across all collections, with why, on what
/// basis, how long, to whom, from where, and the subject's rights (Art. 15).
#[utoipa::path(get, path = "/v1/tenants/{tenant}/subjects/{subject}/access-report", tag = "subjects", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("subject" = String, Path, description = "Subject id"), ReportParams),
    responses((status = 200, body = AccessReportOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn access_report(
    State(s): State<AppState>,
    a: Auth,
    Path((tenant, subject)): Path<(String, String)>,
    Params(p): Params<ReportParams>,
) -> ApiResult<Json<AccessReportOut>> {
    let (t, sid) = (path_id(&tenant, "tenant")?, path_id(&subject, "subject")?);
    let request = p
        .request
        .as_deref()
        .map(|r| r.parse().map_err(|_| Problem::invalid("request", "must be a request id")))
        .transpose()?;
    Ok(Json(report_out(s.vault.access_report(&a.actor, t, sid, request, "json").await?)))
}

#[derive(serde::Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    /// The verified, open request of this subject the report answers; its history records it.
    pub request: Option<String>,
}

#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProtectIn {
    /// Encrypt to this age X25519 recipient (`age1…`).
    #[serde(default)]
    #[schema(pattern = "^age1")]
    pub age_recipient: Option<String>,
    /// Or encrypt with this passphrase (at least 12 characters; tell it by another channel).
    #[serde(default)]
    #[schema(min_length = 12)]
    pub passphrase: Option<String>,
}

#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentIn {
    /// The verified, open request of this subject the document answers; its history records it.
    #[serde(default)]
    #[schema(pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    pub request_id: Option<String>,
    /// `en` (default) or `sl`.
    #[serde(default)]
    pub lang: Option<Lang>,
    /// Deliver it encrypted (the age format), to a recipient key or with a passphrase.
    #[serde(default)]
    pub protect: Option<ProtectIn>,
}

/// The protection asked for: one of a recipient key and a passphrase.
pub fn protect_of(p: Option<ProtectIn>) -> Result<Option<Protect>, Problem> {
    Ok(match p {
        None => None,
        Some(ProtectIn { age_recipient: Some(r), passphrase: None }) => Some(Protect::Recipient(r)),
        Some(ProtectIn { age_recipient: None, passphrase: Some(p) }) => Some(Protect::Passphrase(p)),
        Some(_) => return Err(Problem::invalid("protect", "give one of age_recipient and passphrase")),
    })
}

/// `protect_of`, with the recipient or passphrase checked.
pub fn checked_protect(p: Option<ProtectIn>) -> Result<Option<Protect>, Problem> {
    let protect = protect_of(p)?;
    if let Some(p) = &protect {
        p.check("protect").map_err(|e| Problem::invalid(e.field, e.message))?;
    }
    Ok(protect)
}

fn document_args(b: DocumentIn) -> Result<(Option<uuid::Uuid>, Lang, Option<Protect>), Problem> {
    let request = b
        .request_id
        .map(|r| r.parse().map_err(|_| Problem::invalid("request_id", "must be a request id")))
        .transpose()?;
    Ok((request, b.lang.unwrap_or(Lang::En), protect_of(b.protect)?))
}

fn download(d: Delivery) -> Response {
    crate::http::attachment(d.bytes, d.media_type, &d.file_name)
}

/// The access report as a PDF a person can read (English or Slovenian),
/// optionally encrypted for delivery (`application/octet-stream`, an age file).
#[utoipa::path(post, path = "/v1/tenants/{tenant}/subjects/{subject}/access-report.pdf", tag = "subjects", security(("bearer" = [])), request_body = DocumentIn,
    params(("tenant" = String, Path, description = "Tenant id"), ("subject" = String, Path, description = "Subject id")),
    responses((status = 200, content_type = "application/pdf", body = String), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn access_report_pdf(
    State(s): State<AppState>,
    a: Auth,
    Path((tenant, subject)): Path<(String, String)>,
    Body(b): Body<DocumentIn>,
) -> ApiResult<Response> {
    let (t, sid) = (path_id(&tenant, "tenant")?, path_id(&subject, "subject")?);
    let (request, lang, protect) = document_args(b)?;
    Ok(download(s.vault.access_report_pdf(&a.actor, t, sid, request, lang, protect).await?))
}

/// The portability archive (Art. 20): the data the subject provided, as
/// `data.json` and one CSV per collection in a zip; optionally encrypted.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/subjects/{subject}/portability", tag = "subjects", security(("bearer" = [])), request_body = DocumentIn,
    params(("tenant" = String, Path, description = "Tenant id"), ("subject" = String, Path, description = "Subject id")),
    responses((status = 200, content_type = "application/zip", body = String), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn portability(
    State(s): State<AppState>,
    a: Auth,
    Path((tenant, subject)): Path<(String, String)>,
    Body(b): Body<DocumentIn>,
) -> ApiResult<Response> {
    let (t, sid) = (path_id(&tenant, "tenant")?, path_id(&subject, "subject")?);
    let (request, _, protect) = document_args(b)?;
    Ok(download(s.vault.portability(&a.actor, t, sid, request, protect).await?))
}

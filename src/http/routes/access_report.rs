//! The access report of a subject (Art. 15), as JSON.

use crate::domain::schema::{LegalBasis, Retention};
use crate::http::extract::{Auth, Params};
use crate::http::problem::{ApiResult, Problem};
use crate::http::routes::records::{record_out, RecordOut};
use crate::http::{path_id, time, AppState};
use crate::service::access_report::AccessReport;
use axum::extract::{Path, State};
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
        rights: r.rights.into_iter().map(str::to_string).collect(),
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
    Ok(Json(report_out(s.vault.access_report(&a.actor, t, sid, request).await?)))
}

#[derive(serde::Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    /// The verified, open request of this subject the report answers; its history records it.
    pub request: Option<String>,
}

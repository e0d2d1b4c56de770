//! The subject's rights beyond the register: restriction and objection
//! (limits on a subject's processing), consent notices and events, and
//! "may I?" for one subject or a mailing list; recipients, disclosures and
//! the Art. 19 notices owed.

use super::records::{erased_out, Erased};
use crate::domain::limits::LimitKind;
use crate::domain::schema::LegalBasis;
use crate::http::extract::{Auth, Body, Bulk, Params};
use crate::http::problem::{ApiResult, Problem};
use crate::http::{path_id, time, AppState};
use crate::service::consent::{Answer, ConsentView, NewConsent};
use crate::service::disclosures::{Contact, NewDisclosure, RecipientView};
use crate::service::limits::NewLimit;
use crate::store::queries::{ConsentNoticeRow, LimitRow};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

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

// ---- consent -------------------------------------------------------------------

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoticeIn {
    /// A purpose of the tenant's collections.
    #[schema(min_length = 1, max_length = 200)]
    pub purpose: String,
    /// The exact text shown to the subject when asking for consent (at most 20,000 bytes).
    #[schema(min_length = 1, max_length = 20000)]
    pub text: String,
}

#[derive(Serialize, ToSchema)]
pub struct NoticeOut {
    pub purpose: String,
    /// 1, 2, … per purpose.
    pub version: i64,
    /// SHA-256 of the text, hex: what consent events reference.
    pub sha256: String,
    pub text: String,
    pub created_by: String,
    pub created_at: String,
}

pub(crate) fn notice_out(n: ConsentNoticeRow) -> NoticeOut {
    NoticeOut {
        purpose: n.purpose,
        version: n.version,
        sha256: hex(&n.hash),
        text: n.text,
        created_by: n.created_by,
        created_at: time(n.created_at),
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Stores the next version of a purpose's consent notice.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/consent-notices", tag = "consent", security(("bearer" = [])), request_body = NoticeIn,
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 201, body = NoticeOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn create_notice(
    State(s): State<AppState>,
    a: Auth,
    Path(tenant): Path<String>,
    Body(b): Body<NoticeIn>,
) -> ApiResult<(StatusCode, Json<NoticeOut>)> {
    let t = path_id(&tenant, "tenant")?;
    Ok((StatusCode::CREATED, Json(notice_out(s.vault.create_notice(&a.actor, t, &b.purpose, &b.text).await?))))
}

/// Every consent notice, by purpose and version.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/consent-notices", tag = "consent", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = Vec<NoticeOut>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn list_notices(
    State(s): State<AppState>,
    a: Auth,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Vec<NoticeOut>>> {
    let t = path_id(&tenant, "tenant")?;
    Ok(Json(s.vault.list_notices(&a.actor, t).await?.into_iter().map(notice_out).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentIn {
    #[schema(min_length = 1, max_length = 200)]
    pub purpose: String,
    /// `true`: given; `false`: withdrawn.
    pub given: bool,
    /// The version of the purpose's notice shown (required when given).
    #[serde(default)]
    #[schema(minimum = 1)]
    pub notice_version: Option<i64>,
    /// `web form`, `double opt-in`, `paper`, `phone` …
    #[schema(min_length = 1, max_length = 100)]
    pub channel: String,
    /// E.g. the double opt-in confirmation; kept sealed with the subject's key.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 2000)]
    pub evidence: Option<String>,
    /// When the consent lapses (RFC 3339), if it does.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ConsentOut {
    pub id: String,
    pub subject_id: String,
    pub purpose: String,
    pub given: bool,
    pub notice_version: Option<i64>,
    /// SHA-256 of the notice shown, hex.
    pub notice_sha256: Option<String>,
    pub channel: String,
    pub evidence: Option<String>,
    pub expires_at: Option<String>,
    pub recorded_by: String,
    pub recorded_at: String,
}

pub(crate) fn consent_out(v: ConsentView) -> ConsentOut {
    let r = v.row;
    ConsentOut {
        id: r.id.to_string(),
        subject_id: r.subject_id.to_string(),
        purpose: r.purpose,
        given: r.given,
        notice_version: r.notice_version,
        notice_sha256: v.notice_hash.as_deref().map(hex),
        channel: r.channel,
        evidence: v.evidence,
        expires_at: r.expires_at.map(time),
        recorded_by: r.recorded_by,
        recorded_at: time(r.recorded_at),
    }
}

#[derive(Serialize, ToSchema)]
pub struct ConsentRecorded {
    pub consent: ConsentOut,
    /// A withdrawal erased the records no other basis or consent keeps.
    pub erasure: Option<Erased>,
}

/// Records consent given or withdrawn (append-only). A withdrawal runs the
/// erasure rule of each consent-based collection nothing else keeps.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/subjects/{subject}/consents", tag = "consent", security(("bearer" = [])), request_body = ConsentIn,
    params(("tenant" = String, Path, description = "Tenant id"), ("subject" = String, Path, description = "Subject id")),
    responses((status = 201, body = ConsentRecorded), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn record_consent(
    State(s): State<AppState>,
    a: Auth,
    Path((tenant, subject)): Path<(String, String)>,
    Body(b): Body<ConsentIn>,
) -> ApiResult<(StatusCode, Json<ConsentRecorded>)> {
    let (t, sid) = (path_id(&tenant, "tenant")?, path_id(&subject, "subject")?);
    let expires_at = b
        .expires_at
        .map(|e| {
            crate::clock::parse_rfc3339(&e).ok_or_else(|| Problem::invalid("expires_at", "is not an RFC 3339 time"))
        })
        .transpose()?;
    let new = NewConsent {
        purpose: b.purpose,
        given: b.given,
        notice_version: b.notice_version,
        channel: b.channel,
        evidence: b.evidence,
        expires_at,
    };
    let r = s.vault.record_consent(&a.actor, t, sid, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(ConsentRecorded { consent: consent_out(r.consent), erasure: r.erasure.map(erased_out) }),
    ))
}

/// A subject's consent events, oldest first, with their evidence.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/subjects/{subject}/consents", tag = "consent", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("subject" = String, Path, description = "Subject id")),
    responses((status = 200, body = Vec<ConsentOut>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn consent_history(
    State(s): State<AppState>,
    a: Auth,
    Path((tenant, subject)): Path<(String, String)>,
) -> ApiResult<Json<Vec<ConsentOut>>> {
    let (t, sid) = (path_id(&tenant, "tenant")?, path_id(&subject, "subject")?);
    Ok(Json(s.vault.consent_history(&a.actor, t, sid).await?.into_iter().map(consent_out).collect()))
}

#[derive(Serialize, ToSchema)]
pub struct AnswerOut {
    /// The subject the answer is about (`null`: no subject has the address).
    pub subject_id: Option<String>,
    pub allowed: bool,
    /// The legal basis it is allowed on.
    pub basis: Option<LegalBasis>,
    /// Why not.
    pub reason: Option<String>,
    /// The consent event the answer rests on (or the last one), as evidence.
    pub consent_id: Option<String>,
    pub notice_version: Option<i64>,
    pub consent_recorded_at: Option<String>,
    pub consent_expires_at: Option<String>,
}

fn answer_out(a: Answer) -> AnswerOut {
    AnswerOut {
        subject_id: a.subject.map(|s| s.to_string()),
        allowed: a.allowed,
        basis: a.basis,
        reason: a.reason,
        consent_id: a.consent.as_ref().map(|c| c.id.to_string()),
        notice_version: a.consent.as_ref().and_then(|c| c.notice_version),
        consent_recorded_at: a.consent.as_ref().map(|c| time(c.recorded_at)),
        consent_expires_at: a.consent.as_ref().and_then(|c| c.expires_at).map(time),
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MayParams {
    /// The purpose to apply.
    pub purpose: String,
}

/// May the purpose be applied to the subject now? Consent (none recorded
/// means no, for a consent-based purpose), legal basis, restriction and
/// objection; with the basis and evidence, or the reason.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/subjects/{subject}/may", tag = "consent", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("subject" = String, Path, description = "Subject id"), MayParams),
    responses((status = 200, body = AnswerOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn may_i(
    State(s): State<AppState>,
    a: Auth,
    Path((tenant, subject)): Path<(String, String)>,
    Params(p): Params<MayParams>,
) -> ApiResult<Json<AnswerOut>> {
    let (t, sid) = (path_id(&tenant, "tenant")?, path_id(&subject, "subject")?);
    Ok(Json(answer_out(s.vault.may_i(&a.actor, t, sid, &p.purpose).await?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkMayIn {
    #[schema(min_length = 1, max_length = 200)]
    pub purpose: String,
    /// The mailing list: 1-100,000 e-mail addresses.
    #[schema(min_items = 1, max_items = 100000)]
    pub emails: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct BulkMayOut {
    pub purpose: String,
    pub checked: usize,
    pub allowed: usize,
    /// One answer per address, in the order given.
    pub results: Vec<AnswerOut>,
}

/// "May I?" for a mailing list (a newsletter send): one answer per address.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/may", tag = "consent", security(("bearer" = [])), request_body = BulkMayIn,
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = BulkMayOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn may_i_bulk(
    State(s): State<AppState>,
    a: Auth,
    Path(tenant): Path<String>,
    Bulk(b): Bulk<BulkMayIn>,
) -> ApiResult<Json<BulkMayOut>> {
    let t = path_id(&tenant, "tenant")?;
    let v = s.vault.may_i_bulk(&a.actor, t, &b.purpose, &b.emails).await?;
    let allowed = v.iter().filter(|a| a.allowed).count();
    Ok(Json(BulkMayOut {
        purpose: b.purpose,
        checked: v.len(),
        allowed,
        results: v.into_iter().map(answer_out).collect(),
    }))
}

// ---- recipients and disclosures --------------------------------------------------

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecipientIn {
    /// A short name (`courier`, `mailerlite`): what disclosures name.
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
    /// Who the recipient is and what it receives.
    #[schema(min_length = 1, max_length = 2000)]
    pub description: String,
    /// Where Art. 19 notices are e-mailed.
    #[serde(default)]
    #[schema(format = Email)]
    pub email: Option<String>,
    /// Where Art. 19 notices are POSTed (JSON).
    #[serde(default)]
    #[schema(pattern = "^https?://")]
    pub webhook: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RecipientOut {
    pub name: String,
    pub description: String,
    pub email: Option<String>,
    pub webhook: Option<String>,
    pub created_at: String,
}

pub(crate) fn recipient_out(r: RecipientView) -> RecipientOut {
    RecipientOut {
        name: r.name,
        description: r.description,
        email: r.contact.email,
        webhook: r.contact.webhook,
        created_at: time(r.created_at),
    }
}

/// Adds a recipient to the tenant's register.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/recipients", tag = "disclosures", security(("bearer" = [])), request_body = RecipientIn,
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 201, body = RecipientOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_recipient(
    State(s): State<AppState>,
    a: Auth,
    Path(tenant): Path<String>,
    Body(b): Body<RecipientIn>,
) -> ApiResult<(StatusCode, Json<RecipientOut>)> {
    let t = path_id(&tenant, "tenant")?;
    let contact = Contact { email: b.email, webhook: b.webhook };
    let r = s.vault.create_recipient(&a.actor, t, &b.name, &b.description, contact).await?;
    Ok((StatusCode::CREATED, Json(recipient_out(r))))
}

/// The tenant's recipients.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/recipients", tag = "disclosures", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = Vec<RecipientOut>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn list_recipients(
    State(s): State<AppState>,
    a: Auth,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Vec<RecipientOut>>> {
    let t = path_id(&tenant, "tenant")?;
    Ok(Json(s.vault.list_recipients(&a.actor, t).await?.into_iter().map(recipient_out).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisclosureIn {
    /// A recipient of the register.
    #[schema(min_length = 1, max_length = 64)]
    pub recipient: String,
    #[schema(min_length = 1, max_length = 64)]
    pub collection: String,
    /// The fields disclosed.
    #[schema(min_items = 1)]
    pub fields: Vec<String>,
    /// One of the collection's purposes.
    #[schema(min_length = 1, max_length = 200)]
    pub purpose: String,
    /// Default: the collection's legal basis.
    #[serde(default)]
    pub basis: Option<LegalBasis>,
    /// The subjects whose data was disclosed (1-10,000).
    #[schema(min_items = 1, max_items = 10000)]
    pub subject_ids: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DisclosureRecorded {
    pub recorded: usize,
}

/// Records a disclosure of subjects' data to a recipient (DISC-1).
#[utoipa::path(post, path = "/v1/tenants/{tenant}/disclosures", tag = "disclosures", security(("bearer" = [])), request_body = DisclosureIn,
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 201, body = DisclosureRecorded), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn record_disclosure(
    State(s): State<AppState>,
    a: Auth,
    Path(tenant): Path<String>,
    Bulk(b): Bulk<DisclosureIn>,
) -> ApiResult<(StatusCode, Json<DisclosureRecorded>)> {
    let t = path_id(&tenant, "tenant")?;
    let subjects = b
        .subject_ids
        .iter()
        .enumerate()
        .map(|(i, s)| s.parse().map_err(|_| Problem::invalid(format!("subject_ids[{i}]"), "is not a subject id")))
        .collect::<Result<Vec<uuid::Uuid>, Problem>>()?;
    let new = NewDisclosure {
        recipient: b.recipient,
        collection: b.collection,
        fields: b.fields,
        purpose: b.purpose,
        basis: b.basis,
        subjects,
    };
    let n = s.vault.record_disclosure(&a.actor, t, new).await?;
    Ok((StatusCode::CREATED, Json(DisclosureRecorded { recorded: n })))
}

#[derive(Serialize, ToSchema)]
pub struct DisclosureOut {
    pub id: String,
    pub recipient: String,
    pub collection: String,
    pub fields: Vec<String>,
    pub purpose: String,
    pub basis: String,
    pub disclosed_at: String,
    pub recorded_by: String,
}

#[derive(Serialize, ToSchema)]
pub struct NoticeSent {
    pub id: String,
    pub recipient: String,
    /// `rectification`, `erasure` or `restriction`.
    pub event: String,
    pub created_at: String,
    pub webhook_at: Option<String>,
    pub email_at: Option<String>,
    /// `sent`, `pending`, or `failed` (given up after its tries).
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SubjectDisclosuresOut {
    pub disclosures: Vec<DisclosureOut>,
    /// Who has received the subject's data (what the subject can be told).
    pub recipients: Vec<String>,
    /// The Art. 19 notices owed to them, and when each was sent.
    pub notices: Vec<NoticeSent>,
}

/// A subject's disclosures, its recipients and the Art. 19 notices owed.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/subjects/{subject}/disclosures", tag = "disclosures", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("subject" = String, Path, description = "Subject id")),
    responses((status = 200, body = SubjectDisclosuresOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn subject_disclosures(
    State(s): State<AppState>,
    a: Auth,
    Path((tenant, subject)): Path<(String, String)>,
) -> ApiResult<Json<SubjectDisclosuresOut>> {
    let (t, sid) = (path_id(&tenant, "tenant")?, path_id(&subject, "subject")?);
    let v = s.vault.subject_disclosures(&a.actor, t, sid).await?;
    let mut recipients: Vec<String> = v.disclosures.iter().map(|(d, _)| d.recipient.clone()).collect();
    recipients.sort();
    recipients.dedup();
    Ok(Json(SubjectDisclosuresOut {
        disclosures: v
            .disclosures
            .into_iter()
            .map(|(d, collection)| DisclosureOut {
                id: d.id.to_string(),
                recipient: d.recipient,
                collection,
                fields: serde_json::from_str(&d.fields).unwrap_or_default(),
                purpose: d.purpose,
                basis: d.basis,
                disclosed_at: time(d.disclosed_at),
                recorded_by: d.recorded_by,
            })
            .collect(),
        recipients,
        notices: v
            .notices
            .into_iter()
            .map(|n| NoticeSent {
                id: n.id.to_string(),
                recipient: n.recipient,
                event: n.event,
                created_at: time(n.created_at),
                webhook_at: n.webhook_at.map(time),
                email_at: n.email_at.map(time),
                state: match (n.done, n.last_error.is_some()) {
                    (true, false) => "sent",
                    (true, true) => "failed",
                    _ => "pending",
                }
                .into(),
                attempts: n.attempts,
                last_error: n.last_error,
            })
            .collect(),
    }))
}

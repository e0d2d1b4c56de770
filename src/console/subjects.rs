//! Data subjects in the console: find one by an identifier (the value goes
//! in the POST body only and is never echoed into a URL), view the
//! subject's records (the read is audited like the API's, masked fields
//! stay masked), consents, disclosures and who has read the subject's
//! data (the audit trail), and erase by each collection's rule, shown
//! before the button — four-eyes holds it if the tenant's policy says so.

use super::i18n::Tr;
use super::shell::{see_other, val, OrPage, Page, Posted, Staff};
use crate::domain::access::Action;
use crate::domain::schema::ErasureRule;
use crate::service::approvals::Held;
use crate::service::ServiceError;
use crate::store::queries::AuditFilter;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use minijinja::{context, Value};
use serde::Deserialize;

pub async fn find_form(st: Staff, Path(tenant): Path<String>) -> Page {
    let t = st.tenant(&tenant)?;
    st.state.vault.get_tenant(&st.actor, t).await.or_page(&st)?;
    Ok(st.render("subjects.html", Tr(st.lang).get("find_subject"), context! { t => t.to_string() }))
}

#[derive(Deserialize)]
pub struct Find {
    kind: String,
    value: String,
}

/// Finds subjects by the value's blind index: an identifier names one
/// person (its page follows at once); a searchable attribute (a shared
/// phone) may name several, listed by id. The value is never echoed.
pub async fn find(Path(tenant): Path<String>, p: Posted<Find>) -> Page {
    let (st, f) = (p.staff, p.form);
    let t = st.tenant(&tenant)?;
    let tr = Tr(st.lang);
    let again = |message: String, status: StatusCode| {
        let mut r = st.render(
            "subjects.html",
            tr.get("find_subject"),
            context! { t => t.to_string(), message, kind => f.kind.clone() },
        );
        *r.status_mut() = status;
        r
    };
    let limit = crate::service::records::MAX_SEARCH;
    match st.state.vault.search_subjects(&st.actor, t, f.kind.trim(), &f.value, None, limit).await {
        Ok(m) if m.subjects.is_empty() => Ok(again(tr.get("no_subject").into(), StatusCode::NOT_FOUND)),
        Ok(m) if m.by_identifier && m.subjects.len() == 1 => {
            Ok(see_other(&format!("/console/t/{t}/subjects/{}", m.subjects[0].id)))
        }
        Ok(m) => {
            let found: Vec<Value> =
                m.subjects.iter().map(|s| context! { id => s.id.to_string(), created_at => s.created_at }).collect();
            Ok(st.render(
                "subjects.html",
                tr.get("find_subject"),
                context! { t => t.to_string(), kind => f.kind, found, more => m.more },
            ))
        }
        Err(ServiceError::NotFound(_)) => Ok(again(tr.get("no_subject").into(), StatusCode::NOT_FOUND)),
        Err(ServiceError::Invalid(i)) => Ok(again(i.to_string(), StatusCode::UNPROCESSABLE_ENTITY)),
        Err(e) => Err(st.error(e)),
    }
}

fn erasure_rule(r: &ErasureRule) -> Value {
    match r {
        ErasureRule::Delete => context! { rule => "delete" },
        ErasureRule::Anonymise { keep, .. } => context! { rule => "anonymise", keep => keep.join(", ") },
        ErasureRule::Refuse { reason } => context! { rule => "refuse", reason => reason.clone() },
    }
}

/// The subject's page. The records are read as `GET …/subjects/{s}/records`
/// reads them (audited, masks applied, a restriction honoured).
#[derive(Deserialize, Default)]
pub struct Under {
    /// The data-subject request the page acts under (its id).
    #[serde(default)]
    request: String,
}

pub async fn view(st: Staff, Path((tenant, subject)): Path<(String, String)>, Query(q): Query<Under>) -> Page {
    let (t, sid) = (st.tenant(&tenant)?, st.id(&subject, "subject")?);
    let request = under(&st, &q.request)?;
    subject_page(&st, t, sid, request).await
}

fn under(st: &Staff, r: &str) -> Result<Option<uuid::Uuid>, axum::response::Response> {
    match r.trim() {
        "" => Ok(None),
        r => st.id(r, "request").map(Some),
    }
}

async fn subject_page(st: &Staff, t: uuid::Uuid, sid: uuid::Uuid, request: Option<uuid::Uuid>) -> Page {
    let v = st.state.vault.clone();
    let a = &st.actor;
    let subject = v.get_subject(a, t, sid).await.or_page(st)?;
    let records: Vec<Value> = v
        .subject_records(a, t, sid, None)
        .await
        .or_page(st)?
        .into_iter()
        .map(|r| val(&crate::http::routes::records::record_out(r)))
        .collect();
    let consents = if st.may(Action::ConsentHistory) {
        let c = v.consent_history(a, t, sid).await.or_page(st)?;
        Some(c.into_iter().map(|c| val(&crate::http::routes::rights::consent_out(c))).collect::<Vec<_>>())
    } else {
        None
    };
    let disclosures = if st.may(Action::SubjectDisclosures) {
        let d = v.subject_disclosures(a, t, sid).await.or_page(st)?;
        Some(
            d.disclosures
                .into_iter()
                .map(|(d, collection)| {
                    context! { recipient => d.recipient, collection, purpose => d.purpose,
                    at => d.disclosed_at }
                })
                .collect::<Vec<_>>(),
        )
    } else {
        None
    };
    let seen = if st.may(Action::AuditQuery) {
        let f = AuditFilter { tenant: Some(t), subject: Some(sid), limit: 200, ..Default::default() };
        let evs = v.query_events(a, f).await.or_page(st)?;
        Some(
            evs.iter()
                .rev()
                .map(|e| {
                    let w = &e.event.what;
                    context! { at => e.event.time, action => w.action.clone(), outcome => w.outcome.clone(),
                    actor => w.actor.map(|x| x.to_string()), role => w.role.clone() }
                })
                .collect::<Vec<_>>(),
        )
    } else {
        None
    };
    let limits = if st.may(Action::SubjectLimitList) {
        let l = v.subject_limits(a, t, sid).await.or_page(st)?;
        Some(
            l.into_iter()
                .filter(|l| l.lifted_by.is_none())
                .map(|l| {
                    context! { id => l.id.to_string(), kind => l.kind, reason => l.reason, at => l.set_at,
                    purposes => serde_json::from_str::<Vec<String>>(&l.purposes).unwrap_or_default().join(", "),
                    direct_marketing => l.direct_marketing }
                })
                .collect::<Vec<_>>(),
        )
    } else {
        None
    };
    // For the consent and disclosure forms: the notices and recipients.
    let notices = if st.may(Action::ConsentRecord) && st.may(Action::ConsentNoticeList) {
        let n = v.list_notices(a, t).await.or_page(st)?;
        Some(n.into_iter().map(|n| context! { purpose => n.purpose, version => n.version }).collect::<Vec<_>>())
    } else {
        None
    };
    let recipients = if st.may(Action::DisclosureRecord) && st.may(Action::RecipientList) {
        let r = v.list_recipients(a, t).await.or_page(st)?;
        Some(r.into_iter().map(|r| r.name).collect::<Vec<_>>())
    } else {
        None
    };
    let rules = if st.may(Action::SubjectErase) && st.may(Action::CollectionList) {
        let cols = v.list_collections(a, t).await.or_page(st)?;
        Some(
            cols.iter()
                .map(|c| context! { collection => c.def.name.clone(), erasure => erasure_rule(&c.def.erasure) })
                .collect::<Vec<_>>(),
        )
    } else {
        None
    };
    let tr = Tr(st.lang);
    Ok(st.render(
        "subject.html",
        tr.get("subject"),
        context! { t => t.to_string(), id => sid.to_string(), created_at => subject.created_at, records,
        consents, disclosures, seen, rules, limits, request => request.map(|r| r.to_string()), notices, recipients, may_rectify => st.may(Action::RecordUpdate),
        may_limit => st.may(Action::SubjectLimitSet) },
    ))
}

#[derive(Deserialize)]
pub struct Erase {
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    request: String,
}

/// Erases the subject by each collection's rule, or holds it for approval.
pub async fn erase(Path((tenant, subject)): Path<(String, String)>, p: Posted<Erase>) -> Page {
    let (st, f) = (p.staff, p.form);
    let (t, sid) = (st.tenant(&tenant)?, st.id(&subject, "subject")?);
    let tr = Tr(st.lang);
    if f.confirm != "yes" {
        return Err(st.error(crate::domain::Invalid::new("confirm", "tick the box to confirm the erasure").into()));
    }
    let request = under(&st, &f.request)?;
    match st.state.vault.erase_subject(&st.actor, t, sid, request).await.or_page(&st)? {
        Held::Pending(a) => Ok(st.render(
            "erased.html",
            tr.get("erasure"),
            context! { t => t.to_string(), pending => a.id.to_string() },
        )),
        Held::Done(e) => Ok(st.render(
            "erased.html",
            tr.get("erasure"),
            context! { t => t.to_string(), done => val(&crate::http::routes::records::erased_out(e)) },
        )),
    }
}

/// Rectification (Art. 16): the changed fields of one record, typed as
/// the record had them (`type.<field>`: number, bool, text); fields left
/// as they were are sent as they were. Optionally under a request.
pub async fn rectify(
    Path((tenant, subject, collection, record)): Path<(String, String, String, String)>,
    p: Posted<Vec<(String, String)>>,
) -> Page {
    let (st, f) = (p.staff, p.form);
    let (t, sid, rid) = (st.tenant(&tenant)?, st.id(&subject, "subject")?, st.id(&record, "record")?);
    let get = |k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let mut data = serde_json::Map::new();
    for (name, value) in f.iter() {
        let Some(field) = name.strip_prefix("field.") else { continue };
        if get(&format!("orig.{field}")) == Some(value.as_str()) {
            continue; // unchanged (a masked value stays as stored)
        }
        let kind = get(&format!("type.{field}")).unwrap_or("text");
        let v =
            match kind {
                _ if value.trim().is_empty() => continue,
                "number" => match value.trim().parse::<i64>() {
                    Ok(n) => serde_json::Value::from(n),
                    Err(_) => value.trim().parse::<f64>().map(serde_json::Value::from).map_err(|_| {
                        st.error(crate::domain::Invalid::new(field.to_string(), "must be a number").into())
                    })?,
                },
                "bool" => serde_json::Value::Bool(value == "true"),
                _ => serde_json::Value::String(value.clone()),
            };
        data.insert(field.to_string(), v);
    }
    let version = get("version").and_then(|v| v.parse().ok());
    let request = under(&st, get("request").unwrap_or(""))?;
    let change = crate::service::records::Change { data: &data, merge: true, expected_version: version, request };
    st.state.vault.update_record(&st.actor, t, &collection, rid, change).await.or_page(&st)?;
    Ok(see_other(&format!("/console/t/{t}/subjects/{sid}")))
}

#[derive(Deserialize)]
pub struct LimitForm {
    kind: String,
    #[serde(default)]
    purposes: String,
    #[serde(default)]
    direct_marketing: String,
    reason: String,
    #[serde(default)]
    request: String,
}

/// Restriction (Art. 18) or objection (Art. 21).
pub async fn limit(Path((tenant, subject)): Path<(String, String)>, p: Posted<LimitForm>) -> Page {
    let (st, f) = (p.staff, p.form);
    let (t, sid) = (st.tenant(&tenant)?, st.id(&subject, "subject")?);
    let kind = serde_json::from_value(serde_json::Value::String(f.kind))
        .map_err(|_| st.error(crate::domain::Invalid::new("kind", "must be restriction or objection").into()))?;
    let purposes = f.purposes.split(',').map(str::trim).filter(|p| !p.is_empty()).map(str::to_string).collect();
    let new = crate::service::limits::NewLimit {
        kind,
        purposes,
        direct_marketing: f.direct_marketing == "yes",
        reason: f.reason,
        request: under(&st, &f.request)?,
    };
    st.state.vault.set_limit(&st.actor, t, sid, new).await.or_page(&st)?;
    Ok(see_other(&format!("/console/t/{t}/subjects/{sid}")))
}

#[derive(Deserialize)]
pub struct Lift {
    reason: String,
}

pub async fn lift(Path((tenant, subject, limit)): Path<(String, String, String)>, p: Posted<Lift>) -> Page {
    let (st, f) = (p.staff, p.form);
    let (t, sid, lid) = (st.tenant(&tenant)?, st.id(&subject, "subject")?, st.id(&limit, "limit")?);
    st.state.vault.lift_limit(&st.actor, t, sid, lid, &f.reason).await.or_page(&st)?;
    Ok(see_other(&format!("/console/t/{t}/subjects/{sid}")))
}

#[derive(Deserialize)]
pub struct ConsentForm {
    purpose: String,
    given: String,
    #[serde(default)]
    notice_version: String,
    channel: String,
    #[serde(default)]
    evidence: String,
}

/// A consent given or withdrawn (Art. 7), e.g. on paper: against the
/// notice's version shown; a withdrawal erases what only it allowed.
pub async fn consent(Path((tenant, subject)): Path<(String, String)>, p: Posted<ConsentForm>) -> Page {
    let (st, f) = (p.staff, p.form);
    let (t, sid) = (st.tenant(&tenant)?, st.id(&subject, "subject")?);
    let notice_version =
        match f.notice_version.trim() {
            "" => None,
            v => Some(v.parse().map_err(|_| {
                st.error(crate::domain::Invalid::new("notice_version", "must be a version number").into())
            })?),
        };
    let new = crate::service::consent::NewConsent {
        purpose: f.purpose,
        given: f.given == "yes",
        notice_version,
        channel: f.channel,
        evidence: Some(f.evidence.trim().to_string()).filter(|e| !e.is_empty()),
        expires_at: None,
    };
    st.state.vault.record_consent(&st.actor, t, sid, new).await.or_page(&st)?;
    Ok(see_other(&format!("/console/t/{t}/subjects/{sid}")))
}

#[derive(Deserialize)]
pub struct DisclosureForm {
    recipient: String,
    collection: String,
    #[serde(default)]
    fields: String,
    purpose: String,
}

/// A disclosure of this subject's data to a registered recipient.
pub async fn disclosure(Path((tenant, subject)): Path<(String, String)>, p: Posted<DisclosureForm>) -> Page {
    let (st, f) = (p.staff, p.form);
    let (t, sid) = (st.tenant(&tenant)?, st.id(&subject, "subject")?);
    let new = crate::service::disclosures::NewDisclosure {
        recipient: f.recipient,
        collection: f.collection,
        fields: f.fields.split(',').map(str::trim).filter(|x| !x.is_empty()).map(str::to_string).collect(),
        purpose: f.purpose,
        basis: None,
        subjects: vec![sid],
    };
    st.state.vault.record_disclosure(&st.actor, t, new).await.or_page(&st)?;
    Ok(see_other(&format!("/console/t/{t}/subjects/{sid}")))
}

//! The register of data-subject requests in the console: the list (open
//! first, soonest due first), opening a request (the requester's e-mail in
//! the body only, kept as a blind index), one request with its history and
//! the next steps its state allows — verify identity, start, extend with a
//! reason, complete with the response, refuse with a reason — and, for a
//! request about a known subject, the access report as a PDF (English or
//! Slovenian) and the portability archive.

use super::i18n::{Lang, Tr};
use super::shell::{download, see_other, val, OrPage, Page, Posted, Staff};
use crate::domain::requests::{RequestKind, RequestState};
use crate::http::routes::requests::request_out;
use crate::service::requests::{NewRequest, Step};
use axum::extract::Path;
use minijinja::{context, Value};
use serde::Deserialize;

pub async fn list(st: Staff, Path(tenant): Path<String>) -> Page {
    let t = st.tenant(&tenant)?;
    let v = st.state.vault.clone();
    let mut all = v.list_requests(&st.actor, t, None, false, 500).await.or_page(&st)?;
    all.sort_by_key(|r| (!r.state().is_open(), r.days_left()));
    let requests: Vec<Value> = all.into_iter().map(|r| val(&request_out(r))).collect();
    Ok(st.render("requests.html", Tr(st.lang).get("requests"), context! { t => t.to_string(), requests }))
}

#[derive(Deserialize)]
pub struct Open {
    kind: String,
    channel: String,
    #[serde(default)]
    subject_id: String,
    #[serde(default)]
    requester_email: String,
}

pub async fn open(Path(tenant): Path<String>, p: Posted<Open>) -> Page {
    let (st, f) = (p.staff, p.form);
    let t = st.tenant(&tenant)?;
    let kind = RequestKind::parse(&f.kind)
        .ok_or_else(|| st.error(crate::domain::Invalid::new("kind", "is not a kind of request").into()))?;
    let subject_id = match f.subject_id.trim() {
        "" => None,
        s => Some(st.id(s, "subject")?),
    };
    let email = Some(f.requester_email.trim().to_string()).filter(|e| !e.is_empty());
    let new = NewRequest { kind, channel: f.channel, received_at: None, subject_id, requester_email: email };
    let r = st.state.vault.open_request(&st.actor, t, new).await.or_page(&st)?;
    Ok(see_other(&format!("/console/t/{t}/requests/{}", r.row.id)))
}

pub async fn view(st: Staff, Path((tenant, request)): Path<(String, String)>) -> Page {
    let (t, id) = (st.tenant(&tenant)?, st.id(&request, "request")?);
    let r = st.state.vault.get_request(&st.actor, t, id).await.or_page(&st)?;
    let state = r.state();
    let kind = r.row.kind.clone();
    let subject = r.row.subject_id.map(|s| s.to_string());
    let out = val(&request_out(r));
    let steps = context! {
        verify => state == RequestState::Received,
        start => state == RequestState::Verified,
        complete => matches!(state, RequestState::Verified | RequestState::InProgress),
        extend => state.is_open(),
        refuse => state.is_open(),
        report => subject.is_some() && kind == "access",
        archive => subject.is_some() && kind == "portability",
    };
    Ok(st.render("request.html", Tr(st.lang).get("request"), context! { t => t.to_string(), r => out, steps, subject }))
}

#[derive(Deserialize)]
pub struct StepForm {
    step: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    months: Option<u32>,
    #[serde(default)]
    informed: String,
}

/// One step on the request; the use case checks the move and the role.
pub async fn step(Path((tenant, request)): Path<(String, String)>, p: Posted<StepForm>) -> Page {
    let (st, f) = (p.staff, p.form);
    let (t, id) = (st.tenant(&tenant)?, st.id(&request, "request")?);
    let s = match f.step.as_str() {
        "verify" => Step::Verify { method: f.text },
        "start" => Step::Start,
        "extend" => {
            Step::Extend { months: f.months.unwrap_or(0), reason: f.text, subject_informed: f.informed == "yes" }
        }
        "complete" => Step::Complete { response: f.text },
        "refuse" => Step::Refuse { reason: f.text },
        _ => return Err(st.error(crate::domain::Invalid::new("step", "is not a step of a request").into())),
    };
    st.state.vault.request_step(&st.actor, t, id, s).await.or_page(&st)?;
    Ok(see_other(&format!("/console/t/{t}/requests/{id}")))
}

#[derive(Deserialize)]
pub struct Document {
    #[serde(default)]
    lang: String,
    #[serde(default)]
    kind: String,
}

/// The access report (PDF) or the portability archive (zip) of the
/// request's subject, made under the request (its id in the audit event).
pub async fn report_pdf(Path((tenant, request)): Path<(String, String)>, p: Posted<Document>) -> Page {
    let (st, f) = (p.staff, p.form);
    let (t, id) = (st.tenant(&tenant)?, st.id(&request, "request")?);
    let v = st.state.vault.clone();
    let r = v.get_request(&st.actor, t, id).await.or_page(&st)?;
    let Some(subject) = r.row.subject_id else {
        return Err(st.error(crate::domain::Invalid::new("subject", "the request names no subject yet").into()));
    };
    let d = if f.kind == "archive" {
        v.portability(&st.actor, t, subject, Some(id), None).await.or_page(&st)?
    } else {
        let lang = Lang::parse(&f.lang).unwrap_or(st.lang);
        v.access_report_pdf(&st.actor, t, subject, Some(id), lang, None).await.or_page(&st)?
    };
    Ok(download(d.media_type, &d.file_name, d.bytes))
}

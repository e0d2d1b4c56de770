//! The breach register in the console: the list with each breach's clocks
//! counting down (the controller's notice, the authority's 72 hours, the
//! subjects), recording a breach, one breach with its notifications,
//! recording a notification (the processor's notice to the controller can
//! be sent by varuh itself), and the notification documents in English or
//! Slovenian as PDF.

use super::i18n::{Lang, Tr};
use super::shell::{download, see_other, val, OrPage, Page, Posted, Staff};
use crate::domain::breach::{Audience, BreachDetails, BreachKind, FoundBy, Phase, Risk};
use crate::domain::Invalid;
use crate::http::routes::breaches::{breach_out, due_out};
use crate::service::breaches::{NewNotification, NotificationDetails};
use axum::extract::{Path, Query};
use minijinja::{context, Value};
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    format: String,
}

pub async fn list(st: Staff, Path(tenant): Path<String>, Query(q): Query<ListQuery>) -> Page {
    let t = st.tenant(&tenant)?;
    let v = st.state.vault.clone();
    let now = v.clock.now_ms();
    if q.format == "csv" {
        let rows: Vec<serde_json::Value> = v
            .list_breaches(&st.actor, t, false)
            .await
            .or_page(&st)?
            .into_iter()
            .map(|b| {
                let mut o = serde_json::to_value(breach_out(b, now)).unwrap_or_default();
                if let Some(m) = o.as_object_mut() {
                    m.remove("clocks");
                    m.remove("notifications");
                }
                o
            })
            .collect();
        return Ok(download("text/csv; charset=utf-8", "breaches.csv", super::registers::csv_of(&rows)));
    }
    let clocks: Vec<Value> =
        v.breach_clocks(&st.actor, t).await.or_page(&st)?.into_iter().map(|c| val(&due_out(c, now))).collect();
    let breaches: Vec<Value> = v
        .list_breaches(&st.actor, t, false)
        .await
        .or_page(&st)?
        .into_iter()
        .map(|b| val(&breach_out(b, now)))
        .collect();
    Ok(st.render("breaches.html", Tr(st.lang).get("breaches"), context! { t => t.to_string(), clocks, breaches }))
}

/// A time from an `<input type="datetime-local">` (taken as UTC) or RFC 3339.
fn local_time(field: &'static str, s: &str) -> Result<i64, Invalid> {
    let s = s.trim();
    let full = match s.len() {
        16 => format!("{s}:00Z"),
        19 => format!("{s}Z"),
        _ => s.to_string(),
    };
    crate::clock::parse_rfc3339(&full).ok_or_else(|| Invalid::new(field, "must be a date and time"))
}

fn list_of(s: &str) -> Vec<String> {
    s.split([',', '\n']).map(str::trim).filter(|x| !x.is_empty()).map(str::to_string).collect()
}

#[derive(Deserialize)]
pub struct NewBreach {
    #[serde(default)]
    confidentiality: String,
    #[serde(default)]
    integrity: String,
    #[serde(default)]
    availability: String,
    aware_at: String,
    found_by: String,
    description: String,
    risk: String,
    risk_rationale: String,
    #[serde(default)]
    data_categories: String,
    #[serde(default)]
    subject_categories: String,
    #[serde(default)]
    subjects_approx: String,
    #[serde(default)]
    measures_taken: String,
}

fn details(f: NewBreach) -> Result<BreachDetails, Invalid> {
    let mut kinds = Vec::new();
    for (on, k) in [
        (&f.confidentiality, BreachKind::Confidentiality),
        (&f.integrity, BreachKind::Integrity),
        (&f.availability, BreachKind::Availability),
    ] {
        if on == "yes" {
            kinds.push(k);
        }
    }
    let subjects_approx = match f.subjects_approx.trim() {
        "" => None,
        n => Some(n.parse().map_err(|_| Invalid::new("subjects_approx", "must be a whole number"))?),
    };
    Ok(BreachDetails {
        kinds,
        occurred_at: None,
        aware_at: local_time("aware_at", &f.aware_at)?,
        contained_at: None,
        found_by: FoundBy::parse(&f.found_by)
            .ok_or_else(|| Invalid::new("found_by", "must be controller or processor"))?,
        description: f.description,
        subject_categories: list_of(&f.subject_categories),
        data_categories: list_of(&f.data_categories),
        subjects_approx,
        records_approx: None,
        consequences: String::new(),
        measures_taken: f.measures_taken,
        measures_proposed: String::new(),
        risk: Risk::parse(&f.risk).ok_or_else(|| Invalid::new("risk", "must be unlikely, risk or high"))?,
        risk_rationale: f.risk_rationale,
        contact: String::new(),
        subjects_decision: None,
        late_reason: None,
        closed: false,
    })
}

pub async fn record(Path(tenant): Path<String>, p: Posted<NewBreach>) -> Page {
    let (st, f) = (p.staff, p.form);
    let t = st.tenant(&tenant)?;
    let d = details(f).map_err(|e| st.error(e.into()))?;
    let b = st.state.vault.record_breach(&st.actor, t, d).await.or_page(&st)?;
    Ok(see_other(&format!("/console/t/{t}/breaches/{}", b.row.id)))
}

pub async fn view(st: Staff, Path((tenant, breach)): Path<(String, String)>) -> Page {
    let (t, id) = (st.tenant(&tenant)?, st.id(&breach, "breach")?);
    let v = st.state.vault.clone();
    let b = v.get_breach(&st.actor, t, id).await.or_page(&st)?;
    let b = val(&breach_out(b, v.clock.now_ms()));
    Ok(st.render("breach.html", Tr(st.lang).get("breach"), context! { t => t.to_string(), b }))
}

#[derive(Deserialize)]
pub struct Notify {
    audience: String,
    phase: String,
    to: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    late_reason: String,
    #[serde(default)]
    deliver: String,
}

pub async fn notify(Path((tenant, breach)): Path<(String, String)>, p: Posted<Notify>) -> Page {
    let (st, f) = (p.staff, p.form);
    let (t, id) = (st.tenant(&tenant)?, st.id(&breach, "breach")?);
    let bad = |field: &'static str, rule: &'static str| st.error(Invalid::new(field, rule).into());
    let audience =
        Audience::parse(&f.audience).ok_or_else(|| bad("audience", "must be controller, authority or subjects"))?;
    let phase = Phase::parse(&f.phase).ok_or_else(|| bad("phase", "must be initial, follow_up or final"))?;
    let late_reason = Some(f.late_reason.trim().to_string()).filter(|r| !r.is_empty());
    let new = NewNotification {
        audience,
        phase,
        sent_at: None,
        details: NotificationDetails { to: f.to, channel: f.channel, summary: f.summary, late_reason },
        deliver: Lang::parse(&f.deliver),
    };
    st.state.vault.record_breach_notification(&st.actor, t, id, new).await.or_page(&st)?;
    Ok(see_other(&format!("/console/t/{t}/breaches/{id}")))
}

#[derive(Deserialize)]
pub struct NoticeQuery {
    audience: String,
    #[serde(default)]
    lang: String,
}

/// The notification document (PDF) for an audience, in a language.
pub async fn notice(st: Staff, Path((tenant, breach)): Path<(String, String)>, Query(q): Query<NoticeQuery>) -> Page {
    let (t, id) = (st.tenant(&tenant)?, st.id(&breach, "breach")?);
    let audience = Audience::parse(&q.audience)
        .ok_or_else(|| st.error(Invalid::new("audience", "must be controller, authority or subjects").into()))?;
    let lang = Lang::parse(&q.lang).unwrap_or(st.lang);
    let doc = st.state.vault.breach_document(&st.actor, t, id, audience, lang).await.or_page(&st)?;
    let name = format!("breach-{id}-{}-{}.pdf", audience.as_str(), lang.code());
    Ok(download("application/pdf", &name, doc.pdf()))
}

//! The registers in the console, each viewable and exportable: the
//! records of processing (Art. 30; PDF, CSV), the statement of technical
//! and organisational measures (Art. 32; PDF), the processors (CSV), the
//! staff register with its trainings and offboarding (CSV), consent
//! notices and recipients (CSV), and the breach register (CSV). The
//! documents are the ones the API hands out, in English or Slovenian; the
//! HTML of a document is varuh's own, escaped where it is made.

use super::i18n::{Lang, Tr};
use super::shell::{download, val, OrPage, Page, Staff};
use crate::http::routes::registers::{person_out, processor_out};
use crate::http::routes::rights::{notice_out, recipient_out};
use axum::extract::{Path, Query};
use minijinja::{context, Value};
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub struct Format {
    #[serde(default)]
    format: String,
    #[serde(default)]
    lang: String,
}

impl Format {
    fn lang(&self, st: &Staff) -> Lang {
        Lang::parse(&self.lang).unwrap_or(st.lang)
    }
}

/// The `<body>` of a document varuh wrote (and escaped) itself.
fn body_of(html: &str) -> String {
    let start = html.find("<body>").map(|i| i + 6).unwrap_or(0);
    let end = html.rfind("</body>").unwrap_or(html.len());
    // Its heading becomes the page's: one `h1` per page.
    html[start..end].replacen("<h1>", "<h2>", 1).replacen("</h1>", "</h2>", 1)
}

/// A table as CSV: one row per object, one column per key of the first;
/// lists joined with "; ", nested objects as JSON.
pub fn csv_of(rows: &[serde_json::Value]) -> Vec<u8> {
    use crate::documents::archive::{cell, csv};
    let Some(first) = rows.first().and_then(|r| r.as_object()) else { return Vec::new() };
    let header: Vec<String> = first.keys().cloned().collect();
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            header
                .iter()
                .map(|k| match &r[k.as_str()] {
                    serde_json::Value::Array(a) => a.iter().map(|x| cell(Some(x))).collect::<Vec<_>>().join("; "),
                    v => cell(Some(v)),
                })
                .collect()
        })
        .collect();
    csv(&header, &cells)
}

pub async fn index(st: Staff, Path(tenant): Path<String>) -> Page {
    let t = st.tenant(&tenant)?;
    st.state.vault.get_tenant(&st.actor, t).await.or_page(&st)?;
    Ok(st.render("registers.html", Tr(st.lang).get("registers"), context! { t => t.to_string() }))
}

fn document(st: &Staff, t: uuid::Uuid, title: &str, body: String) -> Page {
    Ok(st.render("document.html", title, context! { t => t.to_string(), body }))
}

pub async fn ropa(st: Staff, Path(tenant): Path<String>, Query(q): Query<Format>) -> Page {
    let t = st.tenant(&tenant)?;
    let lang = q.lang(&st);
    let r = st.state.vault.records_of_processing(&st.actor, t, lang).await.or_page(&st)?;
    match q.format.as_str() {
        "pdf" => Ok(download("application/pdf", &format!("records-of-processing-{}.pdf", lang.code()), r.pdf(lang))),
        "csv" => {
            Ok(download("text/csv; charset=utf-8", &format!("records-of-processing-{}.csv", lang.code()), r.csv(lang)))
        }
        _ => document(&st, t, Tr(st.lang).get("ropa"), body_of(&r.html(lang))),
    }
}

pub async fn toms(st: Staff, Path(tenant): Path<String>, Query(q): Query<Format>) -> Page {
    let t = st.tenant(&tenant)?;
    let lang = q.lang(&st);
    let m = st.state.vault.toms(&st.actor, t, lang).await.or_page(&st)?;
    match q.format.as_str() {
        "pdf" => Ok(download("application/pdf", &format!("toms-{}.pdf", lang.code()), m.pdf(lang))),
        _ => document(&st, t, Tr(st.lang).get("toms"), body_of(&m.html(lang))),
    }
}

pub async fn processors(st: Staff, Path(tenant): Path<String>, Query(q): Query<Format>) -> Page {
    let t = st.tenant(&tenant)?;
    let r = st.state.vault.list_processors(&st.actor, t).await.or_page(&st)?;
    let list: Vec<serde_json::Value> =
        r.processors.into_iter().map(|p| serde_json::to_value(processor_out(p)).unwrap_or_default()).collect();
    if q.format == "csv" {
        return Ok(download("text/csv; charset=utf-8", "processors.csv", csv_of(&list)));
    }
    let processors: Vec<Value> = list.iter().map(val).collect();
    Ok(st.render(
        "processors.html",
        Tr(st.lang).get("processors"),
        context! { t => t.to_string(), processors, unregistered => r.unregistered },
    ))
}

pub async fn staff_register(st: Staff, Path(tenant): Path<String>, Query(q): Query<Format>) -> Page {
    let t = st.tenant(&tenant)?;
    let r = st.state.vault.list_staff_register(&st.actor, t, 30).await.or_page(&st)?;
    let people: Vec<serde_json::Value> =
        r.people.into_iter().map(|p| serde_json::to_value(person_out(p)).unwrap_or_default()).collect();
    if q.format == "csv" {
        return Ok(download("text/csv; charset=utf-8", "staff-register.csv", csv_of(&people)));
    }
    Ok(st.render(
        "staff_register.html",
        Tr(st.lang).get("staff_register"),
        context! { t => t.to_string(), people => people.iter().map(val).collect::<Vec<_>>(), due => val(&r.due),
        gaps => val(&r.accounts_not_in_register) },
    ))
}

pub async fn consent(st: Staff, Path(tenant): Path<String>, Query(q): Query<Format>) -> Page {
    let t = st.tenant(&tenant)?;
    let v = st.state.vault.clone();
    let notices: Vec<serde_json::Value> = v
        .list_notices(&st.actor, t)
        .await
        .or_page(&st)?
        .into_iter()
        .map(|n| serde_json::to_value(notice_out(n)).unwrap_or_default())
        .collect();
    let recipients: Vec<serde_json::Value> = v
        .list_recipients(&st.actor, t)
        .await
        .or_page(&st)?
        .into_iter()
        .map(|r| serde_json::to_value(recipient_out(r)).unwrap_or_default())
        .collect();
    match q.format.as_str() {
        "notices.csv" => Ok(download("text/csv; charset=utf-8", "consent-notices.csv", csv_of(&notices))),
        "recipients.csv" => Ok(download("text/csv; charset=utf-8", "recipients.csv", csv_of(&recipients))),
        _ => Ok(st.render(
            "consent.html",
            Tr(st.lang).get("consent_and_recipients"),
            context! { t => t.to_string(), notices => notices.iter().map(val).collect::<Vec<_>>(),
            recipients => recipients.iter().map(val).collect::<Vec<_>>() },
        )),
    }
}

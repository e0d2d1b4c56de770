//! Retention in the console (RET-1, RET-2): the tenant's legal holds —
//! set on a subject, a record or a collection with a reason and an
//! optional end, lifted with a reason — and the retention sweep, as a dry
//! run (what would go, what a hold keeps) or for real, with its report.

use super::i18n::Tr;
use super::shell::{see_other, val, OrPage, Page, Posted, Staff};
use crate::domain::Invalid;
use crate::http::routes::retention::{hold_out, report_out};
use crate::service::holds::{HoldScope, NewHold};
use axum::extract::Path;
use minijinja::{context, Value};
use serde::Deserialize;

async fn retention_page(st: &Staff, t: uuid::Uuid, report: Option<Value>) -> Page {
    let holds: Vec<Value> =
        st.state.vault.list_holds(&st.actor, t).await.or_page(st)?.into_iter().map(|h| val(&hold_out(h))).collect();
    Ok(st.render("retention.html", Tr(st.lang).get("retention"), context! { t => t.to_string(), holds, report }))
}

pub async fn page(st: Staff, Path(tenant): Path<String>) -> Page {
    let t = st.tenant(&tenant)?;
    retention_page(&st, t, None).await
}

#[derive(Deserialize)]
pub struct Run {
    #[serde(default)]
    dry_run: String,
}

/// The sweep now: a dry run says what would go; otherwise it goes.
pub async fn run(Path(tenant): Path<String>, p: Posted<Run>) -> Page {
    let (st, f) = (p.staff, p.form);
    let t = st.tenant(&tenant)?;
    let r = st.state.vault.retention_run(&st.actor, t, f.dry_run == "yes").await.or_page(&st)?;
    retention_page(&st, t, Some(val(&report_out(r)))).await
}

#[derive(Deserialize)]
pub struct HoldForm {
    scope: String,
    target: String,
    reason: String,
    #[serde(default)]
    until: String,
}

pub async fn hold(Path(tenant): Path<String>, p: Posted<HoldForm>) -> Page {
    let (st, f) = (p.staff, p.form);
    let t = st.tenant(&tenant)?;
    let bad = |field: &'static str, rule: &'static str| st.error(Invalid::new(field, rule).into());
    let scope = match f.scope.as_str() {
        "subject" => HoldScope::Subject,
        "record" => HoldScope::Record,
        "collection" => HoldScope::Collection,
        _ => return Err(bad("scope", "must be subject, record or collection")),
    };
    let until = match f.until.trim() {
        "" => None,
        d => {
            Some(crate::clock::parse_rfc3339(&format!("{d}T00:00:00Z")).ok_or_else(|| bad("until", "must be a date"))?)
        }
    };
    let new = NewHold { scope, target: f.target.trim().to_string(), reason: f.reason, until };
    st.state.vault.set_hold(&st.actor, t, new).await.or_page(&st)?;
    Ok(see_other(&format!("/console/t/{t}/retention")))
}

#[derive(Deserialize)]
pub struct Lift {
    reason: String,
}

pub async fn lift(Path((tenant, hold)): Path<(String, String)>, p: Posted<Lift>) -> Page {
    let (st, f) = (p.staff, p.form);
    let (t, id) = (st.tenant(&tenant)?, st.id(&hold, "hold")?);
    st.state.vault.lift_hold(&st.actor, t, id, &f.reason).await.or_page(&st)?;
    Ok(see_other(&format!("/console/t/{t}/retention")))
}

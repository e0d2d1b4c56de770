//! The audit trail in the console: events filtered by tenant, subject,
//! actor, action and time window (ids and names only: the trail holds no
//! personal value), paged oldest first like the API; the latest signed
//! tree head with its verifier key, so an auditor can check it outside
//! varuh; the last scheduled verification; and the filtered events
//! downloaded as JSON Lines.

use super::i18n::Tr;
use super::shell::{download, OrPage, Page, Staff};
use crate::domain::Invalid;
use crate::store::queries::AuditFilter;
use axum::extract::Query;
use minijinja::{context, Value};
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub struct Filter {
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    after: Option<i64>,
    #[serde(default)]
    format: String,
}

const PAGE: i64 = 100;
/// The JSON Lines export reads pages of this many, at most `EXPORT_PAGES`
/// of them; the whole trail with proofs is `varuh audit verify --export`.
const EXPORT_PAGE: i64 = 1000;
const EXPORT_PAGES: usize = 100;

fn id(field: &'static str, s: &str) -> Result<Option<uuid::Uuid>, Invalid> {
    match s.trim() {
        "" => Ok(None),
        s => s.parse().map(Some).map_err(|_| Invalid::new(field, "must be an id")),
    }
}

fn day_or_time(field: &'static str, s: &str, end: bool) -> Result<Option<i64>, Invalid> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let full = if s.len() == 10 { format!("{s}T{}Z", if end { "23:59:59.999" } else { "00:00:00" }) } else { s.into() };
    crate::clock::parse_rfc3339(&full).map(Some).ok_or_else(|| Invalid::new(field, "must be a date (YYYY-MM-DD)"))
}

pub async fn browse(st: Staff, Query(q): Query<Filter>) -> Page {
    let f = (|| -> Result<AuditFilter, Invalid> {
        Ok(AuditFilter {
            tenant: id("tenant", &q.tenant)?.or(st.actor.tenant),
            subject: id("subject", &q.subject)?,
            actor: id("actor", &q.actor)?,
            action: Some(q.action.trim().to_string()).filter(|a| !a.is_empty()),
            from_ms: day_or_time("from", &q.from, false)?,
            to_ms: day_or_time("to", &q.to, true)?,
            after: q.after.filter(|a| *a >= 0),
            limit: if q.format == "jsonl" { EXPORT_PAGE } else { PAGE },
        })
    })()
    .map_err(|e| st.error(e.into()))?;
    let v = st.state.vault.clone();
    if q.format == "jsonl" {
        let mut out = Vec::new();
        let mut f = f;
        for _ in 0..EXPORT_PAGES {
            let (tenant, subject, actor, action, from, to) =
                (f.tenant, f.subject, f.actor, f.action.clone(), f.from_ms, f.to_ms);
            let evs = v.query_events(&st.actor, f).await.or_page(&st)?;
            for e in &evs {
                out.extend_from_slice(e.body.as_bytes());
                out.push(b'\n');
            }
            let Some(last) = evs.last().filter(|_| evs.len() as i64 == EXPORT_PAGE) else { break };
            f = AuditFilter {
                tenant,
                subject,
                actor,
                action,
                from_ms: from,
                to_ms: to,
                after: Some(last.event.seq as i64),
                limit: EXPORT_PAGE,
            };
        }
        return Ok(download("application/x-ndjson", "audit-events.jsonl", out));
    }
    let evs = v.query_events(&st.actor, f).await.or_page(&st)?;
    let next_after = (evs.len() as i64 == PAGE).then(|| evs.last().map(|e| e.event.seq)).flatten();
    let events: Vec<Value> = evs
        .iter()
        .map(|e| {
            let w = &e.event.what;
            context! { seq => e.event.seq, at => e.event.time, action => w.action.clone(), outcome => w.outcome.clone(),
            actor => w.actor.map(|x| x.to_string()), role => w.role.clone(), subject => w.subject.map(|x| x.to_string()),
            collection => w.collection.clone(), tenant => w.tenant.map(|x| x.to_string()) }
        })
        .collect();
    let head = v.latest_head(&st.actor).await.or_page(&st)?;
    let head = context! { size => head.tree_size, time => crate::clock::rfc3339(head.time_ms),
    checkpoint => head.checkpoint, key => v.audit_key().encode() };
    let m = v.monitoring().await.or_page(&st)?;
    let verified =
        m.jobs.iter().find(|j| j.job == "audit_verify").map(|j| context! { at => j.finished_at_ms, ok => j.ok });
    let filter = context! { tenant => q.tenant, subject => q.subject, actor => q.actor, action => q.action,
    from => q.from, to => q.to };
    Ok(st.render("audit.html", Tr(st.lang).get("audit"), context! { events, next_after, head, verified, filter }))
}

//! The tenant's dashboard — open requests with the days left (overdue
//! first), breach clocks, pending four-eyes approvals, alerts, the last
//! backup, retention run and audit verification, the latest tree head,
//! trainings due — and the system administrator's list of tenants. Each
//! section is one use case; a section the staff member's role may not see
//! says so instead of being asked for (no refused call in the trail).

use super::i18n::Tr;
use super::shell::{val, OrPage, Page, Staff};
use crate::domain::access::Action;
use axum::extract::Path;
use minijinja::{context, Value};

pub async fn tenants(st: Staff) -> Page {
    let v = st.state.vault.clone();
    let list = v.list_tenants(&st.actor).await.or_page(&st)?;
    let tenants: Vec<Value> = list
        .iter()
        .map(|t| context! { id => t.id.to_string(), name => t.name.clone(), created_at => t.created_at })
        .collect();
    Ok(st.render("tenants.html", Tr(st.lang).get("tenants"), context! { tenants }))
}

pub async fn dashboard(st: Staff, Path(tenant): Path<String>) -> Page {
    let t = st.tenant(&tenant)?;
    let v = st.state.vault.clone();
    let a = &st.actor;
    // The tenant itself first: another tenant's id is "not found" here.
    let info = v.get_tenant(a, t).await.or_page(&st)?;
    let now = v.clock.now_ms();
    let requests = if st.may(Action::RequestList) {
        let mut open: Vec<_> = v.list_requests(a, t, None, false, 500).await.or_page(&st)?;
        open.retain(|r| r.state().is_open());
        open.sort_by_key(|r| r.days_left());
        let out: Vec<Value> = open.into_iter().map(|r| val(&crate::http::routes::requests::request_out(r))).collect();
        Some(out)
    } else {
        None
    };
    let clocks = if st.may(Action::BreachList) {
        let c = v.breach_clocks(a, t).await.or_page(&st)?;
        Some(c.into_iter().map(|c| val(&crate::http::routes::breaches::due_out(c, now))).collect::<Vec<_>>())
    } else {
        None
    };
    let approvals = if st.may(Action::ApprovalList) {
        let list = v.list_approvals(a, t).await.or_page(&st)?;
        Some(list.iter().filter(|x| x.state == "pending").count())
    } else {
        None
    };
    let training = if st.may(Action::StaffRegisterList) {
        let reg = v.list_staff_register(a, t, 30).await.or_page(&st)?;
        Some(
            reg.due
                .iter()
                .map(|d| context! { name => d.name.clone(), due => d.due.due_on.clone() })
                .collect::<Vec<_>>(),
        )
    } else {
        None
    };
    let head = if st.may(Action::AuditHeadRead) {
        v.latest_head(a).await.ok().map(|h| context! { size => h.tree_size, time => crate::clock::rfc3339(h.time_ms) })
    } else {
        None
    };
    let m = v.monitoring().await.or_page(&st)?;
    let alerts: Vec<Value> = m
        .alerts
        .iter()
        .filter(|al| al.tenant.is_none_or(|x| x == t))
        .map(|al| context! { kind => al.kind.as_str(), at => al.at_ms, detail => al.detail.clone() })
        .collect();
    let jobs: Vec<Value> =
        m.jobs.iter().map(|j| context! { job => j.job, finished => j.finished_at_ms, ok => j.ok }).collect();
    Ok(st.render(
        "dashboard.html",
        &info.name,
        context! { t => t.to_string(), requests, clocks, approvals, training, head, alerts, jobs },
    ))
}

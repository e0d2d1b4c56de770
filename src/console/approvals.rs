//! The four-eyes queue in the console (ACC-3): a tenant's approvals,
//! pending first, and approving (the held operation runs at once, as its
//! requester) or rejecting with a reason. Deciding one's own request is
//! refused by the use case, as over the API.

use super::i18n::Tr;
use super::shell::{see_other, val, OrPage, Page, Posted, Staff};
use crate::domain::Invalid;
use crate::http::routes::approvals::approval_out;
use crate::service::approvals::Decision;
use axum::extract::Path;
use minijinja::{context, Value};
use serde::Deserialize;

pub async fn list(st: Staff, Path(tenant): Path<String>) -> Page {
    let t = st.tenant(&tenant)?;
    let mut all = st.state.vault.list_approvals(&st.actor, t).await.or_page(&st)?;
    all.sort_by_key(|a| (a.state != "pending", -a.requested_at));
    let me = st.actor.staff_id;
    let approvals: Vec<Value> = all
        .into_iter()
        .map(|a| {
            let mine = a.requested_by == me;
            context! { mine, ..val(&approval_out(a)) }
        })
        .collect();
    Ok(st.render("approvals.html", Tr(st.lang).get("approvals"), context! { t => t.to_string(), approvals }))
}

#[derive(Deserialize)]
pub struct Decide {
    decision: String,
    #[serde(default)]
    reason: String,
}

pub async fn decide(Path((tenant, approval)): Path<(String, String)>, p: Posted<Decide>) -> Page {
    let (st, f) = (p.staff, p.form);
    let (t, id) = (st.tenant(&tenant)?, st.id(&approval, "approval")?);
    let d = match f.decision.as_str() {
        "approve" => Decision::Approve,
        "reject" => Decision::Reject { reason: f.reason },
        _ => return Err(st.error(Invalid::new("decision", "must be approve or reject").into())),
    };
    st.state.vault.decide_approval(&st.actor, t, id, d).await.or_page(&st)?;
    Ok(see_other(&format!("/console/t/{t}/approvals")))
}

//! Administration in the console: a tenant's staff (create with a
//! one-time password shown once, role, grants and field masks, suspend,
//! reactivate, unlock, reset password or second factor, offboard with the
//! checklist), API keys (the key shown once; revoke), the security policy
//! with its four-eyes settings (edited as the TOML the CLI takes), the
//! collections, and new tenants for the system administrator. Changes the
//! tenant's policy holds for four-eyes say so and wait in the approvals.

use super::i18n::Tr;
use super::shell::{see_other, val, OrPage, Page, Posted, Staff};
use crate::domain::access::Access;
use crate::domain::policy::Policy;
use crate::domain::schema::CollectionDef;
use crate::domain::{Invalid, Role};
use crate::http::routes::identity::{key_out, staff_out};
use crate::service::approvals::Held;
use crate::service::identity::staff::{NewStaff, OFFBOARDING_ITEMS};
use axum::extract::Path;
use minijinja::{context, Value};
use serde::Deserialize;

fn json_of<T: serde::de::DeserializeOwned>(field: &'static str, s: &str) -> Result<T, Invalid> {
    let s = s.trim();
    let s = if s.is_empty() { "{}" } else { s };
    serde_json::from_str(s).map_err(|e| {
        Invalid::new(field, format!("is not valid: {}", e.to_string().split(" at line").next().unwrap_or("")))
    })
}

/// Where a tenant's staff pages are, or the system's (`t` none).
fn base(t: Option<uuid::Uuid>) -> String {
    t.map(|t| format!("/console/t/{t}")).unwrap_or_else(|| "/console/system".into())
}

async fn staff_page(st: &Staff, t: Option<uuid::Uuid>, shown: Option<Value>) -> Page {
    let v = st.state.vault.clone();
    let list = v.list_staff(&st.actor, t).await.or_page(st)?;
    let staff: Vec<Value> = list.into_iter().map(|i| val(&staff_out(i, None))).collect();
    Ok(st.render(
        "staff.html",
        Tr(st.lang).get("staff"),
        context! { t => t.map(|t| t.to_string()), base => base(t), staff, shown },
    ))
}

pub async fn staff(st: Staff, Path(tenant): Path<String>) -> Page {
    let t = st.tenant(&tenant)?;
    staff_page(&st, Some(t), None).await
}

/// The system's own staff (system administrators and auditors).
pub async fn system_staff(st: Staff) -> Page {
    staff_page(&st, None, None).await
}

#[derive(Deserialize)]
pub struct NewAccount {
    username: String,
    role: String,
}

/// Creates an account; its one-time password is shown on this page only.
pub async fn create_staff(Path(tenant): Path<String>, p: Posted<NewAccount>) -> Page {
    let t = p.staff.tenant(&tenant)?;
    create_in(p, Some(t)).await
}

pub async fn create_system_staff(p: Posted<NewAccount>) -> Page {
    create_in(p, None).await
}

async fn create_in(p: Posted<NewAccount>, t: Option<uuid::Uuid>) -> Page {
    let (st, f) = (p.staff, p.form);
    let role = Role::parse(&f.role).ok_or_else(|| {
        st.error(Invalid::new("role", "must be administrator, dpo, operator, auditor or service").into())
    })?;
    let new = NewStaff { username: &f.username, role, password: None, access: Access::default() };
    let (info, pw) = st.state.vault.create_staff(&st.actor, t, new).await.or_page(&st)?;
    staff_page(&st, t, Some(context! { username => info.username, password => pw })).await
}

pub async fn staff_member(st: Staff, Path((tenant, staff)): Path<(String, String)>) -> Page {
    let (t, id) = (st.tenant(&tenant)?, st.id(&staff, "staff")?);
    member_page(&st, Some(t), id, None).await
}

pub async fn system_member(st: Staff, Path(staff): Path<String>) -> Page {
    let id = st.id(&staff, "staff")?;
    member_page(&st, None, id, None).await
}

async fn member_page(st: &Staff, t: Option<uuid::Uuid>, id: uuid::Uuid, notice: Option<String>) -> Page {
    let info = st.state.vault.get_staff(&st.actor, t, id).await.or_page(st)?;
    let access = serde_json::to_string_pretty(&info.access).unwrap_or_default();
    let m = val(&staff_out(info, None));
    Ok(st.render(
        "staff_member.html",
        Tr(st.lang).get("staff_member"),
        context! { t => t.map(|t| t.to_string()), base => base(t), m, access, items => OFFBOARDING_ITEMS, notice },
    ))
}

#[derive(Deserialize)]
pub struct AccessForm {
    role: String,
    access: String,
}

/// Role, grants and field masks (JSON, as the API takes them).
pub async fn set_access(Path((tenant, staff)): Path<(String, String)>, p: Posted<AccessForm>) -> Page {
    let t = p.staff.tenant(&tenant)?;
    access_in(p, Some(t), &staff).await
}

pub async fn system_set_access(Path(staff): Path<String>, p: Posted<AccessForm>) -> Page {
    access_in(p, None, &staff).await
}

async fn access_in(p: Posted<AccessForm>, t: Option<uuid::Uuid>, staff: &str) -> Page {
    let (st, f) = (p.staff, p.form);
    let id = st.id(staff, "staff")?;
    Role::parse(&f.role).ok_or_else(|| st.error(Invalid::new("role", "is not a role").into()))?;
    let access: Access = json_of("access", &f.access).map_err(|e| st.error(e.into()))?;
    let tr = Tr(st.lang);
    match st.state.vault.change_grants(&st.actor, t, id, &f.role, access).await.or_page(&st)? {
        Held::Done(_) => member_page(&st, t, id, Some(tr.get("saved").into())).await,
        Held::Pending(a) => member_page(&st, t, id, Some(format!("{} {}", tr.get("held_for_approval"), a.id))).await,
    }
}

#[derive(Deserialize)]
pub struct Act {
    op: String,
    #[serde(default)]
    note: String,
}

/// One action on an account. A reset password is shown once, here.
pub async fn act(Path((tenant, staff)): Path<(String, String)>, p: Posted<Act>) -> Page {
    let t = p.staff.tenant(&tenant)?;
    act_in(p, Some(t), &staff).await
}

pub async fn system_act(Path(staff): Path<String>, p: Posted<Act>) -> Page {
    act_in(p, None, &staff).await
}

async fn act_in(p: Posted<Act>, t: Option<uuid::Uuid>, staff: &str) -> Page {
    let (st, f) = (p.staff, p.form);
    let id = st.id(staff, "staff")?;
    let v = st.state.vault.clone();
    let a = &st.actor;
    let tr = Tr(st.lang);
    let notice = match f.op.as_str() {
        "suspend" => v.suspend_staff(a, t, id).await.map(|_| tr.get("done").to_string()),
        "reactivate" => v.reactivate_staff(a, t, id).await.map(|_| tr.get("done").to_string()),
        "unlock" => v.unlock_staff(a, t, id).await.map(|_| tr.get("done").to_string()),
        "reset-mfa" => v.reset_staff_mfa(a, t, id).await.map(|_| tr.get("done").to_string()),
        "reset-password" => {
            v.reset_staff_password(a, t, id).await.map(|pw| format!("{} {pw}", tr.get("one_time_password")))
        }
        "offboard" => {
            let items: Vec<String> = OFFBOARDING_ITEMS.iter().map(|s| s.to_string()).collect();
            let note = Some(f.note.trim()).filter(|n| !n.is_empty());
            v.offboard_staff(a, t, id, &items, note).await.map(|_| tr.get("done").to_string())
        }
        _ => return Err(st.error(Invalid::new("op", "is not an action on an account").into())),
    }
    .or_page(&st)?;
    member_page(&st, t, id, Some(notice)).await
}

async fn keys_page(st: &Staff, t: uuid::Uuid, shown: Option<String>) -> Page {
    let v = st.state.vault.clone();
    let keys: Vec<Value> =
        v.list_api_keys(&st.actor, t).await.or_page(st)?.into_iter().map(|k| val(&key_out(k, None))).collect();
    let services: Vec<Value> = v
        .list_staff(&st.actor, Some(t))
        .await
        .or_page(st)?
        .into_iter()
        .filter(|s| s.role == Role::Service && s.offboarded_at.is_none())
        .map(|s| context! { id => s.id.to_string(), username => s.username })
        .collect();
    Ok(st.render("api_keys.html", Tr(st.lang).get("api_keys"), context! { t => t.to_string(), keys, services, shown }))
}

pub async fn api_keys(st: Staff, Path(tenant): Path<String>) -> Page {
    let t = st.tenant(&tenant)?;
    keys_page(&st, t, None).await
}

#[derive(Deserialize)]
pub struct NewKey {
    account: String,
    name: String,
    days: u32,
    #[serde(default)]
    access: String,
}

pub async fn create_api_key(Path(tenant): Path<String>, p: Posted<NewKey>) -> Page {
    let (st, f) = (p.staff, p.form);
    let t = st.tenant(&tenant)?;
    let account = st.id(&f.account, "staff")?;
    let access: Access = json_of("access", &f.access).map_err(|e| st.error(e.into()))?;
    let (_, key) = st.state.vault.create_api_key(&st.actor, t, account, &f.name, access, f.days).await.or_page(&st)?;
    keys_page(&st, t, Some(key)).await
}

pub async fn revoke_api_key(Path((tenant, key)): Path<(String, String)>, p: Posted<serde::de::IgnoredAny>) -> Page {
    let st = p.staff;
    let (t, id) = (st.tenant(&tenant)?, st.id(&key, "API key")?);
    st.state.vault.revoke_api_key(&st.actor, t, id).await.or_page(&st)?;
    Ok(see_other(&format!("/console/t/{t}/api-keys")))
}

async fn policy_page(st: &Staff, t: Option<uuid::Uuid>, text: Option<String>, notice: Option<String>) -> Page {
    let p = st.state.vault.get_policy(&st.actor, t).await.or_page(st)?;
    let text = match text {
        Some(t) => t,
        None => {
            toml::to_string_pretty(&p).map_err(|e| st.error(crate::service::ServiceError::Internal(e.to_string())))?
        }
    };
    Ok(st.render(
        "policy.html",
        Tr(st.lang).get("policy"),
        context! { t => t.map(|t| t.to_string()), base => base(t), text, notice },
    ))
}

pub async fn policy(st: Staff, Path(tenant): Path<String>) -> Page {
    let t = st.tenant(&tenant)?;
    policy_page(&st, Some(t), None, None).await
}

/// The system's policy: for system staff and tenants without their own.
pub async fn system_policy(st: Staff) -> Page {
    policy_page(&st, None, None, None).await
}

#[derive(Deserialize)]
pub struct PolicyForm {
    policy: String,
}

/// The policy as TOML (what `varuh policy set` reads); a refusal names the
/// rule and keeps the text typed.
pub async fn set_policy(Path(tenant): Path<String>, p: Posted<PolicyForm>) -> Page {
    let t = p.staff.tenant(&tenant)?;
    policy_in(p, Some(t)).await
}

pub async fn set_system_policy(p: Posted<PolicyForm>) -> Page {
    policy_in(p, None).await
}

async fn policy_in(p: Posted<PolicyForm>, t: Option<uuid::Uuid>) -> Page {
    let (st, f) = (p.staff, p.form);
    let tr = Tr(st.lang);
    let parsed = match Policy::from_toml(&f.policy) {
        Ok(p) => p,
        Err(e) => return policy_page(&st, t, Some(f.policy), Some(e.to_string())).await,
    };
    match st.state.vault.set_policy(&st.actor, t, parsed).await {
        Ok(Held::Done(_)) => policy_page(&st, t, None, Some(tr.get("saved").into())).await,
        Ok(Held::Pending(a)) => {
            policy_page(&st, t, None, Some(format!("{} {}", tr.get("held_for_approval"), a.id))).await
        }
        Err(crate::service::ServiceError::Invalid(i)) => policy_page(&st, t, Some(f.policy), Some(i.to_string())).await,
        Err(e) => Err(st.error(e)),
    }
}

pub async fn collections(st: Staff, Path(tenant): Path<String>) -> Page {
    let t = st.tenant(&tenant)?;
    let list = st.state.vault.list_collections(&st.actor, t).await.or_page(&st)?;
    let collections: Vec<Value> = list
        .into_iter()
        .map(|c| {
            context! { name => c.def.name.clone(), created_at => c.created_at,
            json => serde_json::to_string_pretty(&c.def).unwrap_or_default(), def => val(&c.def) }
        })
        .collect();
    Ok(st.render("collections.html", Tr(st.lang).get("collections"), context! { t => t.to_string(), collections }))
}

#[derive(Deserialize)]
pub struct NewCollection {
    definition: String,
}

/// A collection from its definition (JSON, as the API takes it).
pub async fn create_collection(Path(tenant): Path<String>, p: Posted<NewCollection>) -> Page {
    let (st, f) = (p.staff, p.form);
    let t = st.tenant(&tenant)?;
    let def: CollectionDef = json_of("definition", &f.definition).map_err(|e| st.error(e.into()))?;
    st.state.vault.create_collection(&st.actor, t, def).await.or_page(&st)?;
    Ok(see_other(&format!("/console/t/{t}/collections")))
}

#[derive(Deserialize)]
pub struct NewTenant {
    name: String,
    #[serde(default)]
    allow_special: String,
}

/// A new tenant (system administrators).
pub async fn create_tenant(p: Posted<NewTenant>) -> Page {
    let (st, f) = (p.staff, p.form);
    let info = st.state.vault.create_tenant(&st.actor, &f.name, f.allow_special == "yes").await.or_page(&st)?;
    Ok(see_other(&format!("/console/t/{}", info.id)))
}

//! The web console (issue 20): server-rendered HTML pages for the DPO, the
//! administrator and the auditor, served by `varuh serve` itself under
//! `/console/`. It is another face of the service layer, like the HTTP API
//! and the CLI: every page calls the same use cases (`Vault::…`) with the
//! signed-in staff member as the actor, so the kernel's tenant,
//! permission and audit rules apply unchanged, and nothing is shown or done
//! here that the API does not offer.
//!
//! What every page keeps (`shell.rs`): the session is the API's session,
//! its token in a cookie (`HttpOnly`, `SameSite=Strict`, `Secure` under
//! TLS, path `/console`); every form carries a CSRF token (an HMAC of the
//! session token under a key derived from the master key, compared in
//! constant time); a strict Content-Security-Policy (scripts and styles
//! only from varuh itself, nothing inline, `frame-ancestors 'none'`);
//! personal values only in POST bodies and pages, never in a URL, a title
//! or a log line. Templates are compiled into the binary (`templates/`),
//! rendered with minijinja with HTML escaping; text is English or
//! Slovenian (`i18n.rs`).
//!
//! Pages, by capability: `sign_in.rs` (sign-in with TOTP, first-login
//! password change, MFA enrolment, sign-out), `dashboard.rs`,
//! `subjects.rs`, `requests.rs`, `breaches.rs`, `approvals.rs`,
//! `retention.rs` (legal holds, the sweep), `registers.rs` (records of
//! processing, TOMs, processors, staff
//! register, consent notices and recipients), `admin.rs` (staff, API
//! keys, policy, collections, tenants), `audit.rs`. [`PAGES`] lists every
//! route with the use case it runs.

// A page handler answers a page either way (the page asked for, or the
// error page); both are a `Response`, so the `Err` side is as large as `Ok`.
#![allow(clippy::result_large_err)]

pub mod i18n;
mod shell;

mod admin;
mod approvals;
mod audit;
mod breaches;
mod dashboard;
mod registers;
mod requests;
mod retention;
mod sign_in;
mod subjects;

pub use shell::{Staff, CSP};

use crate::domain::access::Action;
use crate::http::AppState;
use axum::routing::{get, post};
use axum::Router;

/// Every console route, its method and the use case it runs (`None`: no
/// sign-in needed — the sign-in form itself and the static files). Tests
/// check each: without a session a page sends the browser to the sign-in
/// form, and a form posted without its CSRF token changes nothing.
pub const PAGES: &[(&str, &str, Option<Action>)] = &[
    ("get", "/console/sign-in", None),
    ("post", "/console/sign-in", Some(Action::Login)),
    ("get", "/console/static/varuh.css", None),
    ("get", "/console/static/varuh.js", None),
    ("post", "/console/sign-out", Some(Action::Logout)),
    ("get", "/console/", Some(Action::Me)),
    ("get", "/console/password", Some(Action::Me)),
    ("post", "/console/password", Some(Action::PasswordChange)),
    ("get", "/console/mfa", Some(Action::MfaEnrol)),
    ("post", "/console/mfa", Some(Action::MfaConfirm)),
    ("post", "/console/language", Some(Action::Me)),
    ("get", "/console/preferences", Some(Action::Me)),
    ("post", "/console/preferences", Some(Action::PreferencesChange)),
    ("get", "/console/tenants", Some(Action::TenantList)),
    ("post", "/console/tenants", Some(Action::TenantCreate)),
    ("get", "/console/t/{tenant}", Some(Action::RequestList)),
    ("get", "/console/t/{tenant}/subjects", Some(Action::SubjectLookup)),
    ("post", "/console/t/{tenant}/subjects", Some(Action::SubjectSearch)),
    ("get", "/console/t/{tenant}/subjects/{subject}", Some(Action::SubjectRecords)),
    ("post", "/console/t/{tenant}/subjects/{subject}/erase", Some(Action::SubjectErase)),
    ("post", "/console/t/{tenant}/subjects/{subject}/records/{collection}/{record}", Some(Action::RecordUpdate)),
    ("post", "/console/t/{tenant}/subjects/{subject}/limits", Some(Action::SubjectLimitSet)),
    ("post", "/console/t/{tenant}/subjects/{subject}/consents", Some(Action::ConsentRecord)),
    ("post", "/console/t/{tenant}/subjects/{subject}/disclosures", Some(Action::DisclosureRecord)),
    ("post", "/console/t/{tenant}/subjects/{subject}/limits/{limit}/lift", Some(Action::SubjectLimitLift)),
    ("get", "/console/t/{tenant}/requests", Some(Action::RequestList)),
    ("post", "/console/t/{tenant}/requests", Some(Action::RequestOpen)),
    ("get", "/console/t/{tenant}/requests/{request}", Some(Action::RequestRead)),
    ("post", "/console/t/{tenant}/requests/{request}/step", Some(Action::RequestStart)),
    ("post", "/console/t/{tenant}/requests/{request}/report.pdf", Some(Action::SubjectAccessReport)),
    ("get", "/console/t/{tenant}/breaches", Some(Action::BreachList)),
    ("post", "/console/t/{tenant}/breaches", Some(Action::BreachRecord)),
    ("get", "/console/t/{tenant}/breaches/{breach}", Some(Action::BreachRead)),
    ("post", "/console/t/{tenant}/breaches/{breach}/notify", Some(Action::BreachNotify)),
    ("get", "/console/t/{tenant}/breaches/{breach}/notice", Some(Action::BreachRead)),
    ("get", "/console/t/{tenant}/approvals", Some(Action::ApprovalList)),
    ("post", "/console/t/{tenant}/approvals/{approval}", Some(Action::ApprovalDecide)),
    ("get", "/console/t/{tenant}/registers", Some(Action::TenantRead)),
    ("get", "/console/t/{tenant}/registers/ropa", Some(Action::RopaRead)),
    ("get", "/console/t/{tenant}/registers/toms", Some(Action::TomsRead)),
    ("get", "/console/t/{tenant}/registers/processors", Some(Action::ProcessorList)),
    ("get", "/console/t/{tenant}/registers/staff", Some(Action::StaffRegisterList)),
    ("get", "/console/t/{tenant}/registers/consent", Some(Action::ConsentNoticeList)),
    ("get", "/console/t/{tenant}/retention", Some(Action::LegalHoldList)),
    ("post", "/console/t/{tenant}/retention/run", Some(Action::RetentionRun)),
    ("post", "/console/t/{tenant}/retention/holds", Some(Action::LegalHoldSet)),
    ("post", "/console/t/{tenant}/retention/holds/{hold}/lift", Some(Action::LegalHoldLift)),
    ("get", "/console/t/{tenant}/staff", Some(Action::StaffList)),
    ("post", "/console/t/{tenant}/staff", Some(Action::StaffCreate)),
    ("get", "/console/t/{tenant}/staff/{staff}", Some(Action::StaffRead)),
    ("post", "/console/t/{tenant}/staff/{staff}/access", Some(Action::GrantsChange)),
    ("post", "/console/t/{tenant}/staff/{staff}/act", Some(Action::StaffSuspend)),
    ("get", "/console/t/{tenant}/api-keys", Some(Action::ApiKeyList)),
    ("post", "/console/t/{tenant}/api-keys", Some(Action::ApiKeyCreate)),
    ("post", "/console/t/{tenant}/api-keys/{key}/revoke", Some(Action::ApiKeyRevoke)),
    ("get", "/console/t/{tenant}/policy", Some(Action::PolicyRead)),
    ("post", "/console/t/{tenant}/policy", Some(Action::PolicyChange)),
    ("get", "/console/t/{tenant}/collections", Some(Action::CollectionList)),
    ("post", "/console/t/{tenant}/collections", Some(Action::CollectionCreate)),
    ("get", "/console/system/staff", Some(Action::StaffList)),
    ("post", "/console/system/staff", Some(Action::StaffCreate)),
    ("get", "/console/system/staff/{staff}", Some(Action::StaffRead)),
    ("post", "/console/system/staff/{staff}/access", Some(Action::GrantsChange)),
    ("post", "/console/system/staff/{staff}/act", Some(Action::StaffSuspend)),
    ("get", "/console/system/policy", Some(Action::PolicyRead)),
    ("post", "/console/system/policy", Some(Action::PolicyChange)),
    ("get", "/console/audit", Some(Action::AuditQuery)),
];

/// The console's routes, merged into the application router by `http::app`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(|| async { shell::see_other("/console/") }))
        .route("/console/", get(sign_in::home))
        .route("/console/sign-in", get(sign_in::form).post(sign_in::submit))
        .route("/console/sign-out", post(sign_in::sign_out))
        .route("/console/password", get(sign_in::password_form).post(sign_in::password_submit))
        .route("/console/mfa", get(sign_in::mfa_form).post(sign_in::mfa_submit))
        .route("/console/language", post(sign_in::language))
        .route("/console/preferences", get(sign_in::preferences_form).post(sign_in::preferences_submit))
        .route("/console/static/varuh.css", get(shell::css))
        .route("/console/static/varuh.js", get(shell::js))
        .route("/console/tenants", get(dashboard::tenants).post(admin::create_tenant))
        .route("/console/t/{tenant}", get(dashboard::dashboard))
        .route("/console/t/{tenant}/subjects", get(subjects::find_form).post(subjects::find))
        .route("/console/t/{tenant}/subjects/{subject}", get(subjects::view))
        .route("/console/t/{tenant}/subjects/{subject}/erase", post(subjects::erase))
        .route("/console/t/{tenant}/subjects/{subject}/records/{collection}/{record}", post(subjects::rectify))
        .route("/console/t/{tenant}/subjects/{subject}/limits", post(subjects::limit))
        .route("/console/t/{tenant}/subjects/{subject}/consents", post(subjects::consent))
        .route("/console/t/{tenant}/subjects/{subject}/disclosures", post(subjects::disclosure))
        .route("/console/t/{tenant}/subjects/{subject}/limits/{limit}/lift", post(subjects::lift))
        .route("/console/t/{tenant}/requests", get(requests::list).post(requests::open))
        .route("/console/t/{tenant}/requests/{request}", get(requests::view))
        .route("/console/t/{tenant}/requests/{request}/step", post(requests::step))
        .route("/console/t/{tenant}/requests/{request}/report.pdf", post(requests::report_pdf))
        .route("/console/t/{tenant}/breaches", get(breaches::list).post(breaches::record))
        .route("/console/t/{tenant}/breaches/{breach}", get(breaches::view))
        .route("/console/t/{tenant}/breaches/{breach}/notify", post(breaches::notify))
        .route("/console/t/{tenant}/breaches/{breach}/notice", get(breaches::notice))
        .route("/console/t/{tenant}/approvals", get(approvals::list))
        .route("/console/t/{tenant}/approvals/{approval}", post(approvals::decide))
        .route("/console/t/{tenant}/registers", get(registers::index))
        .route("/console/t/{tenant}/registers/ropa", get(registers::ropa))
        .route("/console/t/{tenant}/registers/toms", get(registers::toms))
        .route("/console/t/{tenant}/registers/processors", get(registers::processors))
        .route("/console/t/{tenant}/registers/staff", get(registers::staff_register))
        .route("/console/t/{tenant}/registers/consent", get(registers::consent))
        .route("/console/t/{tenant}/retention", get(retention::page))
        .route("/console/t/{tenant}/retention/run", post(retention::run))
        .route("/console/t/{tenant}/retention/holds", post(retention::hold))
        .route("/console/t/{tenant}/retention/holds/{hold}/lift", post(retention::lift))
        .route("/console/t/{tenant}/staff", get(admin::staff).post(admin::create_staff))
        .route("/console/t/{tenant}/staff/{staff}", get(admin::staff_member))
        .route("/console/t/{tenant}/staff/{staff}/access", post(admin::set_access))
        .route("/console/t/{tenant}/staff/{staff}/act", post(admin::act))
        .route("/console/t/{tenant}/api-keys", get(admin::api_keys).post(admin::create_api_key))
        .route("/console/t/{tenant}/api-keys/{key}/revoke", post(admin::revoke_api_key))
        .route("/console/t/{tenant}/policy", get(admin::policy).post(admin::set_policy))
        .route("/console/t/{tenant}/collections", get(admin::collections).post(admin::create_collection))
        .route("/console/system/staff", get(admin::system_staff).post(admin::create_system_staff))
        .route("/console/system/staff/{staff}", get(admin::system_member))
        .route("/console/system/staff/{staff}/access", post(admin::system_set_access))
        .route("/console/system/staff/{staff}/act", post(admin::system_act))
        .route("/console/system/policy", get(admin::system_policy).post(admin::set_system_policy))
        .route("/console/audit", get(audit::browse))
        .layer(axum::middleware::from_fn(shell::headers))
}

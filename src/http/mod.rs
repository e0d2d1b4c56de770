//! The HTTP face: axum routes, JSON problems, authentication, OpenAPI. Thin
//! on purpose: each handler parses, calls one service function, and shapes
//! the answer. `app` builds the whole router so tests can run it in-process
//! or behind a real socket.

pub mod extract;
pub mod problem;
pub mod routes;
pub mod schemas;
pub mod server;

use crate::domain::access::Action;
use crate::service::Vault;
use axum::Router;
use std::sync::Arc;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(Clone)]
pub struct AppState {
    pub vault: Arc<Vault>,
    pub max_body_bytes: usize,
    /// Served over TLS: the console's cookies are `Secure`.
    pub secure_cookies: bool,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "varuh", description = "Personal-data vault: encrypted records of data subjects, per tenant, with the measures GDPR asks for enforced."),
    modifiers(&BearerAuth),
    components(schemas(problem::Problem))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every route with its OpenAPI description, from one list.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(routes::system::healthz))
        .routes(routes!(routes::system::readyz))
        .routes(routes!(routes::system::metrics))
        .routes(routes!(routes::identity::login))
        .routes(routes!(routes::identity::logout))
        .routes(routes!(routes::identity::me))
        .routes(routes!(routes::identity::change_password))
        .routes(routes!(routes::identity::set_preferences))
        .routes(routes!(routes::identity::mfa_enrol))
        .routes(routes!(routes::identity::mfa_confirm))
        .routes(routes!(routes::identity::recovery_codes))
        .routes(routes!(routes::identity::list_sessions))
        .routes(routes!(routes::identity::revoke_session))
        .routes(routes!(routes::identity::create_system_staff, routes::identity::list_system_staff))
        .routes(routes!(routes::identity::create_tenant_staff, routes::identity::list_tenant_staff))
        .routes(routes!(routes::identity::get_staff))
        .routes(routes!(routes::identity::set_access))
        .routes(routes!(routes::identity::suspend))
        .routes(routes!(routes::identity::reactivate))
        .routes(routes!(routes::identity::offboard))
        .routes(routes!(routes::identity::unlock))
        .routes(routes!(routes::identity::reset_password))
        .routes(routes!(routes::identity::reset_mfa))
        .routes(routes!(routes::identity::incident_reset))
        .routes(routes!(routes::identity::access_review))
        .routes(routes!(routes::identity::access_review_csv))
        .routes(routes!(routes::identity::create_api_key, routes::identity::list_api_keys))
        .routes(routes!(routes::identity::revoke_api_key))
        .routes(routes!(routes::identity::get_tenant_policy, routes::identity::put_tenant_policy))
        .routes(routes!(routes::identity::get_system_policy, routes::identity::put_system_policy))
        .routes(routes!(routes::approvals::list_approvals))
        .routes(routes!(routes::approvals::approve))
        .routes(routes!(routes::approvals::reject))
        .routes(routes!(routes::approvals::collect_export, routes::approvals::collect_export_protected))
        .routes(routes!(routes::tenancy::create_tenant, routes::tenancy::list_tenants))
        .routes(routes!(routes::tenancy::get_tenant))
        .routes(routes!(routes::tenancy::get_settings, routes::tenancy::put_settings))
        .routes(routes!(routes::tenancy::create_collection, routes::tenancy::list_collections))
        .routes(routes!(routes::tenancy::get_collection))
        .routes(routes!(routes::records::find_or_create_subject))
        .routes(routes!(routes::records::lookup_subject))
        .routes(routes!(routes::records::search_subjects))
        .routes(routes!(routes::records::merge_subjects))
        .routes(routes!(routes::access_report::access_report))
        .routes(routes!(routes::access_report::access_report_pdf))
        .routes(routes!(routes::access_report::portability))
        .routes(routes!(routes::requests::open_request, routes::requests::list_requests))
        .routes(routes!(routes::requests::get_request))
        .routes(routes!(routes::requests::verify_request))
        .routes(routes!(routes::requests::start_request))
        .routes(routes!(routes::requests::extend_request))
        .routes(routes!(routes::requests::complete_request))
        .routes(routes!(routes::requests::refuse_request))
        .routes(routes!(routes::rights::set_limit, routes::rights::list_limits))
        .routes(routes!(routes::rights::lift_limit))
        .routes(routes!(routes::rights::create_notice, routes::rights::list_notices))
        .routes(routes!(routes::rights::record_consent, routes::rights::consent_history))
        .routes(routes!(routes::rights::may_i))
        .routes(routes!(routes::rights::may_i_bulk))
        .routes(routes!(routes::rights::create_recipient, routes::rights::list_recipients))
        .routes(routes!(routes::rights::record_disclosure))
        .routes(routes!(routes::rights::subject_disclosures))
        .routes(routes!(routes::records::split_subject))
        .routes(routes!(routes::records::get_subject, routes::records::erase_subject))
        .routes(routes!(routes::records::subject_records))
        .routes(routes!(routes::records::create_record, routes::records::list_records))
        .routes(routes!(routes::records::export_records))
        .routes(routes!(routes::records::anonymised_records))
        .routes(routes!(routes::records::import_records))
        .routes(routes!(routes::retention::run))
        .routes(routes!(routes::retention::record_event))
        .routes(routes!(routes::retention::record_events))
        .routes(routes!(routes::retention::set_hold, routes::retention::list_holds))
        .routes(routes!(routes::retention::lift_hold))
        .routes(routes!(routes::backup::create, routes::backup::list))
        .routes(routes!(routes::breaches::record, routes::breaches::list))
        .routes(routes!(routes::breaches::get, routes::breaches::update))
        .routes(routes!(routes::breaches::notify))
        .routes(routes!(routes::breaches::notice))
        .routes(routes!(routes::breaches::clocks))
        .routes(routes!(routes::breaches::scope))
        .routes(routes!(routes::breaches::scope_all))
        .routes(routes!(routes::registers::create, routes::registers::list))
        .routes(routes!(routes::registers::get, routes::registers::update))
        .routes(routes!(routes::registers::records_of_processing))
        .routes(routes!(routes::registers::create_person, routes::registers::list_people))
        .routes(routes!(routes::registers::get_person, routes::registers::update_person))
        .routes(routes!(routes::registers::toms))
        .routes(routes!(routes::registers::processor_record))
        .routes(routes!(routes::audit::latest_head))
        .routes(routes!(routes::audit::create_head))
        .routes(routes!(routes::audit::inclusion))
        .routes(routes!(routes::audit::consistency))
        .routes(routes!(routes::audit::events))
        .routes(routes!(routes::audit::export))
        .routes(routes!(
            routes::records::get_record,
            routes::records::replace_record,
            routes::records::patch_record,
            routes::records::delete_record
        ))
}

/// Which use case (action of the permission table) each route runs;
/// `None`: public (health, readiness). The OpenAPI document carries it as
/// `x-varuh-action`, and the authorisation-matrix test derives from it,
/// with the permission table, what every role must get on every route: a
/// route missing here fails that test.
pub const ROUTES: &[(&str, &str, Option<Action>)] = &[
    ("get", "/healthz", None),
    ("get", "/readyz", None),
    ("get", "/metrics", None),
    ("post", "/v1/auth/login", Some(Action::Login)),
    ("post", "/v1/auth/logout", Some(Action::Logout)),
    ("get", "/v1/auth/me", Some(Action::Me)),
    ("post", "/v1/auth/password", Some(Action::PasswordChange)),
    ("put", "/v1/auth/preferences", Some(Action::PreferencesChange)),
    ("post", "/v1/auth/mfa/enrol", Some(Action::MfaEnrol)),
    ("post", "/v1/auth/mfa/confirm", Some(Action::MfaConfirm)),
    ("post", "/v1/auth/mfa/recovery-codes", Some(Action::RecoveryRegenerate)),
    ("get", "/v1/auth/sessions", Some(Action::SessionList)),
    ("delete", "/v1/auth/sessions/{session}", Some(Action::SessionRevoke)),
    ("post", "/v1/staff", Some(Action::StaffCreate)),
    ("get", "/v1/staff", Some(Action::StaffList)),
    ("post", "/v1/tenants/{tenant}/staff", Some(Action::StaffCreate)),
    ("get", "/v1/tenants/{tenant}/staff", Some(Action::StaffList)),
    ("get", "/v1/tenants/{tenant}/staff/{staff}", Some(Action::StaffRead)),
    ("put", "/v1/tenants/{tenant}/staff/{staff}/access", Some(Action::GrantsChange)),
    ("post", "/v1/tenants/{tenant}/staff/{staff}/suspend", Some(Action::StaffSuspend)),
    ("post", "/v1/tenants/{tenant}/staff/{staff}/reactivate", Some(Action::StaffReactivate)),
    ("post", "/v1/tenants/{tenant}/staff/{staff}/offboard", Some(Action::StaffOffboard)),
    ("post", "/v1/tenants/{tenant}/staff/{staff}/unlock", Some(Action::StaffUnlock)),
    ("post", "/v1/tenants/{tenant}/staff/{staff}/reset-password", Some(Action::StaffResetPassword)),
    ("post", "/v1/tenants/{tenant}/staff/{staff}/reset-mfa", Some(Action::StaffResetMfa)),
    ("post", "/v1/tenants/{tenant}/incident-reset", Some(Action::IncidentReset)),
    ("get", "/v1/tenants/{tenant}/access-review", Some(Action::AccessReview)),
    ("get", "/v1/tenants/{tenant}/access-review.csv", Some(Action::AccessReview)),
    ("post", "/v1/tenants/{tenant}/api-keys", Some(Action::ApiKeyCreate)),
    ("get", "/v1/tenants/{tenant}/api-keys", Some(Action::ApiKeyList)),
    ("delete", "/v1/tenants/{tenant}/api-keys/{key}", Some(Action::ApiKeyRevoke)),
    ("get", "/v1/tenants/{tenant}/policy", Some(Action::PolicyRead)),
    ("put", "/v1/tenants/{tenant}/policy", Some(Action::PolicyChange)),
    ("get", "/v1/policy", Some(Action::PolicyRead)),
    ("put", "/v1/policy", Some(Action::PolicyChange)),
    ("get", "/v1/tenants/{tenant}/approvals", Some(Action::ApprovalList)),
    ("post", "/v1/tenants/{tenant}/approvals/{approval}/approve", Some(Action::ApprovalDecide)),
    ("post", "/v1/tenants/{tenant}/approvals/{approval}/reject", Some(Action::ApprovalDecide)),
    ("get", "/v1/tenants/{tenant}/approvals/{approval}/export", Some(Action::RecordsExport)),
    ("post", "/v1/tenants/{tenant}/approvals/{approval}/export", Some(Action::RecordsExport)),
    ("post", "/v1/tenants", Some(Action::TenantCreate)),
    ("get", "/v1/tenants", Some(Action::TenantList)),
    ("get", "/v1/tenants/{tenant}", Some(Action::TenantRead)),
    ("get", "/v1/tenants/{tenant}/settings", Some(Action::TenantSettingsRead)),
    ("put", "/v1/tenants/{tenant}/settings", Some(Action::TenantSettingsChange)),
    ("post", "/v1/tenants/{tenant}/collections", Some(Action::CollectionCreate)),
    ("get", "/v1/tenants/{tenant}/collections", Some(Action::CollectionList)),
    ("get", "/v1/tenants/{tenant}/collections/{collection}", Some(Action::CollectionRead)),
    ("post", "/v1/tenants/{tenant}/subjects", Some(Action::SubjectFindOrCreate)),
    ("post", "/v1/tenants/{tenant}/subjects/lookup", Some(Action::SubjectLookup)),
    ("post", "/v1/tenants/{tenant}/subjects/search", Some(Action::SubjectSearch)),
    ("post", "/v1/tenants/{tenant}/subjects/{subject}/merge", Some(Action::SubjectMerge)),
    ("get", "/v1/tenants/{tenant}/subjects/{subject}/access-report", Some(Action::SubjectAccessReport)),
    ("post", "/v1/tenants/{tenant}/subjects/{subject}/access-report.pdf", Some(Action::SubjectAccessReport)),
    ("post", "/v1/tenants/{tenant}/subjects/{subject}/portability", Some(Action::SubjectPortability)),
    ("post", "/v1/tenants/{tenant}/requests", Some(Action::RequestOpen)),
    ("get", "/v1/tenants/{tenant}/requests", Some(Action::RequestList)),
    ("get", "/v1/tenants/{tenant}/requests/{request}", Some(Action::RequestRead)),
    ("post", "/v1/tenants/{tenant}/requests/{request}/verify", Some(Action::RequestVerify)),
    ("post", "/v1/tenants/{tenant}/requests/{request}/start", Some(Action::RequestStart)),
    ("post", "/v1/tenants/{tenant}/requests/{request}/extend", Some(Action::RequestExtend)),
    ("post", "/v1/tenants/{tenant}/requests/{request}/complete", Some(Action::RequestComplete)),
    ("post", "/v1/tenants/{tenant}/requests/{request}/refuse", Some(Action::RequestRefuse)),
    ("post", "/v1/tenants/{tenant}/subjects/{subject}/limits", Some(Action::SubjectLimitSet)),
    ("get", "/v1/tenants/{tenant}/subjects/{subject}/limits", Some(Action::SubjectLimitList)),
    ("post", "/v1/tenants/{tenant}/subjects/{subject}/limits/{limit}/lift", Some(Action::SubjectLimitLift)),
    ("post", "/v1/tenants/{tenant}/consent-notices", Some(Action::ConsentNoticeCreate)),
    ("get", "/v1/tenants/{tenant}/consent-notices", Some(Action::ConsentNoticeList)),
    ("post", "/v1/tenants/{tenant}/subjects/{subject}/consents", Some(Action::ConsentRecord)),
    ("get", "/v1/tenants/{tenant}/subjects/{subject}/consents", Some(Action::ConsentHistory)),
    ("get", "/v1/tenants/{tenant}/subjects/{subject}/may", Some(Action::MayI)),
    ("post", "/v1/tenants/{tenant}/may", Some(Action::MayIBulk)),
    ("post", "/v1/tenants/{tenant}/recipients", Some(Action::RecipientCreate)),
    ("get", "/v1/tenants/{tenant}/recipients", Some(Action::RecipientList)),
    ("post", "/v1/tenants/{tenant}/disclosures", Some(Action::DisclosureRecord)),
    ("get", "/v1/tenants/{tenant}/subjects/{subject}/disclosures", Some(Action::SubjectDisclosures)),
    ("post", "/v1/tenants/{tenant}/subjects/{subject}/split", Some(Action::SubjectSplit)),
    ("get", "/v1/tenants/{tenant}/subjects/{subject}", Some(Action::SubjectRead)),
    ("delete", "/v1/tenants/{tenant}/subjects/{subject}", Some(Action::SubjectErase)),
    ("get", "/v1/tenants/{tenant}/subjects/{subject}/records", Some(Action::SubjectRecords)),
    ("post", "/v1/tenants/{tenant}/collections/{collection}/export", Some(Action::RecordsExport)),
    ("get", "/v1/tenants/{tenant}/collections/{collection}/anonymised", Some(Action::RecordsAnonymised)),
    ("post", "/v1/tenants/{tenant}/collections/{collection}/import", Some(Action::RecordsImport)),
    ("post", "/v1/tenants/{tenant}/collections/{collection}/records", Some(Action::RecordCreate)),
    ("get", "/v1/tenants/{tenant}/collections/{collection}/records", Some(Action::RecordList)),
    ("get", "/v1/tenants/{tenant}/collections/{collection}/records/{record}", Some(Action::RecordRead)),
    ("put", "/v1/tenants/{tenant}/collections/{collection}/records/{record}", Some(Action::RecordUpdate)),
    ("patch", "/v1/tenants/{tenant}/collections/{collection}/records/{record}", Some(Action::RecordUpdate)),
    ("delete", "/v1/tenants/{tenant}/collections/{collection}/records/{record}", Some(Action::RecordDelete)),
    ("post", "/v1/tenants/{tenant}/retention/run", Some(Action::RetentionRun)),
    ("post", "/v1/tenants/{tenant}/subjects/{subject}/retention-events", Some(Action::RetentionEventRecord)),
    ("post", "/v1/tenants/{tenant}/retention-events", Some(Action::RetentionEventRecord)),
    ("post", "/v1/tenants/{tenant}/legal-holds", Some(Action::LegalHoldSet)),
    ("get", "/v1/tenants/{tenant}/legal-holds", Some(Action::LegalHoldList)),
    ("post", "/v1/tenants/{tenant}/legal-holds/{hold}/lift", Some(Action::LegalHoldLift)),
    ("post", "/v1/tenants/{tenant}/breaches", Some(Action::BreachRecord)),
    ("get", "/v1/tenants/{tenant}/breaches", Some(Action::BreachList)),
    ("get", "/v1/tenants/{tenant}/breaches/{breach}", Some(Action::BreachRead)),
    ("put", "/v1/tenants/{tenant}/breaches/{breach}", Some(Action::BreachUpdate)),
    ("post", "/v1/tenants/{tenant}/breaches/{breach}/notifications", Some(Action::BreachNotify)),
    ("get", "/v1/tenants/{tenant}/breaches/{breach}/notice", Some(Action::BreachDocument)),
    ("get", "/v1/tenants/{tenant}/breach-clocks", Some(Action::BreachList)),
    ("post", "/v1/tenants/{tenant}/breach-scope", Some(Action::BreachScope)),
    ("post", "/v1/system/breach-scope", Some(Action::BreachScopeAll)),
    ("post", "/v1/tenants/{tenant}/processors", Some(Action::ProcessorCreate)),
    ("get", "/v1/tenants/{tenant}/processors", Some(Action::ProcessorList)),
    ("get", "/v1/tenants/{tenant}/processors/{processor}", Some(Action::ProcessorRead)),
    ("put", "/v1/tenants/{tenant}/processors/{processor}", Some(Action::ProcessorUpdate)),
    ("get", "/v1/tenants/{tenant}/records-of-processing", Some(Action::RopaRead)),
    ("post", "/v1/tenants/{tenant}/staff-register", Some(Action::StaffRegisterCreate)),
    ("get", "/v1/tenants/{tenant}/staff-register", Some(Action::StaffRegisterList)),
    ("get", "/v1/tenants/{tenant}/staff-register/{entry}", Some(Action::StaffRegisterRead)),
    ("put", "/v1/tenants/{tenant}/staff-register/{entry}", Some(Action::StaffRegisterUpdate)),
    ("get", "/v1/tenants/{tenant}/toms", Some(Action::TomsRead)),
    ("get", "/v1/system/records-of-processing", Some(Action::RopaProcessorRead)),
    ("post", "/v1/system/backups", Some(Action::BackupCreate)),
    ("get", "/v1/system/backups", Some(Action::BackupList)),
    ("get", "/v1/audit/head", Some(Action::AuditHeadRead)),
    ("post", "/v1/audit/heads", Some(Action::AuditHeadCreate)),
    ("get", "/v1/audit/proofs/inclusion", Some(Action::AuditInclusion)),
    ("get", "/v1/audit/proofs/consistency", Some(Action::AuditConsistency)),
    ("get", "/v1/audit/events", Some(Action::AuditQuery)),
    ("get", "/v1/audit/export", Some(Action::AuditExport)),
];

/// The OpenAPI 3.1 document of the API, generated from the routes, with
/// each operation's action (`x-varuh-action`, `"public"` for none) and
/// problems documented as `application/problem+json`, as they are served.
pub fn openapi() -> serde_json::Value {
    let mut doc = serde_json::to_value(routes().split_for_parts().1).unwrap_or_default();
    schemas::register(&mut doc);
    let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) else { return doc };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for (method, op) in item.iter_mut() {
            let action = ROUTES
                .iter()
                .find(|(m, p, _)| m == method && p == path)
                .map(|(_, _, a)| a.map(|a| a.name()).unwrap_or("public"));
            if let Some(op) = op.as_object_mut() {
                op.insert("x-varuh-action".into(), serde_json::Value::from(action.unwrap_or("unmapped")));
                document_common_answers(path, op);
                if path.ends_with("/policy") {
                    // The policy's own schema (domain data, written out in `schemas`).
                    let policy = serde_json::json!({"$ref": "#/components/schemas/Policy"});
                    for ptr in [
                        "/requestBody/content/application~1json/schema",
                        "/responses/200/content/application~1json/schema",
                    ] {
                        if let Some(v) = op_value_mut(op, ptr) {
                            *v = policy.clone();
                        }
                    }
                }
                if let Some(responses) = op.get_mut("responses").and_then(|r| r.as_object_mut()) {
                    for r in responses.values_mut() {
                        let Some(content) = r.get_mut("content").and_then(|c| c.as_object_mut()) else { continue };
                        let is_problem = content
                            .get("application/json")
                            .and_then(|j| j.pointer("/schema/$ref"))
                            .is_some_and(|r| r == "#/components/schemas/Problem");
                        if is_problem {
                            if let Some(v) = content.remove("application/json") {
                                content.insert("application/problem+json".into(), v);
                            }
                        }
                    }
                }
            }
        }
    }
    doc
}

/// The answers any operation may give besides its own, documented on each
/// so that the document says exactly what the server does: a signed-in
/// route may answer 401 (no or bad token) and 403 (the rule, or a password
/// to change / MFA to enrol first); a route with path parameters 404; one
/// with a body 400 (malformed JSON), 413 (too large), 415 (not JSON) and
/// 422; one with query parameters 422; every route but `/healthz` 503
/// (the store is not available).
fn document_common_answers(path: &str, op: &mut serde_json::Map<String, serde_json::Value>) {
    let problem = |why: &str| {
        serde_json::json!({
            "description": why,
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
        })
    };
    let mut add: Vec<(&str, &str)> = Vec::new();
    if op.contains_key("security") {
        add.push(("401", "No valid bearer token"));
        add.push(("403", "Not permitted, or a password change or MFA enrolment comes first"));
    }
    if path.contains('{') {
        add.push(("404", "Not found (also another tenant's objects)"));
    }
    if op.contains_key("requestBody") {
        add.extend([
            ("400", "Malformed JSON"),
            ("413", "Body too large"),
            ("415", "Body is not JSON"),
            ("422", "Invalid request"),
        ]);
    }
    let has_query =
        op.get("parameters").and_then(|p| p.as_array()).is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
    if has_query {
        add.push(("422", "Invalid query parameter"));
    }
    if path != "/healthz" {
        add.push(("503", "The store is not available"));
    }
    let Some(responses) = op.get_mut("responses").and_then(|r| r.as_object_mut()) else { return };
    for (code, why) in add {
        responses.entry(code.to_string()).or_insert_with(|| problem(why));
    }
}

fn op_value_mut<'a>(
    op: &'a mut serde_json::Map<String, serde_json::Value>,
    ptr: &str,
) -> Option<&'a mut serde_json::Value> {
    let (first, rest) = ptr.trim_start_matches('/').split_once('/')?;
    op.get_mut(first)?.pointer_mut(&format!("/{rest}"))
}

/// The application router.
pub fn app(state: AppState) -> Router {
    let (router, _) = routes().split_for_parts();
    let api = Arc::new(openapi());
    router
        .merge(crate::console::router())
        .route(
            "/openapi.json",
            axum::routing::get(move || {
                let api = api.clone();
                async move { axum::Json(api.as_ref().clone()) }
            }),
        )
        .fallback(|| async { problem::Problem::not_found("route") })
        .method_not_allowed_fallback(|| async {
            problem::Problem::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
                "this route does not take this method",
            )
        })
        .layer(axum::middleware::from_fn(access_log))
        .with_state(state)
}

/// One structured line per request: method, route template (never the
/// concrete path, so no id or value), status and latency.
async fn access_log(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    if !tracing::enabled!(target: "varuh::access", tracing::Level::DEBUG) {
        return next.run(req).await;
    }
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "(unmatched)".into());
    let start = std::time::Instant::now();
    let resp = next.run(req).await;
    tracing::debug!(target: "varuh::access", %method, %route, status = resp.status().as_u16(), micros = start.elapsed().as_micros() as u64, "request");
    resp
}

/// Parses an id from the path; a malformed id is simply not found.
pub(crate) fn path_id(s: &str, what: &'static str) -> Result<uuid::Uuid, problem::Problem> {
    s.parse().map_err(|_| problem::Problem::not_found(what))
}

/// A document to download: its media type, `Content-Disposition:
/// attachment` with the file name.
pub(crate) fn attachment(bytes: Vec<u8>, media: &'static str, name: &str) -> axum::response::Response {
    use axum::http::{header, HeaderValue};
    use axum::response::IntoResponse;
    let mut resp = (axum::http::StatusCode::OK, bytes).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

pub(crate) fn time(ms: i64) -> String {
    crate::clock::rfc3339(ms)
}

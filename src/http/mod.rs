//! The HTTP face: axum routes, JSON problems, authentication, OpenAPI. Thin
//! on purpose: each handler parses, calls one service function, and shapes
//! the answer. `app` builds the whole router so tests can run it in-process
//! or behind a real socket.

pub mod extract;
pub mod problem;
mod routes_audit;
mod routes_auth;
mod routes_records;
mod routes_system;
mod routes_tenants;
pub mod server;

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
        components.add_security_scheme("bearer", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
    }
}

/// Every route with its OpenAPI description, from one list.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(routes_system::healthz))
        .routes(routes!(routes_system::readyz))
        .routes(routes!(routes_auth::login))
        .routes(routes!(routes_auth::logout))
        .routes(routes!(routes_auth::me))
        .routes(routes!(routes_auth::change_password))
        .routes(routes!(routes_auth::create_system_staff, routes_auth::list_system_staff))
        .routes(routes!(routes_auth::create_tenant_staff, routes_auth::list_tenant_staff))
        .routes(routes!(routes_tenants::create_tenant, routes_tenants::list_tenants))
        .routes(routes!(routes_tenants::get_tenant))
        .routes(routes!(routes_tenants::create_collection, routes_tenants::list_collections))
        .routes(routes!(routes_tenants::get_collection))
        .routes(routes!(routes_records::find_or_create_subject))
        .routes(routes!(routes_records::lookup_subject))
        .routes(routes!(routes_records::get_subject, routes_records::erase_subject))
        .routes(routes!(routes_records::subject_records))
        .routes(routes!(routes_records::create_record, routes_records::list_records))
        .routes(routes!(routes_audit::latest_head))
        .routes(routes!(routes_audit::create_head))
        .routes(routes!(routes_audit::inclusion))
        .routes(routes!(routes_audit::consistency))
        .routes(routes!(routes_audit::events))
        .routes(routes!(routes_audit::export))
        .routes(routes!(
            routes_records::get_record,
            routes_records::replace_record,
            routes_records::patch_record,
            routes_records::delete_record
        ))
}

/// The OpenAPI 3.1 document of the API, generated from the routes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

/// The application router.
pub fn app(state: AppState) -> Router {
    let (router, api) = routes().split_for_parts();
    let api = Arc::new(api);
    router
        .route(
            "/openapi.json",
            axum::routing::get(move || {
                let api = api.clone();
                async move { axum::Json(api.as_ref().clone()) }
            }),
        )
        .fallback(|| async { problem::Problem::not_found("route") })
        .method_not_allowed_fallback(|| async {
            problem::Problem::new(axum::http::StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed", "Method not allowed", "this route does not take this method")
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
    let route = req.extensions().get::<axum::extract::MatchedPath>().map(|m| m.as_str().to_string()).unwrap_or_else(|| "(unmatched)".into());
    let start = std::time::Instant::now();
    let resp = next.run(req).await;
    tracing::debug!(target: "varuh::access", %method, %route, status = resp.status().as_u16(), micros = start.elapsed().as_micros() as u64, "request");
    resp
}

/// Parses an id from the path; a malformed id is simply not found.
pub(crate) fn path_id(s: &str, what: &'static str) -> Result<uuid::Uuid, problem::Problem> {
    s.parse().map_err(|_| problem::Problem::not_found(what))
}

pub(crate) fn time(ms: i64) -> String {
    crate::clock::rfc3339(ms)
}

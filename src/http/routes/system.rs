//! Liveness and readiness: the only routes without authentication.

use crate::http::problem::Problem;
use crate::http::AppState;
use crate::service::Readiness;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct Status {
    pub status: &'static str,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "system", responses((status = 200, body = Status)))]
pub async fn healthz() -> Json<Status> {
    Json(Status { status: "ok" })
}

/// Readiness: the database answers and takes writes. 503 while it is
/// unreachable or read-only (a load balancer then sends requests to another
/// server); the server opens its connections again by itself.
#[utoipa::path(get, path = "/readyz", tag = "system", responses((status = 200, body = Status), (status = 503, body = Problem)))]
pub async fn readyz(State(s): State<AppState>) -> Result<Json<Status>, Problem> {
    let not_ready = |detail: &str| Problem::new(StatusCode::SERVICE_UNAVAILABLE, "not-ready", "Not ready", detail);
    match s.vault.ready().await {
        Readiness::Ready => Ok(Json(Status { status: "ready" })),
        Readiness::ReadOnly => {
            Err(not_ready("the database is read-only (a standby or a failed-over primary): writes are refused"))
        }
        Readiness::Unreachable => Err(not_ready("the database is unreachable")),
    }
}

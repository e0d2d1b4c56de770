//! Liveness and readiness: the only routes without authentication.

use crate::http::problem::{ApiResult, Problem};
use crate::http::AppState;
use axum::extract::State;
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

/// Readiness: the store answers a query.
#[utoipa::path(get, path = "/readyz", tag = "system", responses((status = 200, body = Status), (status = 503, body = Problem)))]
pub async fn readyz(State(s): State<AppState>) -> ApiResult<Json<Status>> {
    s.vault.ready().await?;
    Ok(Json(Status { status: "ready" }))
}

//! Liveness, readiness (with what monitoring needs: the last backup,
//! retention run and audit verification, the erasure journal's backlog,
//! the alerts of this server: kinds and times, no detail) and Prometheus
//! metrics. `/healthz` and `/readyz` take no authentication; `/metrics`
//! takes the configured `metrics_token` as a bearer token.

use crate::http::problem::Problem;
use crate::http::AppState;
use crate::service::alerts::JobStatus;
use crate::service::Readiness;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct Status {
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Details>,
}

#[derive(Serialize, ToSchema)]
pub struct Details {
    pub jobs: Vec<JobOut>,
    /// Erasures not yet copied to every backup destination, and since when.
    pub erasure_journal_backlog: i64,
    pub erasure_journal_oldest: Option<String>,
    /// The latest alert of each kind this server raised (no detail: see the channels).
    pub alerts: Vec<AlertOut>,
}

#[derive(Serialize, ToSchema)]
pub struct JobOut {
    /// `backup`, `retention` or `audit_verify`.
    pub job: String,
    pub finished_at: Option<String>,
    pub ok: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct AlertOut {
    pub kind: String,
    pub at: String,
}

fn job_out(j: &JobStatus) -> JobOut {
    JobOut { job: j.job.to_string(), finished_at: j.finished_at_ms.map(crate::http::time), ok: j.ok }
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "system", responses((status = 200, body = Status)))]
pub async fn healthz() -> Json<Status> {
    Json(Status { status: "ok", details: None })
}

/// Readiness: the database answers and takes writes. 503 while it is
/// unreachable or read-only (a load balancer then sends requests to another
/// server); the server opens its connections again by itself.
#[utoipa::path(get, path = "/readyz", tag = "system", responses((status = 200, body = Status), (status = 503, body = Problem)))]
pub async fn readyz(State(s): State<AppState>) -> Result<Json<Status>, Problem> {
    let not_ready = |detail: &str| Problem::new(StatusCode::SERVICE_UNAVAILABLE, "not-ready", "Not ready", detail);
    match s.vault.ready().await {
        Readiness::Ready => {
            let details = s.vault.monitoring().await.ok().map(|m| Details {
                jobs: m.jobs.iter().map(job_out).collect(),
                erasure_journal_backlog: m.journal_backlog,
                erasure_journal_oldest: m.journal_oldest_ms.map(crate::http::time),
                alerts: m
                    .alerts
                    .iter()
                    .map(|a| AlertOut { kind: a.kind.as_str().into(), at: crate::http::time(a.at_ms) })
                    .collect(),
            });
            Ok(Json(Status { status: "ready", details }))
        }
        Readiness::ReadOnly => {
            Err(not_ready("the database is read-only (a standby or a failed-over primary): writes are refused"))
        }
        Readiness::Unreachable => Err(not_ready("the database is unreachable")),
    }
}

/// Prometheus metrics (text format 0.0.4): readiness, the jobs' last runs,
/// the erasure journal's backlog, alerts by kind. Needs `Authorization:
/// Bearer <metrics_token>`: 401 without it (always, when no token is
/// configured: metrics are off).
#[utoipa::path(get, path = "/metrics", tag = "system", security(("bearer" = [])),
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain"), (status = 401, body = Problem)))]
pub async fn metrics(State(s): State<AppState>, headers: HeaderMap) -> Result<Response, Problem> {
    let unauthenticated = || {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Authentication required",
            "GET /metrics needs the metrics token (Authorization: Bearer …; metrics_token in the configuration)",
        )
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(unauthenticated)?;
    // Off (no token configured): every token is a wrong one.
    let expected = s.vault.settings.metrics_token.as_deref().ok_or_else(unauthenticated)?;
    // Compared as digests, in constant time: neither the token nor its length leaks.
    use sha2::Digest;
    let same = subtle::ConstantTimeEq::ct_eq(&sha2::Sha256::digest(given)[..], &sha2::Sha256::digest(expected)[..]);
    if !bool::from(same) {
        return Err(unauthenticated());
    }
    let ready = matches!(s.vault.ready().await, Readiness::Ready);
    let mut out = String::new();
    out.push_str("# HELP varuh_ready 1 when the database answers and takes writes.\n# TYPE varuh_ready gauge\n");
    out.push_str(&format!("varuh_ready {}\n", u8::from(ready)));
    if let Ok(m) = s.vault.monitoring().await {
        out.push_str("# HELP varuh_job_last_finished_seconds When a scheduled job last finished (Unix time).\n# TYPE varuh_job_last_finished_seconds gauge\n");
        for j in &m.jobs {
            if let Some(t) = j.finished_at_ms {
                out.push_str(&format!("varuh_job_last_finished_seconds{{job=\"{}\"}} {}\n", j.job, t / 1000));
            }
        }
        out.push_str("# HELP varuh_job_last_ok 1 if the job's last run succeeded.\n# TYPE varuh_job_last_ok gauge\n");
        for j in &m.jobs {
            if let Some(ok) = j.ok {
                out.push_str(&format!("varuh_job_last_ok{{job=\"{}\"}} {}\n", j.job, u8::from(ok)));
            }
        }
        out.push_str("# HELP varuh_erasure_journal_backlog Erasures not yet copied to every backup destination.\n# TYPE varuh_erasure_journal_backlog gauge\n");
        out.push_str(&format!("varuh_erasure_journal_backlog {}\n", m.journal_backlog));
        out.push_str("# HELP varuh_alerts_total Alerts raised by this server since it started.\n# TYPE varuh_alerts_total counter\n");
        for (k, n) in &m.alert_counts {
            out.push_str(&format!("varuh_alerts_total{{kind=\"{}\"}} {n}\n", k.as_str()));
        }
    }
    if s.vault.store.dialect() == crate::store::db::Dialect::Postgres {
        use std::sync::atomic::Ordering::Relaxed;
        let c = &s.vault.audit_contention;
        out.push_str("# HELP varuh_audit_pushes_total Batches of audit events this server sent: as it numbered them, or numbered anew by the database because another server had appended since.\n# TYPE varuh_audit_pushes_total counter\n");
        out.push_str(&format!("varuh_audit_pushes_total{{result=\"as_numbered\"}} {}\n", c.as_numbered.load(Relaxed)));
        out.push_str(&format!("varuh_audit_pushes_total{{result=\"renumbered\"}} {}\n", c.renumbered.load(Relaxed)));
        out.push_str("# HELP varuh_audit_lock_first_total Batches of events alone that took the trail's lock before gathering them (other servers were appending).\n# TYPE varuh_audit_lock_first_total counter\n");
        out.push_str(&format!("varuh_audit_lock_first_total {}\n", c.lock_first.load(Relaxed)));
        out.push_str("# HELP varuh_audit_early_commits_total Batches of creates that let the trail's lock go before their disk flush (other servers were appending).\n# TYPE varuh_audit_early_commits_total counter\n");
        out.push_str(&format!("varuh_audit_early_commits_total {}\n", c.early_commits.load(Relaxed)));
    }
    if let Some(c) = &s.vault.record_cache {
        use std::sync::atomic::Ordering::Relaxed;
        out.push_str("# HELP varuh_record_cache_reads_total Reads of a record by id, answered from this server's cache (hit) or not (miss).\n# TYPE varuh_record_cache_reads_total counter\n");
        out.push_str(&format!("varuh_record_cache_reads_total{{result=\"hit\"}} {}\n", c.hits.load(Relaxed)));
        out.push_str(&format!("varuh_record_cache_reads_total{{result=\"miss\"}} {}\n", c.misses.load(Relaxed)));
        out.push_str("# HELP varuh_record_cache_bytes What the records this server keeps in memory take (record_cache_mb is the bound).\n# TYPE varuh_record_cache_bytes gauge\n");
        out.push_str(&format!("varuh_record_cache_bytes {}\n", c.bytes()));
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response())
}

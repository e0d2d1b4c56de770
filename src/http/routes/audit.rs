//! The audit trail over HTTP: signed tree heads, inclusion and consistency
//! proofs, queries and exports. Administrators only; every call is itself
//! recorded (by the service).

use crate::audit::hex;
use crate::http::extract::{Auth, Params};
use crate::http::problem::{ApiResult, Problem};
use crate::http::{time, AppState};
use crate::service::audit::{Head, StoredEvent};
use crate::store::queries::AuditFilter;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Serialize, ToSchema)]
pub struct HeadOut {
    pub tree_size: u64,
    /// Hex of the root hash.
    pub root: String,
    pub time: String,
    /// The C2SP checkpoint: a signed note.
    pub checkpoint: String,
    /// The verifier key of the signature (`name+id+key`).
    pub key: String,
}

fn head_out(s: &AppState, h: Head) -> HeadOut {
    HeadOut {
        tree_size: h.tree_size,
        root: hex(&h.root),
        time: time(h.time_ms),
        checkpoint: h.checkpoint,
        key: s.vault.audit_key().encode(),
    }
}

/// The latest signed tree head.
#[utoipa::path(get, path = "/v1/audit/head", tag = "audit", security(("bearer" = [])),
    responses((status = 200, body = HeadOut), (status = 403, body = Problem)))]
pub async fn latest_head(State(s): State<AppState>, a: Auth) -> ApiResult<Json<HeadOut>> {
    let h = s.vault.latest_head(&a.actor).await?;
    Ok(Json(head_out(&s, h)))
}

/// Makes a signed tree head now.
#[utoipa::path(post, path = "/v1/audit/heads", tag = "audit", security(("bearer" = [])),
    responses((status = 201, body = HeadOut), (status = 403, body = Problem)))]
pub async fn create_head(State(s): State<AppState>, a: Auth) -> ApiResult<(StatusCode, Json<HeadOut>)> {
    let h = s.vault.request_head(&a.actor).await?;
    Ok((StatusCode::CREATED, Json(head_out(&s, h))))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    /// Below `tree_size`.
    #[param(maximum = 9223372036854775807u64)]
    pub seq: u64,
    #[param(maximum = 9223372036854775807u64)]
    pub tree_size: u64,
}

#[derive(Serialize, ToSchema)]
pub struct InclusionOut {
    pub seq: u64,
    pub tree_size: u64,
    pub leaf_hash: String,
    /// Hex hashes, leaf to root (RFC 9162 §2.1.3).
    pub path: Vec<String>,
}

/// Inclusion proof of one event in a tree size.
#[utoipa::path(get, path = "/v1/audit/proofs/inclusion", tag = "audit", security(("bearer" = [])), params(InclusionQuery),
    responses((status = 200, body = InclusionOut), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn inclusion(
    State(s): State<AppState>,
    a: Auth,
    Params(q): Params<InclusionQuery>,
) -> ApiResult<Json<InclusionOut>> {
    let (leaf, path) = s.vault.inclusion_proof(&a.actor, q.seq, q.tree_size).await?;
    Ok(Json(InclusionOut {
        seq: q.seq,
        tree_size: q.tree_size,
        leaf_hash: hex(&leaf),
        path: path.iter().map(|h| hex(h)).collect(),
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    /// At most `second`.
    #[param(maximum = 9223372036854775807u64)]
    pub first: u64,
    #[param(maximum = 9223372036854775807u64)]
    pub second: u64,
}

#[derive(Serialize, ToSchema)]
pub struct ConsistencyOut {
    pub first: u64,
    pub second: u64,
    /// Hex hashes (RFC 9162 §2.1.4).
    pub proof: Vec<String>,
}

/// Consistency proof between two tree sizes.
#[utoipa::path(get, path = "/v1/audit/proofs/consistency", tag = "audit", security(("bearer" = [])), params(ConsistencyQuery),
    responses((status = 200, body = ConsistencyOut), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn consistency(
    State(s): State<AppState>,
    a: Auth,
    Params(q): Params<ConsistencyQuery>,
) -> ApiResult<Json<ConsistencyOut>> {
    let proof = s.vault.consistency_proof(&a.actor, q.first, q.second).await?;
    Ok(Json(ConsistencyOut { first: q.first, second: q.second, proof: proof.iter().map(|h| hex(h)).collect() }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    #[param(value_type = Option<String>, format = "uuid")]
    pub tenant: Option<uuid::Uuid>,
    /// Who has seen this person's data (needs `tenant`).
    #[param(value_type = Option<String>, format = "uuid")]
    pub subject: Option<uuid::Uuid>,
    /// What this staff member did.
    #[param(value_type = Option<String>, format = "uuid")]
    pub actor: Option<uuid::Uuid>,
    /// e.g. `record.read`.
    pub action: Option<String>,
    /// Time window, RFC 3339: from (inclusive) and to (exclusive).
    #[param(format = DateTime)]
    pub from: Option<String>,
    #[param(format = DateTime)]
    pub to: Option<String>,
    /// The last seq of the previous page.
    #[param(minimum = 0)]
    pub after: Option<i64>,
    /// 1-1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct EventOut {
    pub seq: u64,
    pub time: String,
    /// The event as stored (the leaf data), as a JSON object.
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
    pub leaf_hash: String,
}

#[derive(Serialize, ToSchema)]
pub struct EventsOut {
    pub events: Vec<EventOut>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<u64>,
}

fn event_out(e: &StoredEvent) -> EventOut {
    EventOut {
        seq: e.event.seq,
        time: time(e.event.time),
        event: serde_json::from_str(&e.body).unwrap_or(serde_json::Value::Null),
        leaf_hash: e.leaf_hash.clone(),
    }
}

fn parse_time(field: &'static str, v: Option<String>) -> Result<Option<i64>, Problem> {
    v.map(|t| {
        crate::clock::parse_rfc3339(&t)
            .ok_or_else(|| Problem::invalid(field.to_string(), "must be an RFC 3339 time".to_string()))
    })
    .transpose()
}

/// Audit events by subject, actor, action and time window; paged, oldest first.
#[utoipa::path(get, path = "/v1/audit/events", tag = "audit", security(("bearer" = [])), params(EventsQuery),
    responses((status = 200, body = EventsOut), (status = 403, body = Problem), (status = 404, body = Problem, description = "No such tenant (or another tenant's)"), (status = 422, body = Problem)))]
pub async fn events(State(s): State<AppState>, a: Auth, Params(q): Params<EventsQuery>) -> ApiResult<Json<EventsOut>> {
    if q.after.is_some_and(|a| a < 0) {
        return Err(Problem::invalid("after", "must be at least 0"));
    }
    let limit = q.limit.unwrap_or(100);
    let f = AuditFilter {
        tenant: q.tenant,
        subject: q.subject,
        actor: q.actor,
        action: q.action,
        from_ms: parse_time("from", q.from)?,
        to_ms: parse_time("to", q.to)?,
        after: q.after,
        limit,
    };
    let evs = s.vault.query_events(&a.actor, f).await?;
    let next_after = (evs.len() as i64 == limit).then(|| evs.last().map(|e| e.event.seq)).flatten();
    Ok(Json(EventsOut { events: evs.iter().map(event_out).collect(), next_after }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// First seq (default 0).
    #[param(minimum = 0, maximum = 9223372036854775807u64)]
    pub from: Option<u64>,
    /// One past the last seq (default: the latest head's size).
    #[param(minimum = 0, maximum = 9223372036854775807u64)]
    pub to: Option<u64>,
}

/// Exports events as JSON Lines: first the signed head and its key, then one
/// event per line with its inclusion proof against that head.
#[utoipa::path(get, path = "/v1/audit/export", tag = "audit", security(("bearer" = [])), params(ExportQuery),
    responses((status = 200, content_type = "application/x-ndjson", body = String), (status = 403, body = Problem)))]
pub async fn export(State(s): State<AppState>, a: Auth, Params(q): Params<ExportQuery>) -> ApiResult<Response> {
    for (name, v) in [("from", q.from), ("to", q.to)] {
        if v.is_some_and(|v| v > i64::MAX as u64) {
            return Err(Problem::invalid(name, "must be at most 9223372036854775807"));
        }
    }
    let (head, events) = s.vault.export(&a.actor, q.from.unwrap_or(0), q.to).await?;
    let mut out = serde_json::json!({"type": "head", "tree_size": head.tree_size, "checkpoint": head.checkpoint, "key": s.vault.audit_key().encode()}).to_string();
    out.push('\n');
    for (e, proof) in events {
        let line = serde_json::json!({"type": "event", "seq": e.event.seq, "body": e.body, "leaf_hash": e.leaf_hash, "proof": proof.iter().map(|h| hex(h)).collect::<Vec<_>>()});
        out.push_str(&line.to_string());
        out.push('\n');
    }
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], out).into_response())
}

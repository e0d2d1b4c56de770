//! Backups over the API, for system staff: make one now (the running
//! server's own store, to every configured destination) and list what the
//! destinations hold. Verify and restore are the CLI's (`varuh backup`).

use crate::http::extract::Auth;
use crate::http::problem::{ApiResult, Problem};
use crate::http::{time, AppState};
use crate::service::backup::{BackupMade, Listed};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct BackupOut {
    pub id: String,
    pub created_at: String,
    /// Bytes of the encrypted file, and their SHA-256 (hex).
    pub size: u64,
    pub sha256: String,
    /// `sqlite` or `postgres` (a backup restores into either).
    pub source: String,
    pub schema_version: i64,
    /// The master key's fingerprint (the key is never in a backup).
    pub master_key: String,
    pub rows: u64,
    /// The age recipients it is encrypted to.
    pub recipients: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MadeOut {
    pub backup: BackupOut,
    /// Each destination: `ok`, or what failed.
    pub destinations: BTreeMap<String, String>,
    pub pruned: usize,
}

#[derive(Serialize, ToSchema)]
pub struct CopyOut {
    pub destination: String,
    /// The last `varuh backup verify` of this copy.
    pub verified_at: Option<String>,
    pub verified_ok: Option<bool>,
    pub verified_detail: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ListedOut {
    pub backup: BackupOut,
    pub copies: Vec<CopyOut>,
}

fn backup_out(m: &crate::backup::Manifest) -> BackupOut {
    BackupOut {
        id: m.id.to_string(),
        created_at: time(m.created_at_ms),
        size: m.size,
        sha256: m.sha256.clone(),
        source: m.source.clone(),
        schema_version: m.schema_version,
        master_key: m.master_key.clone(),
        rows: m.rows,
        recipients: m.recipients.clone(),
    }
}

fn made_out(m: BackupMade) -> MadeOut {
    MadeOut { backup: backup_out(&m.manifest), destinations: m.destinations, pruned: m.pruned }
}

fn listed_out(l: Listed) -> ListedOut {
    ListedOut {
        backup: backup_out(&l.manifest),
        copies: l
            .copies
            .into_iter()
            .map(|c| CopyOut {
                destination: c.destination,
                verified_at: c.verified.as_ref().map(|v| time(v.at_ms)),
                verified_ok: c.verified.as_ref().map(|v| v.ok),
                verified_detail: c.verified.map(|v| v.detail),
            })
            .collect(),
    }
}

/// Makes a backup now: one consistent snapshot, compressed, encrypted to
/// the configured age recipients, copied to every destination, which are
/// then pruned. 409 when no destination is configured, 503 when one failed.
#[utoipa::path(post, path = "/v1/system/backups", tag = "backups", security(("bearer" = [])),
    responses((status = 201, body = MadeOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 503, body = Problem)))]
pub async fn create(State(s): State<AppState>, a: Auth) -> ApiResult<(StatusCode, Json<MadeOut>)> {
    Ok((StatusCode::CREATED, Json(made_out(s.vault.backup_create(&a.actor).await?))))
}

/// The backups the destinations hold, newest first, with each copy's last
/// verification.
#[utoipa::path(get, path = "/v1/system/backups", tag = "backups", security(("bearer" = [])),
    responses((status = 200, body = Vec<ListedOut>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 503, body = Problem)))]
pub async fn list(State(s): State<AppState>, a: Auth) -> ApiResult<Json<Vec<ListedOut>>> {
    Ok(Json(s.vault.backup_list(&a.actor).await?.into_iter().map(listed_out).collect()))
}

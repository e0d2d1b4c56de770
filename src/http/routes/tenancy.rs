//! Tenants, their collections (processing activities with field schemas)
//! and their settings for the subject's rights.

use crate::domain::schema::CollectionDef;
use crate::domain::settings::TenantSettings;
use crate::http::extract::{Auth, Body};
use crate::http::problem::{ApiResult, Problem};
use crate::http::{path_id, time, AppState};
use crate::service::tenancy::collections::CollectionInfo;
use crate::service::tenancy::TenantInfo;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    /// 1-200 characters, not only spaces, no control characters.
    #[schema(max_length = 200, pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$")]
    pub name: String,
    /// Whether collections may hold special categories of data (Art. 9/10).
    #[serde(default)]
    pub allow_special_categories: bool,
}

#[derive(Serialize, ToSchema)]
pub struct TenantOut {
    pub id: String,
    pub name: String,
    pub allow_special_categories: bool,
    pub created_at: String,
}

fn tenant_out(t: TenantInfo) -> TenantOut {
    TenantOut {
        id: t.id.to_string(),
        name: t.name,
        allow_special_categories: t.allow_special_categories,
        created_at: time(t.created_at),
    }
}

/// Creates a tenant (system administrators only).
#[utoipa::path(post, path = "/v1/tenants", tag = "tenants", security(("bearer" = [])), request_body = NewTenant,
    responses((status = 201, body = TenantOut), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_tenant(
    State(s): State<AppState>,
    a: Auth,
    Body(req): Body<NewTenant>,
) -> ApiResult<(StatusCode, Json<TenantOut>)> {
    let t = s.vault.create_tenant(&a.actor, &req.name, req.allow_special_categories).await?;
    Ok((StatusCode::CREATED, Json(tenant_out(t))))
}

/// Lists the tenants the caller can see.
#[utoipa::path(get, path = "/v1/tenants", tag = "tenants", security(("bearer" = [])),
    responses((status = 200, body = Vec<TenantOut>), (status = 401, body = Problem)))]
pub async fn list_tenants(State(s): State<AppState>, a: Auth) -> ApiResult<Json<Vec<TenantOut>>> {
    Ok(Json(s.vault.list_tenants(&a.actor).await?.into_iter().map(tenant_out).collect()))
}

/// One tenant.
#[utoipa::path(get, path = "/v1/tenants/{tenant}", tag = "tenants", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = TenantOut), (status = 404, body = Problem)))]
pub async fn get_tenant(State(s): State<AppState>, a: Auth, Path(tenant): Path<String>) -> ApiResult<Json<TenantOut>> {
    let t = path_id(&tenant, "tenant")?;
    Ok(Json(tenant_out(s.vault.get_tenant(&a.actor, t).await?)))
}

#[derive(Serialize, ToSchema)]
pub struct CollectionOut {
    pub id: String,
    pub tenant_id: String,
    pub created_at: String,
    #[serde(flatten)]
    pub definition: CollectionDef,
}

fn collection_out(c: CollectionInfo) -> CollectionOut {
    CollectionOut {
        id: c.id.to_string(),
        tenant_id: c.tenant.to_string(),
        created_at: time(c.created_at),
        definition: c.def,
    }
}

/// Creates a collection: a processing activity (Art. 30) and its field schema.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/collections", tag = "collections", security(("bearer" = [])), request_body = CollectionDef,
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 201, body = CollectionOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_collection(
    State(s): State<AppState>,
    a: Auth,
    Path(tenant): Path<String>,
    Body(def): Body<CollectionDef>,
) -> ApiResult<(StatusCode, Json<CollectionOut>)> {
    let t = path_id(&tenant, "tenant")?;
    let c = s.vault.create_collection(&a.actor, t, def).await?;
    Ok((StatusCode::CREATED, Json(collection_out(c))))
}

/// Lists a tenant's collections.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/collections", tag = "collections", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = Vec<CollectionOut>), (status = 404, body = Problem)))]
pub async fn list_collections(
    State(s): State<AppState>,
    a: Auth,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Vec<CollectionOut>>> {
    let t = path_id(&tenant, "tenant")?;
    Ok(Json(s.vault.list_collections(&a.actor, t).await?.into_iter().map(collection_out).collect()))
}

/// One collection, by name.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/collections/{collection}", tag = "collections", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("collection" = String, Path, description = "Collection name")),
    responses((status = 200, body = CollectionOut), (status = 404, body = Problem)))]
pub async fn get_collection(
    State(s): State<AppState>,
    a: Auth,
    Path((tenant, collection)): Path<(String, String)>,
) -> ApiResult<Json<CollectionOut>> {
    let t = path_id(&tenant, "tenant")?;
    Ok(Json(collection_out(s.vault.get_collection(&a.actor, t, &collection).await?)))
}

/// The tenant's settings for the subject's rights: DPO contact (request
/// reminders go there), reminder days, supervisory authority.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/settings", tag = "tenants", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = TenantSettings), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_settings(
    State(s): State<AppState>,
    a: Auth,
    Path(tenant): Path<String>,
) -> ApiResult<Json<TenantSettings>> {
    let t = path_id(&tenant, "tenant")?;
    Ok(Json(s.vault.get_settings(&a.actor, t).await?))
}

/// Replaces the tenant's settings.
#[utoipa::path(put, path = "/v1/tenants/{tenant}/settings", tag = "tenants", security(("bearer" = [])), request_body = TenantSettings,
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = TenantSettings), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn put_settings(
    State(s): State<AppState>,
    a: Auth,
    Path(tenant): Path<String>,
    Body(b): Body<TenantSettings>,
) -> ApiResult<Json<TenantSettings>> {
    let t = path_id(&tenant, "tenant")?;
    Ok(Json(s.vault.put_settings(&a.actor, t, b).await?))
}

//! Sign-in, sign-out, password change and staff accounts.

use super::extract::{Meta, Auth, AuthAny, Body};
use super::problem::{ApiResult, Problem};
use super::{path_id, time, AppState};
use crate::domain::{Invalid, Role};
use crate::service::auth::StaffInfo;
use crate::service::Actor;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct WhoAmI {
    pub staff_id: String,
    pub tenant_id: Option<String>,
    pub role: String,
    pub password_change_required: bool,
}

impl From<&Actor> for WhoAmI {
    fn from(a: &Actor) -> Self {
        WhoAmI {
            staff_id: a.staff_id.to_string(),
            tenant_id: a.tenant.map(|t| t.to_string()),
            role: a.role.as_str().into(),
            password_change_required: a.must_change_password,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// Bearer token for `Authorization: Bearer …`. Shown once.
    pub token: String,
    pub expires_at: String,
    pub staff: WhoAmI,
}

/// Signs in; returns a bearer token.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn login(State(s): State<AppState>, Meta(meta): Meta, Body(req): Body<LoginRequest>) -> ApiResult<Json<LoginResponse>> {
    let l = s.vault.login(&meta, &req.username, &req.password).await?;
    Ok(Json(LoginResponse { token: l.token, expires_at: time(l.expires_at), staff: (&l.actor).into() }))
}

/// Ends this session.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem)))]
pub async fn logout(State(s): State<AppState>, AuthAny(a): AuthAny) -> ApiResult<StatusCode> {
    s.vault.logout(&a.actor, &a.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who the token belongs to.
#[utoipa::path(get, path = "/v1/auth/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = WhoAmI), (status = 401, body = Problem)))]
pub async fn me(AuthAny(a): AuthAny) -> Json<WhoAmI> {
    Json((&a.actor).into())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// Changes one's own password (required after a generated one); other
/// sessions of the account end.
#[utoipa::path(post, path = "/v1/auth/password", tag = "auth", security(("bearer" = [])), request_body = PasswordChange,
    responses((status = 204), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn change_password(State(s): State<AppState>, AuthAny(a): AuthAny, Body(req): Body<PasswordChange>) -> ApiResult<StatusCode> {
    s.vault.change_password(&a.actor, &a.token, &req.current_password, &req.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaff {
    pub username: String,
    /// `administrator` or `operator`.
    pub role: String,
    /// If absent, a password is generated, returned once, and must be changed at first login.
    pub password: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct StaffOut {
    pub id: String,
    pub tenant_id: Option<String>,
    pub username: String,
    pub role: String,
    pub password_change_required: bool,
    pub created_at: String,
    /// Only when generated: shown this once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub one_time_password: Option<String>,
}

fn staff_out(i: StaffInfo, pw: Option<String>) -> StaffOut {
    StaffOut {
        id: i.id.to_string(),
        tenant_id: i.tenant.map(|t| t.to_string()),
        username: i.username,
        role: i.role.as_str().into(),
        password_change_required: i.must_change_password,
        created_at: time(i.created_at),
        one_time_password: pw,
    }
}

fn role(r: &str) -> Result<Role, Problem> {
    Role::parse(r).ok_or_else(|| Invalid::new("role", "must be administrator or operator").into()).map_err(|e: crate::service::ServiceError| e.into())
}

async fn create_staff(s: &AppState, a: &Auth, tenant: Option<uuid::Uuid>, req: NewStaff) -> ApiResult<(StatusCode, Json<StaffOut>)> {
    let role = role(&req.role)?;
    let (info, pw) = s.vault.create_staff(&a.actor, tenant, &req.username, role, req.password.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(staff_out(info, pw))))
}

/// Creates a system-wide staff account (system administrators only).
#[utoipa::path(post, path = "/v1/staff", tag = "staff", security(("bearer" = [])), request_body = NewStaff,
    responses((status = 201, body = StaffOut), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_system_staff(State(s): State<AppState>, a: Auth, Body(req): Body<NewStaff>) -> ApiResult<(StatusCode, Json<StaffOut>)> {
    create_staff(&s, &a, None, req).await
}

/// Lists all staff (system administrators only).
#[utoipa::path(get, path = "/v1/staff", tag = "staff", security(("bearer" = [])),
    responses((status = 200, body = Vec<StaffOut>), (status = 403, body = Problem)))]
pub async fn list_system_staff(State(s): State<AppState>, a: Auth) -> ApiResult<Json<Vec<StaffOut>>> {
    Ok(Json(s.vault.list_staff(&a.actor, None).await?.into_iter().map(|i| staff_out(i, None)).collect()))
}

/// Creates a staff account in a tenant (its administrators, or a system administrator).
#[utoipa::path(post, path = "/v1/tenants/{tenant}/staff", tag = "staff", security(("bearer" = [])), request_body = NewStaff,
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 201, body = StaffOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_tenant_staff(State(s): State<AppState>, a: Auth, Path(tenant): Path<String>, Body(req): Body<NewStaff>) -> ApiResult<(StatusCode, Json<StaffOut>)> {
    let t = path_id(&tenant, "tenant")?;
    create_staff(&s, &a, Some(t), req).await
}

/// Lists a tenant's staff.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/staff", tag = "staff", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = Vec<StaffOut>), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn list_tenant_staff(State(s): State<AppState>, a: Auth, Path(tenant): Path<String>) -> ApiResult<Json<Vec<StaffOut>>> {
    let t = path_id(&tenant, "tenant")?;
    Ok(Json(s.vault.list_staff(&a.actor, Some(t)).await?.into_iter().map(|i| staff_out(i, None)).collect()))
}

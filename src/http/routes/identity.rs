//! Identity: sign-in, one's own account (password, second factor,
//! sessions), staff administration, API keys, the security policy, the
//! incident reset and the access review.

use crate::domain::access::Access;
use crate::domain::policy::Policy;
use crate::domain::Role;
use crate::http::extract::{Auth, Body, Meta};
use crate::http::problem::{ApiResult, Problem};
use crate::http::routes::approvals::{held, ApprovalOut};
use crate::http::{path_id, time, AppState};
use crate::service::identity::apikeys::ApiKeyInfo;
use crate::service::identity::login::SecondFactor;
use crate::service::identity::staff::{review_csv, NewStaff as NewAccount, ReviewLine};
use crate::service::identity::StaffInfo;
use crate::service::Actor;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(max_length = 1024)]
    pub username: String,
    #[schema(max_length = 1024)]
    pub password: String,
    /// The authenticator app's 6-digit code, if the account has a second factor.
    pub otp: Option<String>,
    /// Instead of `otp`: one of the account's one-time recovery codes.
    pub recovery_code: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct WhoAmI {
    pub staff_id: String,
    pub tenant_id: Option<String>,
    /// `administrator`, `dpo`, `operator`, `auditor` or `service`.
    pub role: String,
    /// Until changed, only one's own account may be used.
    pub password_change_required: bool,
    /// The policy requires a second factor not enrolled yet: enrol it first.
    pub mfa_enrolment_required: bool,
    #[schema(schema_with = crate::http::schemas::access_ref)]
    pub access: Access,
    /// The console's language (`en`, `sl`), if chosen.
    pub language: Option<String>,
    /// The time zone the console shows dates in (IANA name), if chosen.
    pub time_zone: Option<String>,
}

impl From<&Actor> for WhoAmI {
    fn from(a: &Actor) -> Self {
        WhoAmI {
            staff_id: a.staff_id.to_string(),
            tenant_id: a.tenant.map(|t| t.to_string()),
            role: a.role.as_str().into(),
            password_change_required: a.must_change_password,
            mfa_enrolment_required: a.must_enrol_mfa,
            access: a.access.as_ref().clone(),
            language: a.prefs.language.map(|l| l.code().to_string()),
            time_zone: a.prefs.time_zone.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// Bearer token for `Authorization: Bearer …`. Shown once.
    pub token: String,
    pub expires_at: String,
    /// The session ends after this many minutes without a request.
    pub idle_minutes: u32,
    pub staff: WhoAmI,
    /// Failed sign-in attempts on this account since its last successful one.
    pub failed_attempts_since_last_login: i64,
    pub last_login_at: Option<String>,
    /// What to do first: `change_password`, `enrol_mfa`, or nothing.
    pub next: Option<String>,
}

/// Signs in; returns a bearer token. With a second factor enrolled, send
/// `otp` (or `recovery_code`) too: without one the answer is `401 mfa-required`.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn login(
    State(s): State<AppState>,
    Meta(meta): Meta,
    Body(req): Body<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    let second = SecondFactor { otp: req.otp.as_deref(), recovery_code: req.recovery_code.as_deref() };
    let l = s.vault.login(&meta, &req.username, &req.password, second).await?;
    let next = if l.actor.must_change_password {
        Some("change_password".to_string())
    } else if l.actor.must_enrol_mfa {
        Some("enrol_mfa".to_string())
    } else {
        None
    };
    Ok(Json(LoginResponse {
        token: l.token,
        expires_at: time(l.expires_at),
        idle_minutes: l.idle_minutes,
        staff: (&l.actor).into(),
        failed_attempts_since_last_login: l.failed_attempts,
        last_login_at: l.last_login_at.map(time),
        next,
    }))
}

/// Ends this session.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem)))]
pub async fn logout(State(s): State<AppState>, a: Auth) -> ApiResult<StatusCode> {
    s.vault.logout(&a.actor, &a.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who the token belongs to.
#[utoipa::path(get, path = "/v1/auth/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = WhoAmI), (status = 401, body = Problem)))]
pub async fn me(State(s): State<AppState>, a: Auth) -> ApiResult<Json<WhoAmI>> {
    Ok(Json((&s.vault.whoami(&a.actor).await?).into()))
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Preferences {
    /// `en` or `sl`; null: the browser's language.
    #[schema(pattern = "^(en|sl)$")]
    pub language: Option<String>,
    /// An IANA time zone such as `Europe/Ljubljana`; null: UTC.
    #[schema(max_length = 64)]
    pub time_zone: Option<String>,
}

/// Sets one's own language and time zone (what the console shows).
#[utoipa::path(put, path = "/v1/auth/preferences", tag = "auth", security(("bearer" = [])), request_body = Preferences,
    responses((status = 200, body = Preferences), (status = 401, body = Problem), (status = 403, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn set_preferences(
    State(s): State<AppState>,
    a: Auth,
    Body(body): Body<serde_json::Value>,
) -> ApiResult<Json<Preferences>> {
    // Both fields may be null, so only an object says which is which.
    if !body.is_object() {
        return Err(Problem::invalid("body", "must be a JSON object"));
    }
    let req: Preferences = crate::http::extract::parse(&serde_json::to_vec(&body).unwrap_or_default())?;
    let p = s.vault.set_preferences(&a.actor, req.language.as_deref(), req.time_zone.as_deref()).await?;
    Ok(Json(Preferences { language: p.language.map(|l| l.code().to_string()), time_zone: p.time_zone }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    #[schema(max_length = 1024)]
    pub current_password: String,
    /// Checked against the tenant's password policy; the refusal names the rule.
    #[schema(max_length = 1024)]
    pub new_password: String,
}

/// Changes one's own password (required after a generated one); other
/// sessions of the account end.
#[utoipa::path(post, path = "/v1/auth/password", tag = "auth", security(("bearer" = [])), request_body = PasswordChange,
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn change_password(
    State(s): State<AppState>,
    a: Auth,
    Body(req): Body<PasswordChange>,
) -> ApiResult<StatusCode> {
    s.vault.change_password(&a.actor, &a.token, &req.current_password, &req.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct EnrolmentOut {
    /// For the authenticator app (also as `qr_svg`).
    pub otpauth_uri: String,
    /// The seed in base32, to type in by hand.
    pub secret: String,
    /// The URI as a QR code (SVG image).
    pub qr_svg: String,
}

/// Starts TOTP enrolment: a new seed as an `otpauth://` URI and a QR code. Shown once.
#[utoipa::path(post, path = "/v1/auth/mfa/enrol", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = EnrolmentOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn mfa_enrol(State(s): State<AppState>, a: Auth) -> ApiResult<Json<EnrolmentOut>> {
    let e = s.vault.mfa_enrol(&a.actor).await?;
    Ok(Json(EnrolmentOut { otpauth_uri: e.otpauth_uri, secret: e.secret_base32, qr_svg: e.qr_svg }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaCode {
    /// The 6-digit code the app shows now.
    #[schema(pattern = r"^\s*[0-9]{3} ?[0-9]{3}\s*$")]
    pub code: String,
}

#[derive(Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Ten one-time codes, each usable once instead of a TOTP code. Shown once.
    pub recovery_codes: Vec<String>,
}

/// Confirms TOTP enrolment with a code; MFA is on from now. Returns the recovery codes.
#[utoipa::path(post, path = "/v1/auth/mfa/confirm", tag = "auth", security(("bearer" = [])), request_body = MfaCode,
    responses((status = 200, body = RecoveryCodes), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn mfa_confirm(
    State(s): State<AppState>,
    a: Auth,
    Body(req): Body<MfaCode>,
) -> ApiResult<Json<RecoveryCodes>> {
    Ok(Json(RecoveryCodes { recovery_codes: s.vault.mfa_confirm(&a.actor, &req.code).await? }))
}

/// Replaces one's recovery codes with ten new ones.
#[utoipa::path(post, path = "/v1/auth/mfa/recovery-codes", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = RecoveryCodes), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn recovery_codes(State(s): State<AppState>, a: Auth) -> ApiResult<Json<RecoveryCodes>> {
    Ok(Json(RecoveryCodes { recovery_codes: s.vault.regenerate_recovery_codes(&a.actor).await? }))
}

#[derive(Serialize, ToSchema)]
pub struct SessionOut {
    pub id: String,
    pub created_at: String,
    /// Last activity as written (at most a minute behind).
    pub last_seen_at: String,
    pub expires_at: String,
    pub source: Option<String>,
    /// The session of this request.
    pub current: bool,
}

/// One's own sessions.
#[utoipa::path(get, path = "/v1/auth/sessions", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = Vec<SessionOut>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_sessions(State(s): State<AppState>, a: Auth) -> ApiResult<Json<Vec<SessionOut>>> {
    let rows = s.vault.list_sessions(&a.actor).await?;
    Ok(Json(
        rows.into_iter()
            .map(|(r, current)| SessionOut {
                id: r.id.to_string(),
                created_at: time(r.created_at),
                last_seen_at: time(r.last_seen_at.max(r.created_at)),
                expires_at: time(r.expires_at),
                source: r.source,
                current,
            })
            .collect(),
    ))
}

/// Revokes one of one's own sessions.
#[utoipa::path(delete, path = "/v1/auth/sessions/{session}", tag = "auth", security(("bearer" = [])),
    params(("session" = String, Path, description = "Session id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn revoke_session(State(s): State<AppState>, a: Auth, Path(id): Path<String>) -> ApiResult<StatusCode> {
    s.vault.revoke_session(&a.actor, path_id(&id, "session")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaff {
    /// 1-64 characters, no spaces or control characters; stored lower-case.
    #[schema(pattern = r"^[^\s\x00-\x1f\x7f]{1,64}$")]
    pub username: String,
    /// `administrator`, `dpo`, `operator`, `auditor`, or `service` (an account for API keys).
    #[schema(pattern = "^(administrator|dpo|operator|auditor|service)$")]
    pub role: String,
    /// If absent, a password is generated, returned once, and must be
    /// changed at first login. Checked against the tenant's password policy
    /// (6 characters is the least any policy allows, 1024 the most).
    #[schema(min_length = 6, max_length = 1024, pattern = r"^[^\x00-\x1f\x7f]*$")]
    pub password: Option<String>,
    /// Grants per collection (`*` = all) and field masks, for operators and service accounts.
    #[schema(schema_with = crate::http::schemas::access_or_null)]
    pub access: Option<Access>,
}

#[derive(Serialize, ToSchema)]
pub struct StaffOut {
    pub id: String,
    pub tenant_id: Option<String>,
    pub username: String,
    pub role: String,
    #[schema(schema_with = crate::http::schemas::access_ref)]
    pub access: Access,
    pub password_change_required: bool,
    /// `active`, `suspended` or `offboarded`.
    pub state: String,
    pub mfa_enabled: bool,
    /// Locked after failed sign-ins (an administrator can unlock).
    pub locked: bool,
    pub last_login_at: Option<String>,
    pub password_changed_at: String,
    pub created_at: String,
    /// Only when generated: shown this once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub one_time_password: Option<String>,
}

pub(crate) fn staff_out(i: StaffInfo, pw: Option<String>) -> StaffOut {
    let state = if i.offboarded_at.is_some() {
        "offboarded"
    } else if i.suspended {
        "suspended"
    } else {
        "active"
    };
    StaffOut {
        id: i.id.to_string(),
        tenant_id: i.tenant.map(|t| t.to_string()),
        username: i.username,
        role: i.role.as_str().into(),
        access: i.access,
        password_change_required: i.must_change_password,
        state: state.into(),
        mfa_enabled: i.mfa_enabled,
        locked: i.locked,
        last_login_at: i.last_login_at.map(time),
        password_changed_at: time(i.password_changed_at),
        created_at: time(i.created_at),
        one_time_password: pw,
    }
}

fn role(r: &str) -> Result<Role, Problem> {
    Role::parse(r).ok_or_else(|| Problem::invalid("role", "must be administrator, dpo, operator, auditor or service"))
}

async fn create_staff(
    s: &AppState,
    a: &Auth,
    tenant: Option<uuid::Uuid>,
    req: NewStaff,
) -> ApiResult<(StatusCode, Json<StaffOut>)> {
    let role = role(&req.role)?;
    let new = NewAccount {
        username: &req.username,
        role,
        password: req.password.as_deref(),
        access: req.access.unwrap_or_default(),
    };
    let (info, pw) = s.vault.create_staff(&a.actor, tenant, new).await?;
    Ok((StatusCode::CREATED, Json(staff_out(info, pw))))
}

/// Creates a staff account in one's own scope: system staff for system
/// administrators, one's tenant for a tenant administrator.
#[utoipa::path(post, path = "/v1/staff", tag = "staff", security(("bearer" = [])), request_body = NewStaff,
    responses((status = 201, body = StaffOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn create_system_staff(
    State(s): State<AppState>,
    a: Auth,
    Body(req): Body<NewStaff>,
) -> ApiResult<(StatusCode, Json<StaffOut>)> {
    let own = a.actor.tenant;
    create_staff(&s, &a, own, req).await
}

/// Lists the staff of one's own scope (system staff, or one's tenant).
#[utoipa::path(get, path = "/v1/staff", tag = "staff", security(("bearer" = [])),
    responses((status = 200, body = Vec<StaffOut>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_system_staff(State(s): State<AppState>, a: Auth) -> ApiResult<Json<Vec<StaffOut>>> {
    Ok(Json(s.vault.list_staff(&a.actor, a.actor.tenant).await?.into_iter().map(|i| staff_out(i, None)).collect()))
}

/// Creates a staff account in a tenant (its administrators, or a system administrator).
#[utoipa::path(post, path = "/v1/tenants/{tenant}/staff", tag = "staff", security(("bearer" = [])), request_body = NewStaff,
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 201, body = StaffOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn create_tenant_staff(
    State(s): State<AppState>,
    a: Auth,
    Path(tenant): Path<String>,
    Body(req): Body<NewStaff>,
) -> ApiResult<(StatusCode, Json<StaffOut>)> {
    let t = path_id(&tenant, "tenant")?;
    create_staff(&s, &a, Some(t), req).await
}

/// Lists a tenant's staff.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/staff", tag = "staff", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = Vec<StaffOut>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn list_tenant_staff(
    State(s): State<AppState>,
    a: Auth,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Vec<StaffOut>>> {
    let t = path_id(&tenant, "tenant")?;
    Ok(Json(s.vault.list_staff(&a.actor, Some(t)).await?.into_iter().map(|i| staff_out(i, None)).collect()))
}

type StaffPath = Path<(String, String)>;

fn staff_ids(p: &(String, String)) -> Result<(uuid::Uuid, uuid::Uuid), Problem> {
    Ok((path_id(&p.0, "tenant")?, path_id(&p.1, "staff")?))
}

/// One staff account of a tenant.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/staff/{staff}", tag = "staff", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("staff" = String, Path, description = "Staff id")),
    responses((status = 200, body = StaffOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_staff(State(s): State<AppState>, a: Auth, Path(p): StaffPath) -> ApiResult<Json<StaffOut>> {
    let (t, id) = staff_ids(&p)?;
    Ok(Json(staff_out(s.vault.get_staff(&a.actor, Some(t), id).await?, None)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessChange {
    #[schema(pattern = "^(administrator|dpo|operator|auditor|service)$")]
    pub role: String,
    /// `{"grants": {"customers": ["read", "write"]}, "masks": {"customers": ["phone"]}}`
    #[schema(schema_with = crate::http::schemas::access_ref)]
    pub access: Access,
}

/// Sets an account's role, grants and field masks. `202` with a pending
/// approval if the tenant holds grant changes for four-eyes.
#[utoipa::path(put, path = "/v1/tenants/{tenant}/staff/{staff}/access", tag = "staff", security(("bearer" = [])), request_body = AccessChange,
    params(("tenant" = String, Path, description = "Tenant id"), ("staff" = String, Path, description = "Staff id")),
    responses((status = 200, body = StaffOut), (status = 202, body = ApprovalOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn set_access(
    State(s): State<AppState>,
    a: Auth,
    Path(p): StaffPath,
    Body(req): Body<AccessChange>,
) -> ApiResult<Response> {
    let (t, id) = staff_ids(&p)?;
    role(&req.role)?;
    let h = s.vault.change_grants(&a.actor, Some(t), id, &req.role, req.access).await?;
    Ok(held(h, |i| Json(staff_out(i, None)).into_response()))
}

/// Suspends an account: its sessions and API keys end at once.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/staff/{staff}/suspend", tag = "staff", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("staff" = String, Path, description = "Staff id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn suspend(State(s): State<AppState>, a: Auth, Path(p): StaffPath) -> ApiResult<StatusCode> {
    let (t, id) = staff_ids(&p)?;
    s.vault.suspend_staff(&a.actor, Some(t), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Reactivates a suspended account.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/staff/{staff}/reactivate", tag = "staff", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("staff" = String, Path, description = "Staff id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn reactivate(State(s): State<AppState>, a: Auth, Path(p): StaffPath) -> ApiResult<StatusCode> {
    let (t, id) = staff_ids(&p)?;
    s.vault.reactivate_staff(&a.actor, Some(t), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Offboarding {
    /// Checklist items done: `access_card_returned`, `keys_returned`, `accounts_closed`, `devices_returned`.
    #[schema(schema_with = crate::http::schemas::offboarding_items)]
    pub items: Vec<String>,
    #[schema(max_length = 500)]
    pub note: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct OffboardingItem {
    pub item: String,
    pub done_by: String,
    pub done_at: String,
    pub note: Option<String>,
}

/// Records offboarding (checklist items with who and when) and closes the account.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/staff/{staff}/offboard", tag = "staff", security(("bearer" = [])), request_body = Offboarding,
    params(("tenant" = String, Path, description = "Tenant id"), ("staff" = String, Path, description = "Staff id")),
    responses((status = 200, body = Vec<OffboardingItem>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn offboard(
    State(s): State<AppState>,
    a: Auth,
    Path(p): StaffPath,
    Body(req): Body<Offboarding>,
) -> ApiResult<Json<Vec<OffboardingItem>>> {
    let (t, id) = staff_ids(&p)?;
    let done = s.vault.offboard_staff(&a.actor, Some(t), id, &req.items, req.note.as_deref()).await?;
    Ok(Json(
        done.into_iter()
            .map(|(item, by, at, note)| OffboardingItem { item, done_by: by.to_string(), done_at: time(at), note })
            .collect(),
    ))
}

/// Lifts the lockouts of an account after failed sign-ins.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/staff/{staff}/unlock", tag = "staff", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("staff" = String, Path, description = "Staff id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn unlock(State(s): State<AppState>, a: Auth, Path(p): StaffPath) -> ApiResult<StatusCode> {
    let (t, id) = staff_ids(&p)?;
    s.vault.unlock_staff(&a.actor, Some(t), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct OneTimePassword {
    /// Shown once; must be changed at the next sign-in.
    pub one_time_password: String,
}

/// Gives an account a new one-time password; its sessions end.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/staff/{staff}/reset-password", tag = "staff", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("staff" = String, Path, description = "Staff id")),
    responses((status = 200, body = OneTimePassword), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn reset_password(
    State(s): State<AppState>,
    a: Auth,
    Path(p): StaffPath,
) -> ApiResult<Json<OneTimePassword>> {
    let (t, id) = staff_ids(&p)?;
    Ok(Json(OneTimePassword { one_time_password: s.vault.reset_staff_password(&a.actor, Some(t), id).await? }))
}

/// Removes an account's second factor; it must enrol again.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/staff/{staff}/reset-mfa", tag = "staff", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("staff" = String, Path, description = "Staff id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn reset_mfa(State(s): State<AppState>, a: Auth, Path(p): StaffPath) -> ApiResult<StatusCode> {
    let (t, id) = staff_ids(&p)?;
    s.vault.reset_staff_mfa(&a.actor, Some(t), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentReset {
    /// Also end every session of the tenant now.
    #[serde(default)]
    pub end_sessions: bool,
}

#[derive(Serialize, ToSchema)]
pub struct IncidentResetOut {
    pub accounts: u64,
    pub sessions_ended: u64,
}

/// After an incident: every account of the tenant must change its password at next sign-in.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/incident-reset", tag = "staff", security(("bearer" = [])), request_body = IncidentReset,
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = IncidentResetOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn incident_reset(
    State(s): State<AppState>,
    a: Auth,
    Path(tenant): Path<String>,
    Body(req): Body<IncidentReset>,
) -> ApiResult<Json<IncidentResetOut>> {
    let t = path_id(&tenant, "tenant")?;
    let (accounts, sessions_ended) = s.vault.incident_reset(&a.actor, t, req.end_sessions).await?;
    Ok(Json(IncidentResetOut { accounts, sessions_ended }))
}

#[derive(Serialize, ToSchema)]
pub struct ReviewOut {
    pub account: StaffOut,
    /// Active API keys of the account.
    pub api_keys: usize,
    /// No sign-in for the policy's `review.dormant_days`.
    pub dormant: bool,
    pub offboarding: Vec<String>,
}

/// The access review: every account of the tenant, its rights and state.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/access-review", tag = "staff", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = Vec<ReviewOut>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn access_review(
    State(s): State<AppState>,
    a: Auth,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Vec<ReviewOut>>> {
    let t = path_id(&tenant, "tenant")?;
    let lines: Vec<ReviewLine> = s.vault.access_review(&a.actor, t).await?;
    Ok(Json(
        lines
            .into_iter()
            .map(|l| ReviewOut {
                account: staff_out(l.staff, None),
                api_keys: l.api_keys,
                dormant: l.dormant,
                offboarding: l.offboarding,
            })
            .collect(),
    ))
}

/// The access review as CSV.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/access-review.csv", tag = "staff", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, content_type = "text/csv", body = String), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn access_review_csv(State(s): State<AppState>, a: Auth, Path(tenant): Path<String>) -> ApiResult<Response> {
    let t = path_id(&tenant, "tenant")?;
    let csv = review_csv(&s.vault.access_review(&a.actor, t).await?);
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    /// The service account (role `service`) the key belongs to.
    #[schema(format = "uuid")]
    pub account: String,
    /// 1-100 characters, not only spaces, no control characters.
    #[schema(max_length = 100, pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$")]
    pub name: String,
    /// Collections and operations the key may use (and masks).
    #[schema(schema_with = crate::http::schemas::access_ref)]
    pub access: Access,
    /// Days until it expires (1-730).
    #[schema(minimum = 1, maximum = 730)]
    pub days: u32,
}

#[derive(Serialize, ToSchema)]
pub struct ApiKeyOut {
    pub id: String,
    pub name: String,
    pub account: String,
    #[schema(schema_with = crate::http::schemas::access_ref)]
    pub access: Access,
    pub created_at: String,
    pub expires_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
    /// Only at creation: shown this once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

pub(crate) fn key_out(k: ApiKeyInfo, key: Option<String>) -> ApiKeyOut {
    ApiKeyOut {
        id: k.id.to_string(),
        name: k.name,
        account: k.account.to_string(),
        access: k.access,
        created_at: time(k.created_at),
        expires_at: time(k.expires_at),
        last_used_at: k.last_used_at.map(time),
        revoked_at: k.revoked_at.map(time),
        key,
    }
}

/// Creates an API key for a service account; the key is shown once.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/api-keys", tag = "api-keys", security(("bearer" = [])), request_body = NewApiKey,
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 201, body = ApiKeyOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn create_api_key(
    State(s): State<AppState>,
    a: Auth,
    Path(tenant): Path<String>,
    Body(req): Body<NewApiKey>,
) -> ApiResult<(StatusCode, Json<ApiKeyOut>)> {
    let t = path_id(&tenant, "tenant")?;
    let account = req.account.parse().map_err(|_| Problem::invalid("account", "is not a staff id"))?;
    let (info, key) = s.vault.create_api_key(&a.actor, t, account, &req.name, req.access, req.days).await?;
    Ok((StatusCode::CREATED, Json(key_out(info, Some(key)))))
}

/// Lists a tenant's API keys (never the keys themselves).
#[utoipa::path(get, path = "/v1/tenants/{tenant}/api-keys", tag = "api-keys", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = Vec<ApiKeyOut>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn list_api_keys(
    State(s): State<AppState>,
    a: Auth,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Vec<ApiKeyOut>>> {
    let t = path_id(&tenant, "tenant")?;
    Ok(Json(s.vault.list_api_keys(&a.actor, t).await?.into_iter().map(|k| key_out(k, None)).collect()))
}

/// Revokes an API key.
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/api-keys/{key}", tag = "api-keys", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id"), ("key" = String, Path, description = "API key id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn revoke_api_key(
    State(s): State<AppState>,
    a: Auth,
    Path((tenant, key)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let (t, k) = (path_id(&tenant, "tenant")?, path_id(&key, "api key")?);
    s.vault.revoke_api_key(&a.actor, t, k).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The tenant's security policy.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/policy", tag = "policy", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = Object), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_tenant_policy(
    State(s): State<AppState>,
    a: Auth,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Policy>> {
    let t = path_id(&tenant, "tenant")?;
    Ok(Json(s.vault.get_policy(&a.actor, Some(t)).await?))
}

/// Replaces the tenant's security policy (every key optional: defaults are
/// the recommended policy's). `202` if the tenant holds policy changes for four-eyes.
#[utoipa::path(put, path = "/v1/tenants/{tenant}/policy", tag = "policy", security(("bearer" = [])), request_body = Object,
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = Object), (status = 202, body = ApprovalOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn put_tenant_policy(
    State(s): State<AppState>,
    a: Auth,
    Path(tenant): Path<String>,
    Body(p): Body<Policy>,
) -> ApiResult<Response> {
    let t = path_id(&tenant, "tenant")?;
    Ok(held(s.vault.set_policy(&a.actor, Some(t), p).await?, |p| Json(p).into_response()))
}

/// The policy of one's own scope (system staff's, or one's tenant's).
#[utoipa::path(get, path = "/v1/policy", tag = "policy", security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn get_system_policy(State(s): State<AppState>, a: Auth) -> ApiResult<Json<Policy>> {
    Ok(Json(s.vault.get_policy(&a.actor, a.actor.tenant).await?))
}

/// Replaces the policy of one's own scope (system staff's, or one's tenant's).
#[utoipa::path(put, path = "/v1/policy", tag = "policy", security(("bearer" = [])), request_body = Object,
    responses((status = 200, body = Object), (status = 401, body = Problem), (status = 403, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn put_system_policy(State(s): State<AppState>, a: Auth, Body(p): Body<Policy>) -> ApiResult<Response> {
    Ok(held(s.vault.set_policy(&a.actor, a.actor.tenant, p).await?, |p| Json(p).into_response()))
}

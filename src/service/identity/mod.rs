//! Identity: who staff are and how they prove it (AUTH-1..8). One file per
//! part: `login.rs` (sign-in with password and second factor, brute-force
//! detection, allowed networks, sessions with idle and absolute limits,
//! authentication of every request), `password.rs` (policy, history,
//! expiry, change), `mfa.rs` (TOTP enrolment, recovery codes), `staff.rs`
//! (accounts, grants and masks, suspension, offboarding, unlock, resets,
//! incident reset, the access review), `apikeys.rs` (service clients),
//! `policy.rs` (the per-tenant security policy, cached).
//!
//! Session state (a generated password to change, MFA to enrol) is kept on
//! the `Actor` and enforced by the kernel: such an actor may use only its
//! own account's actions.
//!
//! Caches and how stale they may be, on a server other than the one where a
//! change was made (PostgreSQL deployments): sessions and API keys are
//! re-read after [`CACHE_MS`] (a logout, suspension, grant change, password
//! reset or revoked key takes effect everywhere within 2 s, on the same
//! server at once); policies after `policy::POLICY_CACHE_MS` (5 s).

pub mod apikeys;
pub mod login;
pub mod mfa;
pub mod password;
pub mod policy;
pub mod preferences;
pub mod staff;

use super::{Actor, Result, ServiceError};
use crate::crypto;
use crate::domain::access::Access;
use crate::domain::{Invalid, Role};
use crate::store::queries::{self, StaffRow};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use uuid::Uuid;

/// Sessions and API keys are re-read from the store at least this often.
pub const CACHE_MS: i64 = 2_000;
const NAME_CONTEXT: &str = "varuh/staff-name/v1";
const MFA_CONTEXT: &str = "varuh/staff-totp/v1";

/// A cached session (or API key): the actor, its limits, its last activity.
pub(crate) struct Cached {
    pub actor: Actor,
    pub expires_at: i64,
    pub cached_at: i64,
    /// Idle limit (0: none, as for API keys).
    pub idle_ms: i64,
    pub last_seen: AtomicI64,
    /// Last activity written to the store.
    pub persisted: AtomicI64,
}

#[derive(Default)]
pub struct SessionCache(RwLock<HashMap<[u8; 32], Arc<Cached>>>);

impl SessionCache {
    fn get(&self, h: &[u8; 32], now: i64) -> Option<Arc<Cached>> {
        let m = self.0.read().unwrap_or_else(|e| e.into_inner());
        let c = m.get(h)?;
        (now - c.cached_at < CACHE_MS).then(|| c.clone())
    }
    fn put(&self, h: [u8; 32], c: Arc<Cached>, now: i64) {
        let mut m = self.0.write().unwrap_or_else(|e| e.into_inner());
        if m.len() > 100_000 {
            m.retain(|_, c| now < c.expires_at && now - c.cached_at < CACHE_MS);
        }
        m.insert(h, c);
    }
    pub(crate) fn forget(&self, h: &[u8; 32]) {
        self.0.write().unwrap_or_else(|e| e.into_inner()).remove(h);
    }
    pub(crate) fn forget_staff(&self, staff: Uuid) {
        self.0.write().unwrap_or_else(|e| e.into_inner()).retain(|_, c| c.actor.staff_id != staff);
    }
    pub(crate) fn forget_tenant(&self, tenant: Uuid) {
        self.0.write().unwrap_or_else(|e| e.into_inner()).retain(|_, c| c.actor.tenant != Some(tenant));
    }
}

impl Cached {
    fn touch(&self, now: i64) {
        self.last_seen.fetch_max(now, Ordering::Relaxed);
    }
}

/// A staff account as administrators see it.
pub struct StaffInfo {
    pub id: Uuid,
    pub tenant: Option<Uuid>,
    pub username: String,
    pub role: Role,
    pub access: Access,
    pub must_change_password: bool,
    pub suspended: bool,
    pub offboarded_at: Option<i64>,
    pub mfa_enabled: bool,
    pub last_login_at: Option<i64>,
    pub password_changed_at: i64,
    pub locked: bool,
    pub created_at: i64,
}

pub(crate) fn normalise_username(u: &str) -> std::result::Result<String, Invalid> {
    let u = u.trim().to_lowercase();
    if u.is_empty() || u.chars().count() > 64 || u.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Invalid::new("username", "must be 1-64 characters without spaces"));
    }
    Ok(u)
}

pub(crate) fn role_of(s: &StaffRow) -> Result<Role> {
    Role::parse(&s.role).ok_or_else(|| ServiceError::Internal("unknown role in store".into()))
}

pub(crate) fn access_of(s: &str) -> Result<Access> {
    serde_json::from_str(s).map_err(|_| ServiceError::Internal("stored access is malformed".into()))
}

/// The brute-force counters of an account, one per factor.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub(crate) struct Counters {
    pub password: crate::domain::lockout::Attempts,
    pub totp: crate::domain::lockout::Attempts,
    pub recovery: crate::domain::lockout::Attempts,
}

impl Counters {
    pub fn parse(s: &str) -> Counters {
        serde_json::from_str(s).unwrap_or_default()
    }
    pub fn text(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

impl super::Vault {
    pub(crate) fn username_hash(&self, normalised: &str) -> Vec<u8> {
        self.system.blind_index("staff", normalised).to_vec()
    }

    /// The caller's own account, as stored now.
    pub(crate) async fn own_account(&self, actor: &Actor) -> Result<StaffRow> {
        let id = actor.staff_id;
        self.store.read_latest(move |db| queries::staff_by_id(db, id)).await?.ok_or(ServiceError::Unauthenticated)
    }

    /// The Argon2id hash of a password, off the async workers (it costs ~20 ms of CPU).
    pub(crate) async fn hash_off_thread(&self, password: &str) -> Result<String> {
        let pw = password.to_string();
        tokio::task::spawn_blocking(move || crypto::hash_password(&pw))
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))?
            .map_err(|e| ServiceError::Internal(e.to_string()))
    }

    pub(crate) fn open_username(&self, s: &StaffRow) -> Result<String> {
        let name =
            self.system.open(NAME_CONTEXT, &s.username_sealed).map_err(|e| ServiceError::Internal(e.to_string()))?;
        Ok(String::from_utf8_lossy(&name).into_owned())
    }

    pub(crate) fn staff_info(&self, s: &StaffRow, now: i64) -> Result<StaffInfo> {
        let counters = Counters::parse(&s.attempts);
        let p = crate::domain::lockout::LockoutPolicy::default();
        let locked = [&counters.password, &counters.totp, &counters.recovery]
            .iter()
            .any(|a| a.gate(&p, now) != crate::domain::lockout::Gate::Open);
        Ok(StaffInfo {
            id: s.id,
            tenant: s.tenant_id,
            username: self.open_username(s)?,
            role: role_of(s)?,
            access: access_of(&s.access)?,
            must_change_password: s.must_change_password,
            suspended: s.disabled,
            offboarded_at: s.offboarded_at,
            mfa_enabled: s.mfa_enabled,
            last_login_at: s.last_login_at,
            password_changed_at: s.password_changed_at,
            locked,
            created_at: s.created_at,
        })
    }
}

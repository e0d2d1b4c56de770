//! API keys of service clients (AUTH-1, ACC-2): a key belongs to a service
//! account of one tenant, is scoped to collections and operations (the
//! same grants as an operator's, masks included), expires, records when it
//! was last used, and can be revoked. The key is shown once, at creation;
//! only its SHA-256 is stored. Suspending the account revokes its keys.

use crate::crypto::{self, token_hash};
use crate::domain::access::{Access, Action};
use crate::domain::{Invalid, Role};
use crate::service::{Actor, Result, ServiceError, Vault};
use crate::store::queries::{self, ApiKeyRow};
use uuid::Uuid;

/// The longest a key may live.
pub const MAX_DAYS: u32 = 730;

pub struct ApiKeyInfo {
    pub id: Uuid,
    pub tenant: Uuid,
    pub name: String,
    pub account: Uuid,
    pub access: Access,
    pub created_at: i64,
    pub expires_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

fn info(k: &ApiKeyRow) -> ApiKeyInfo {
    ApiKeyInfo {
        id: k.id,
        tenant: k.tenant_id,
        name: k.name.clone(),
        account: k.created_by,
        access: serde_json::from_str(&k.access).unwrap_or_default(),
        created_at: k.created_at,
        expires_at: k.expires_at,
        last_used_at: k.last_used_at,
        revoked_at: k.revoked_at,
    }
}

impl Vault {
    /// Creates a key for a service account of the tenant; returns it once.
    pub async fn create_api_key(
        &self,
        actor: &Actor,
        tenant: Uuid,
        account: Uuid,
        name: &str,
        access: Access,
        days: u32,
    ) -> Result<(ApiKeyInfo, String)> {
        let call = self.call(actor, Action::ApiKeyCreate, Some(tenant)).detail(format!("account={account}"));
        self.run(
            call,
            |_| async {
                let name = name.trim();
                if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
                    return Err(Invalid::new("name", "must be 1-100 characters").into());
                }
                if !(1..=MAX_DAYS).contains(&days) {
                    return Err(Invalid::new("days", format!("must be 1-{MAX_DAYS}")).into());
                }
                if access.grants.is_empty() {
                    return Err(
                        Invalid::new("access.grants", "must grant at least one collection and operation").into()
                    );
                }
                let s = self
                    .store
                    .read_latest(move |db| queries::staff_by_id(db, account))
                    .await?
                    .ok_or(ServiceError::NotFound("staff"))?;
                if s.tenant_id != Some(tenant) {
                    return Err(ServiceError::NotFound("staff"));
                }
                if s.role != Role::Service.as_str() {
                    return Err(Invalid::new("account", "must be a service account (role service)").into());
                }
                if s.disabled {
                    return Err(ServiceError::Conflict("the account is suspended"));
                }
                let key = format!("{}{}", super::login::API_KEY_PREFIX, crypto::new_token());
                let now = self.clock.now_ms();
                let row = ApiKeyRow {
                    tenant_id: tenant,
                    id: Uuid::now_v7(),
                    key_hash: token_hash(&key).to_vec(),
                    name: name.to_string(),
                    access: serde_json::to_string(&access).map_err(|e| ServiceError::Internal(e.to_string()))?,
                    created_by: account,
                    created_at: now,
                    expires_at: now + i64::from(days) * 86_400_000,
                    last_used_at: None,
                    revoked_at: None,
                };
                let out = info(&row);
                let id = row.id;
                self.write_recorded(move |db, d| {
                    d.detail = Some(format!("account={account} key={id}"));
                    queries::insert_api_key(db, &row)
                })
                .await?;
                Ok((out, key))
            },
            |_, _| {},
        )
        .await
    }

    pub async fn list_api_keys(&self, actor: &Actor, tenant: Uuid) -> Result<Vec<ApiKeyInfo>> {
        let call = self.call(actor, Action::ApiKeyList, Some(tenant));
        self.run(
            call,
            |_| async {
                Ok(self
                    .store
                    .read_latest(move |db| queries::list_api_keys(db, tenant))
                    .await?
                    .iter()
                    .map(info)
                    .collect())
            },
            |_, _| {},
        )
        .await
    }

    /// Revokes a key: the next request with it fails (on other servers within 2 s).
    pub async fn revoke_api_key(&self, actor: &Actor, tenant: Uuid, id: Uuid) -> Result<()> {
        let call = self.call(actor, Action::ApiKeyRevoke, Some(tenant)).detail(format!("key={id}"));
        self.run(
            call,
            |_| async {
                let now = self.clock.now_ms();
                self.write_recorded(move |db, _| queries::revoke_api_key(db, tenant, id, now)).await.map_err(|e| {
                    match e {
                        crate::store::StoreError::NotFound => ServiceError::NotFound("api key"),
                        e => e.into(),
                    }
                })?;
                let keys = self.store.read_latest(move |db| queries::list_api_keys(db, tenant)).await?;
                if let Some(k) = keys.iter().find(|k| k.id == id) {
                    if let Ok(h) = <[u8; 32]>::try_from(k.key_hash.as_slice()) {
                        self.sessions.forget(&h);
                    }
                }
                Ok(())
            },
            |_, _| {},
        )
        .await
    }
}

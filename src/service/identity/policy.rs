//! The security policy of a tenant (and one for system staff): password,
//! MFA, sessions, lockout, four-eyes, networks, review (`domain::policy`).
//! Stored as TOML in `policies`; without a stored one, the recommended
//! policy applies. Cached per tenant and re-read after [`POLICY_CACHE_MS`],
//! so a change made through another server applies within 5 s.

use crate::domain::access::Action;
use crate::domain::policy::Policy;
use crate::service::{Actor, Result, ServiceError, Vault};
use crate::store::queries;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use uuid::Uuid;

pub const POLICY_CACHE_MS: i64 = 5_000;

/// Per tenant (`None`: system staff): the policy and when it was read.
type Cached = HashMap<Option<Uuid>, (Arc<Policy>, i64)>;

#[derive(Default)]
pub(crate) struct PolicyCache(RwLock<Cached>);

fn scope_key(tenant: Option<Uuid>) -> String {
    tenant.map(|t| t.to_string()).unwrap_or_default()
}

impl Vault {
    /// The policy in force for a tenant's staff (`None`: system staff).
    pub(crate) async fn policy(&self, tenant: Option<Uuid>) -> Result<Arc<Policy>> {
        let now = self.clock.now_ms();
        if let Some((p, at)) = self.policies.0.read().unwrap_or_else(|e| e.into_inner()).get(&tenant) {
            if now - at < POLICY_CACHE_MS {
                return Ok(p.clone());
            }
        }
        let key = scope_key(tenant);
        let stored = self.store.read(move |db| queries::get_policy(db, &key)).await?;
        let p = match stored {
            Some((body, _)) => {
                Arc::new(Policy::from_toml(&body).map_err(|e| ServiceError::Internal(format!("stored policy: {e}")))?)
            }
            None => self.settings.default_policy.clone(),
        };
        self.policies.0.write().unwrap_or_else(|e| e.into_inner()).insert(tenant, (p.clone(), now));
        Ok(p)
    }

    /// Reads the policy of a tenant (`None`: system staff's).
    pub async fn get_policy(&self, actor: &Actor, tenant: Option<Uuid>) -> Result<Policy> {
        let call = self.call(actor, Action::PolicyRead, tenant);
        self.run(call, |_| async { Ok(self.policy(tenant).await?.as_ref().clone()) }, |_, _| {}).await
    }

    /// Replaces the policy (four-eyes if the tenant's policy says so).
    pub async fn set_policy(
        &self,
        actor: &Actor,
        tenant: Option<Uuid>,
        policy: Policy,
    ) -> Result<super::super::approvals::Held<Policy>> {
        policy.validate().map_err(ServiceError::Invalid)?;
        let cmd = super::super::approvals::Command::SetPolicy { tenant, policy: Box::new(policy.clone()) };
        let call = self.call(actor, Action::PolicyChange, tenant);
        self.run_held(call, cmd, |_| async move { self.put_policy(tenant, policy).await }, |_, _| {}).await
    }

    /// Stores a policy without an actor's checks: for `varuh policy set` on
    /// the server's own machine, and for an approved command.
    pub(crate) async fn put_policy(&self, tenant: Option<Uuid>, policy: Policy) -> Result<Policy> {
        policy.validate().map_err(ServiceError::Invalid)?;
        let body = policy.to_toml();
        let key = scope_key(tenant);
        let now = self.clock.now_ms();
        self.write_recorded(move |db, d| {
            d.detail = Some("policy replaced".into());
            queries::put_policy(db, &key, &body, now)
        })
        .await?;
        self.policies.0.write().unwrap_or_else(|e| e.into_inner()).remove(&tenant);
        Ok(policy)
    }
}

//! A tenant's settings for the subject's rights (`domain::settings`):
//! read and replaced whole, stored sealed with the tenant's key.

use super::super::{Actor, Result, ServiceError, Vault};
use crate::domain::access::Action;
use crate::domain::settings::TenantSettings;
use crate::store::queries;
use uuid::Uuid;

fn context(tenant: Uuid) -> String {
    format!("varuh/tenant-settings/v1/{tenant}")
}

impl Vault {
    /// The tenant's settings (defaults if never set).
    pub(crate) async fn settings(&self, tenant: Uuid) -> Result<TenantSettings> {
        let t = self.tenant(tenant).await?;
        let Some(sealed) = self.store.read(move |db| queries::get_tenant_settings(db, tenant)).await? else {
            return Ok(TenantSettings::default());
        };
        let plain = t.keys.open(&context(tenant), &sealed).map_err(|e| ServiceError::Internal(e.to_string()))?;
        serde_json::from_slice(&plain).map_err(|_| ServiceError::Internal("stored tenant settings are not JSON".into()))
    }

    pub async fn get_settings(&self, actor: &Actor, tenant: Uuid) -> Result<TenantSettings> {
        let call = self.call(actor, Action::TenantSettingsRead, Some(tenant));
        self.run(call, |_| async move { self.settings(tenant).await }, |_, _| {}).await
    }

    /// Replaces the tenant's settings.
    pub async fn put_settings(&self, actor: &Actor, tenant: Uuid, s: TenantSettings) -> Result<TenantSettings> {
        let call = self.call(actor, Action::TenantSettingsChange, Some(tenant));
        self.run(
            call,
            |cx| async move {
                let t = cx.tenant()?.clone();
                s.validate()?;
                let json = serde_json::to_vec(&s).map_err(|e| ServiceError::Internal(e.to_string()))?;
                let sealed = t.keys.seal(&context(tenant), &json);
                let now = self.clock.now_ms();
                self.write_recorded(move |db, _| queries::put_tenant_settings(db, tenant, &sealed, now)).await?;
                Ok(s)
            },
            |_, _| {},
        )
        .await
    }
}

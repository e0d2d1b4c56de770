//! Tenancy: tenants (one controller each) and their collections
//! (`collections.rs`), and its settings for the subject's rights (`settings.rs`). Creating a tenant makes its root key, stored only
//! wrapped by the master key.

pub mod collections;
pub mod settings;

use super::{Actor, Result, ServiceError, Vault};
use crate::domain::access::Action;
use crate::domain::Invalid;
use crate::store::queries::{self, TenantRow};
use crate::store::StoreError;
use uuid::Uuid;

pub struct TenantInfo {
    pub id: Uuid,
    pub name: String,
    pub allow_special_categories: bool,
    pub created_at: i64,
}

fn info(r: &TenantRow) -> TenantInfo {
    TenantInfo { id: r.id, name: r.name.clone(), allow_special_categories: r.allow_special, created_at: r.created_at }
}

impl Vault {
    pub async fn create_tenant(&self, actor: &Actor, name: &str, allow_special: bool) -> Result<TenantInfo> {
        let call = self.call(actor, Action::TenantCreate, None);
        self.run(
            call,
            |_| async {
                let name = name.trim();
                if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
                    return Err(Invalid::new("name", "must be 1-200 characters, without control characters").into());
                }
                let id = Uuid::now_v7();
                let (_, wrapped) = self.master.new_tenant(id);
                let row = TenantRow {
                    id,
                    name: name.to_string(),
                    allow_special,
                    wrapped_key: wrapped,
                    created_at: self.clock.now_ms(),
                };
                let out = info(&row);
                self.write_recorded(move |db, d| {
                    d.tenant = Some(row.id);
                    queries::insert_tenant(db, &row)
                })
                .await
                .map_err(|e| match e {
                    StoreError::Conflict => ServiceError::Conflict("a tenant with this name exists"),
                    e => e.into(),
                })?;
                Ok(out)
            },
            |t, d| d.tenant = Some(t.id),
        )
        .await
    }

    /// All tenants for system staff; one's own for anyone else.
    pub async fn list_tenants(&self, actor: &Actor) -> Result<Vec<TenantInfo>> {
        let call = self.call(actor, Action::TenantList, actor.tenant);
        self.run(
            call,
            |_| async {
                let rows = match actor.tenant {
                    None => self.store.read(|db| queries::list_tenants(db)).await?,
                    Some(t) => self.store.read(move |db| queries::get_tenant(db, t)).await?.into_iter().collect(),
                };
                Ok(rows.iter().map(info).collect())
            },
            |_, _| {},
        )
        .await
    }

    pub async fn get_tenant(&self, actor: &Actor, id: Uuid) -> Result<TenantInfo> {
        let call = self.call(actor, Action::TenantRead, Some(id));
        self.run(
            call,
            |_| async {
                let row = self
                    .store
                    .read(move |db| queries::get_tenant(db, id))
                    .await?
                    .ok_or(ServiceError::NotFound("tenant"))?;
                Ok(info(&row))
            },
            |_, _| {},
        )
        .await
    }
}

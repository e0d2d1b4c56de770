//! Collections: a tenant's processing activities (Art. 30) with their field
//! schemas. Definitions are immutable once created, so they are cached.

use crate::domain::access::Action;
use crate::domain::schema::CollectionDef;
use crate::service::{Actor, Result, ServiceError, Vault};
use crate::store::queries::{self, CollectionRow};
use crate::store::StoreError;
use uuid::Uuid;

pub struct CollectionInfo {
    pub id: Uuid,
    pub tenant: Uuid,
    pub def: CollectionDef,
    pub created_at: i64,
}

impl Vault {
    pub async fn create_collection(&self, actor: &Actor, tenant: Uuid, def: CollectionDef) -> Result<CollectionInfo> {
        let call = self.call(actor, Action::CollectionCreate, Some(tenant)).collection(&def.name);
        self.run(
            call,
            |cx| async move {
                def.validate(cx.tenant()?.allow_special)?;
                let row = CollectionRow {
                    tenant_id: tenant,
                    id: Uuid::now_v7(),
                    name: def.name.clone(),
                    definition: serde_json::to_string(&def).map_err(|e| ServiceError::Internal(e.to_string()))?,
                    created_at: self.clock.now_ms(),
                };
                let out = CollectionInfo { id: row.id, tenant, def, created_at: row.created_at };
                self.write_recorded(move |db, _| queries::insert_collection(db, &row)).await.map_err(|e| match e {
                    StoreError::Conflict => ServiceError::Conflict("a collection with this name exists in this tenant"),
                    e => e.into(),
                })?;
                Ok(out)
            },
            |_, _| {},
        )
        .await
    }

    pub async fn list_collections(&self, actor: &Actor, tenant: Uuid) -> Result<Vec<CollectionInfo>> {
        let call = self.call(actor, Action::CollectionList, Some(tenant));
        self.run(
            call,
            |_| async {
                let rows = self.store.read(move |db| queries::list_collections(db, tenant)).await?;
                rows.into_iter()
                    .map(|r| {
                        Ok(CollectionInfo {
                            id: r.id,
                            tenant,
                            def: serde_json::from_str(&r.definition)
                                .map_err(|e| ServiceError::Internal(e.to_string()))?,
                            created_at: r.created_at,
                        })
                    })
                    .collect()
            },
            |_, _| {},
        )
        .await
    }

    pub async fn get_collection(&self, actor: &Actor, tenant: Uuid, name: &str) -> Result<CollectionInfo> {
        let call = self.call(actor, Action::CollectionRead, Some(tenant)).collection(name);
        self.run(
            call,
            |_| async {
                let c = self.collection(tenant, name).await?;
                Ok(CollectionInfo { id: c.id, tenant, def: c.def.clone(), created_at: c.created_at })
            },
            |_, _| {},
        )
        .await
    }
}

//! Statements of tenancy: tenants and collections.

use super::super::db::{Db, Row};
use super::super::StoreError;
use uuid::Uuid;

pub struct TenantRow {
    pub id: Uuid,
    pub name: String,
    pub allow_special: bool,
    pub wrapped_key: Vec<u8>,
    pub created_at: i64,
}

fn tenant(r: &Row) -> Result<TenantRow, StoreError> {
    Ok(TenantRow {
        id: r.uuid(0)?,
        name: r.text(1)?,
        allow_special: r.bool(2)?,
        wrapped_key: r.blob(3)?,
        created_at: r.i64(4)?,
    })
}

pub fn insert_tenant(db: &mut dyn Db, t: &TenantRow) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO tenants (id, name, allow_special, wrapped_key, created_at) VALUES ($1, $2, $3, $4, $5)",
        &[
            t.id.into(),
            t.name.as_str().into(),
            t.allow_special.into(),
            t.wrapped_key.as_slice().into(),
            t.created_at.into(),
        ],
    )?;
    Ok(())
}

pub fn get_tenant(db: &mut dyn Db, id: Uuid) -> Result<Option<TenantRow>, StoreError> {
    db.query("SELECT id, name, allow_special, wrapped_key, created_at FROM tenants WHERE id = $1", &[id.into()])?
        .first()
        .map(tenant)
        .transpose()
}

pub fn list_tenants(db: &mut dyn Db) -> Result<Vec<TenantRow>, StoreError> {
    db.query("SELECT id, name, allow_special, wrapped_key, created_at FROM tenants ORDER BY id", &[])?
        .iter()
        .map(tenant)
        .collect()
}
pub struct CollectionRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub name: String,
    pub definition: String,
    pub created_at: i64,
}

fn collection(r: &Row) -> Result<CollectionRow, StoreError> {
    Ok(CollectionRow {
        tenant_id: r.uuid(0)?,
        id: r.uuid(1)?,
        name: r.text(2)?,
        definition: r.text(3)?,
        created_at: r.i64(4)?,
    })
}

pub fn insert_collection(db: &mut dyn Db, c: &CollectionRow) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO collections (tenant_id, id, name, definition, created_at) VALUES ($1, $2, $3, $4, $5)",
        &[c.tenant_id.into(), c.id.into(), c.name.as_str().into(), c.definition.as_str().into(), c.created_at.into()],
    )?;
    Ok(())
}

pub fn list_collections(db: &mut dyn Db, tenant: Uuid) -> Result<Vec<CollectionRow>, StoreError> {
    db.query(
        "SELECT tenant_id, id, name, definition, created_at FROM collections WHERE tenant_id = $1 ORDER BY name",
        &[tenant.into()],
    )?
    .iter()
    .map(collection)
    .collect()
}

pub fn collection_by_name(db: &mut dyn Db, tenant: Uuid, name: &str) -> Result<Option<CollectionRow>, StoreError> {
    db.query(
        "SELECT tenant_id, id, name, definition, created_at FROM collections WHERE tenant_id = $1 AND name = $2",
        &[tenant.into(), name.into()],
    )?
    .first()
    .map(collection)
    .transpose()
}

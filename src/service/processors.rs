//! The processor register (REG-2): each processor and sub-processor with
//! its service, data categories, locations and transfer safeguard, the
//! DPA's date, the next review, its security measures and contact; each
//! shown with the collections that name it (so the records of processing
//! and the access report name them too), whether its review is overdue,
//! and the register's gaps: processors a collection names that the
//! register does not hold.

use super::{Actor, Result, ServiceError, TenantCtx, Vault};
use crate::domain::access::Action;
use crate::domain::processor::ProcessorEntry;
use crate::domain::Invalid;
use crate::store::queries::{self, ProcessorRow};
use crate::store::StoreError;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct ProcessorView {
    pub row: ProcessorRow,
    pub entry: ProcessorEntry,
    /// The tenant's collections whose definitions name it.
    pub collections: Vec<String>,
    pub review_overdue: bool,
}

/// The register: its entries, and the names collections use that it lacks.
#[derive(Debug, Clone)]
pub struct ProcessorRegister {
    pub processors: Vec<ProcessorView>,
    pub unregistered: Vec<String>,
}

fn context(tenant: Uuid, id: Uuid) -> String {
    format!("varuh/processor/v1/{tenant}/{id}")
}

/// Today (UTC) as YYYY-MM-DD, to compare review dates with.
fn today(now_ms: i64) -> String {
    crate::clock::rfc3339(now_ms)[..10].to_string()
}

impl Vault {
    pub async fn create_processor(&self, actor: &Actor, tenant: Uuid, e: ProcessorEntry) -> Result<ProcessorView> {
        let call = self.call(actor, Action::ProcessorCreate, Some(tenant));
        self.run(
            call,
            |cx| async move {
                let t = cx.tenant()?.clone();
                self.check_entry(tenant, &e, None).await?;
                let now = self.clock.now_ms();
                let id = Uuid::now_v7();
                let row = seal(&t, id, &e, now, now, 1)?;
                let stored = row.clone();
                self.write_recorded(move |db, d| {
                    d.detail = Some(format!("processor={id}"));
                    queries::insert_processor(db, tenant, &stored)
                })
                .await
                .map_err(write_error)?;
                self.processor_view(&t, row, now).await
            },
            |_, _| {},
        )
        .await
    }

    /// Replaces an entry at the version read (409 if another change came first).
    pub async fn update_processor(
        &self,
        actor: &Actor,
        tenant: Uuid,
        id: Uuid,
        version: i64,
        e: ProcessorEntry,
    ) -> Result<ProcessorView> {
        let call = self.call(actor, Action::ProcessorUpdate, Some(tenant)).detail(format!("processor={id}"));
        self.run(
            call,
            |cx| async move {
                let t = cx.tenant()?.clone();
                let old = self
                    .store
                    .read_latest(move |db| queries::get_processor(db, tenant, id))
                    .await?
                    .ok_or(ServiceError::NotFound("processor"))?;
                self.check_entry(tenant, &e, Some(id)).await?;
                let now = self.clock.now_ms();
                let row = seal(&t, id, &e, old.created_at, now, version + 1)?;
                let stored = row.clone();
                self.write_recorded(move |db, _| queries::update_processor(db, tenant, &stored, version))
                    .await
                    .map_err(write_error)?;
                self.processor_view(&t, row, now).await
            },
            |_, _| {},
        )
        .await
    }

    pub async fn get_processor(&self, actor: &Actor, tenant: Uuid, id: Uuid) -> Result<ProcessorView> {
        let call = self.call(actor, Action::ProcessorRead, Some(tenant)).detail(format!("processor={id}"));
        self.run(
            call,
            |cx| async move {
                let t = cx.tenant()?.clone();
                let row = self
                    .store
                    .read_latest(move |db| queries::get_processor(db, tenant, id))
                    .await?
                    .ok_or(ServiceError::NotFound("processor"))?;
                self.processor_view(&t, row, self.clock.now_ms()).await
            },
            |_, _| {},
        )
        .await
    }

    pub async fn list_processors(&self, actor: &Actor, tenant: Uuid) -> Result<ProcessorRegister> {
        let call = self.call(actor, Action::ProcessorList, Some(tenant));
        self.run(
            call,
            |cx| async move {
                let t = cx.tenant()?.clone();
                self.processor_register(&t).await
            },
            |r: &ProcessorRegister, d| {
                d.detail = Some(format!("processors={} unregistered={}", r.processors.len(), r.unregistered.len()))
            },
        )
        .await
    }

    pub(super) async fn processor_register(&self, t: &TenantCtx) -> Result<ProcessorRegister> {
        let tenant = t.id;
        let now = self.clock.now_ms();
        let rows = self.store.read(move |db| queries::list_processors(db, tenant)).await?;
        let mut processors = Vec::with_capacity(rows.len());
        for r in rows {
            processors.push(self.processor_view(t, r, now).await?);
        }
        let mut unregistered = Vec::new();
        for name in self.named_processors(tenant).await?.into_keys() {
            if !processors.iter().any(|p| p.entry.name == name) {
                unregistered.push(name);
            }
        }
        Ok(ProcessorRegister { processors, unregistered })
    }

    /// Every processor name the tenant's collections use, with those collections.
    async fn named_processors(&self, tenant: Uuid) -> Result<std::collections::BTreeMap<String, Vec<String>>> {
        let mut out: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        let mut names: Vec<String> = self.collection_names(tenant).await?.into_values().collect();
        names.sort();
        for n in names {
            let c = self.collection(tenant, &n).await?;
            for p in &c.def.processors {
                out.entry(p.clone()).or_default().push(n.clone());
            }
        }
        Ok(out)
    }

    async fn check_entry(&self, tenant: Uuid, e: &ProcessorEntry, id: Option<Uuid>) -> Result<()> {
        e.validate()?;
        if let Some(by) = &e.engaged_by {
            let rows = self.store.read_latest(move |db| queries::list_processors(db, tenant)).await?;
            if !rows.iter().any(|r| &r.name == by && Some(r.id) != id) {
                return Err(Invalid::new("engaged_by", "must name a processor in the register").into());
            }
        }
        Ok(())
    }

    async fn processor_view(&self, t: &TenantCtx, row: ProcessorRow, now: i64) -> Result<ProcessorView> {
        let plain =
            t.keys.open(&context(t.id, row.id), &row.details).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let entry: ProcessorEntry = serde_json::from_slice(&plain)
            .map_err(|_| ServiceError::Internal("a stored processor entry is not JSON".into()))?;
        let collections = self.named_processors(t.id).await?.remove(&entry.name).unwrap_or_default();
        let review_overdue = entry.review_due.as_deref().is_some_and(|d| d < today(now).as_str());
        Ok(ProcessorView { row, entry, collections, review_overdue })
    }
}

/// A register write's failure: another change came first (409), or the
/// unique value is taken (`taken`, 422).
pub(super) fn register_write_error(e: StoreError, taken: Invalid) -> ServiceError {
    match e {
        StoreError::Stale => ServiceError::Conflict("the entry was changed since it was read: read it again"),
        StoreError::Conflict => ServiceError::Invalid(taken),
        e => e.into(),
    }
}

fn write_error(e: StoreError) -> ServiceError {
    register_write_error(e, Invalid::new("name", "the register holds this name already"))
}

fn seal(t: &TenantCtx, id: Uuid, e: &ProcessorEntry, created: i64, now: i64, version: i64) -> Result<ProcessorRow> {
    let json = serde_json::to_vec(e).map_err(|e| ServiceError::Internal(e.to_string()))?;
    Ok(ProcessorRow {
        id,
        name: e.name.clone(),
        details: t.keys.seal(&context(t.id, id), &json),
        created_at: created,
        updated_at: now,
        version,
    })
}

//! CSV import of a contact list into a collection (EximiTech's customers
//! import theirs): the file read and checked whole first
//! (`domain::import`); with any bad row nothing is imported unless the
//! caller asks to skip bad rows; then the rows are written in chunks, each
//! finding or creating its subject by the identifiers (as a create does),
//! sealing the fields under the subject's key, and recording the consent
//! column as consent given to the purpose's notice. A chunk that fails
//! (an identifier that names two subjects, a store error) undoes the chunks
//! written before it, so a failed import leaves nothing behind. One audit
//! event per chunk names its records' range and counts.

use super::records::{record_attributes, record_identifiers, seal_fields, until_not_busy};
use super::{Actor, Result, ServiceError, TenantCtx, Vault};
use crate::crypto::SubjectKey;
use crate::domain::access::Action;
use crate::domain::import::{self, Mapping, RowError};
use crate::domain::Invalid;
use crate::store::db::Db;
use crate::store::queries::{self, ConsentRow, IdentifierRow, RecordRow, SubjectRow};
use crate::store::StoreError;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use uuid::Uuid;

/// Rows written per transaction.
const CHUNK: usize = 500;

/// The consent a consent column records.
pub struct ConsentColumn {
    pub column: String,
    /// The column with each row's evidence (default: the row of the import).
    pub evidence_column: Option<String>,
    pub purpose: String,
    pub notice_version: i64,
    pub channel: String,
}

pub struct ImportSpec {
    pub csv: String,
    /// File column → field.
    pub columns: BTreeMap<String, String>,
    pub consent: Option<ConsentColumn>,
    /// Import the good rows and report the bad ones (else nothing on any bad row).
    pub skip_bad_rows: bool,
    /// Check only; write nothing.
    pub dry_run: bool,
}

#[derive(Debug, Default)]
pub struct ImportReport {
    pub rows: usize,
    pub imported: usize,
    pub subjects_created: usize,
    pub consents: usize,
    pub skipped: usize,
    pub errors: Vec<RowError>,
}

/// A row ready to be written: its record id and blind indexes.
struct Prepared {
    row: usize,
    id: Uuid,
    values: Vec<(String, serde_json::Value)>,
    idents: Vec<IdentifierRow>,
    attrs: Vec<IdentifierRow>,
    consented: bool,
    evidence: Option<String>,
}

/// One chunk's write: everything it needs, owned (it runs on the writer).
struct Chunk {
    tenant: Arc<TenantCtx>,
    collection: Uuid,
    rows: Arc<Vec<Prepared>>,
    /// Purpose, notice version, channel.
    consent: Option<(String, i64, String)>,
    actor: String,
    now: i64,
}

impl Chunk {
    /// Finds or creates each row's subject by its identifiers, then writes
    /// the chunk's subjects, records, identifiers, attributes and consents,
    /// a few statements for the whole chunk. An identifier that names
    /// another subject than the row's other identifiers fails the chunk.
    fn write(&self, db: &mut dyn Db) -> std::result::Result<Written, StoreError> {
        let tenant = self.tenant.id;
        let all: Vec<IdentifierRow> = self.rows.iter().flat_map(|r| r.idents.iter().cloned()).collect();
        if !queries::try_lock_identifiers(db, &all)? {
            return Err(StoreError::Busy);
        }
        let probes: Vec<(String, Vec<u8>)> = all.into_iter().map(|i| (i.kind, i.hash)).collect();
        // Identifier → subject: what the store knows, then the chunk's own rows.
        let mut owner = queries::owners_of_identifiers(db, tenant, &probes)?;
        let mut w = Written::default();
        let mut keys: HashMap<Uuid, SubjectKey> = HashMap::new();
        let mut subjects = Vec::new();
        let mut placed = Vec::with_capacity(self.rows.len());
        for r in self.rows.iter() {
            let mut owners: Vec<Uuid> =
                r.idents.iter().filter_map(|i| owner.get(&(i.kind.clone(), i.hash.clone())).copied()).collect();
            owners.sort();
            owners.dedup();
            if owners.len() > 1 {
                return Err(StoreError::Db(format!("row {}: its identifiers name different subjects", r.row)));
            }
            let sid = match owners.first() {
                Some(s) => *s,
                None => {
                    let sid = Uuid::now_v7();
                    let (key, wrapped) = self.tenant.keys.new_subject_key(tenant, sid);
                    subjects.push(SubjectRow {
                        tenant_id: tenant,
                        id: sid,
                        wrapped_key: wrapped,
                        created_at: self.now,
                    });
                    keys.insert(sid, key);
                    w.subjects.push(sid);
                    sid
                }
            };
            for i in &r.idents {
                owner.insert((i.kind.clone(), i.hash.clone()), sid);
            }
            placed.push(sid);
        }
        // The keys of the subjects that were there already, in one look-up.
        let mut missing: Vec<Uuid> = placed.iter().filter(|s| !keys.contains_key(s)).copied().collect();
        missing.sort();
        missing.dedup();
        for (sid, wrapped) in queries::wrapped_keys(db, tenant, &missing)? {
            let key =
                self.tenant.keys.open_subject_key(tenant, sid, &wrapped).map_err(|e| StoreError::Db(e.to_string()))?;
            keys.insert(sid, key);
        }
        let mut records = Vec::with_capacity(self.rows.len());
        let (mut idents, mut attrs, mut consents) = (Vec::new(), Vec::new(), Vec::new());
        for (r, sid) in self.rows.iter().zip(&placed) {
            let key = keys.get(sid).ok_or(StoreError::NotFound)?;
            records.push(RecordRow {
                tenant_id: tenant,
                id: r.id,
                collection_id: self.collection,
                subject_id: *sid,
                fields: seal_fields(key, tenant, self.collection, r.id, &r.values),
                version: 1,
                created_at: self.now,
                updated_at: self.now,
            });
            idents.extend(r.idents.iter().map(|i| (*sid, i.clone())));
            attrs.extend(r.attrs.iter().map(|i| (*sid, i.clone())));
            w.records.push(r.id);
            if let (true, Some((purpose, version, channel))) = (r.consented, &self.consent) {
                let cid = Uuid::now_v7();
                let evidence =
                    r.evidence.clone().unwrap_or_else(|| format!("imported with row {} of a contact list", r.row));
                let ctx = super::consent::evidence_context(tenant, cid);
                consents.push(ConsentRow {
                    id: cid,
                    subject_id: *sid,
                    purpose: purpose.clone(),
                    given: true,
                    notice_version: Some(*version),
                    channel: channel.clone(),
                    evidence: Some(key.seal_field(&ctx, evidence.as_bytes())),
                    expires_at: None,
                    recorded_by: self.actor.clone(),
                    recorded_at: self.now,
                });
                w.consents.push(cid);
            }
        }
        queries::insert_subjects(db, &subjects)?;
        queries::insert_records(db, &records)?;
        queries::insert_blind_indexes(db, tenant, &idents, false)?;
        queries::insert_blind_indexes(db, tenant, &attrs, true)?;
        queries::insert_consents(db, tenant, &consents)?;
        Ok(w)
    }
}

/// What one chunk wrote (to undo it if a later chunk fails).
#[derive(Default)]
struct Written {
    records: Vec<Uuid>,
    subjects: Vec<Uuid>,
    consents: Vec<Uuid>,
}

impl Vault {
    /// Imports the rows of a CSV file into a collection; `progress` counts
    /// the rows written so far (the CLI draws its bar from it).
    pub async fn import_records(
        &self,
        actor: &Actor,
        tenant: Uuid,
        collection: &str,
        spec: ImportSpec,
        progress: Option<Arc<AtomicUsize>>,
    ) -> Result<ImportReport> {
        let call = self.call(actor, Action::RecordsImport, Some(tenant)).collection(collection);
        self.run(
            call,
            |cx| async move {
                let t = cx.tenant()?.clone();
                let c = self.collection(tenant, collection).await?;
                // The consent column records consent to a notice that exists.
                if let Some(cc) = &spec.consent {
                    if !c.def.purposes.contains(&cc.purpose) {
                        return Err(Invalid::new("consent.purpose", "is not a purpose of this collection").into());
                    }
                    if cc.channel.trim().is_empty() || cc.channel.len() > 100 {
                        return Err(Invalid::new(
                            "consent.channel",
                            "must say how consent was collected (1-100 bytes)",
                        )
                        .into());
                    }
                    let (p, v) = (cc.purpose.clone(), cc.notice_version);
                    if self.store.read(move |db| queries::get_consent_notice(db, tenant, &p, v)).await?.is_none() {
                        return Err(Invalid::new(
                            "consent.notice_version",
                            "no notice of this purpose has this version",
                        )
                        .into());
                    }
                }
                let def = c.def.clone();
                let mapping_cols = spec.columns.clone();
                let consent_col = spec.consent.as_ref().map(|c| c.column.clone());
                let evidence_col = spec.consent.as_ref().and_then(|c| c.evidence_column.clone());
                let csv = spec.csv;
                let (rows, errors) = tokio::task::spawn_blocking(move || {
                    import::read(
                        &def,
                        &csv,
                        &Mapping {
                            columns: &mapping_cols,
                            consent_column: consent_col.as_deref(),
                            evidence_column: evidence_col.as_deref(),
                        },
                    )
                })
                .await
                .map_err(|e| ServiceError::Internal(e.to_string()))??;
                let mut report = ImportReport {
                    rows: rows.len() + errors.len(),
                    skipped: errors.len(),
                    errors,
                    ..Default::default()
                };
                if !report.errors.is_empty() && !spec.skip_bad_rows {
                    return Err(ServiceError::RowsInvalid(report.errors));
                }
                if spec.dry_run {
                    return Ok(report);
                }
                let consent = spec.consent.map(|cc| (cc.purpose, cc.notice_version, cc.channel));
                let mut done: Vec<Written> = Vec::new();
                let mut rows = rows.into_iter().peekable();
                while rows.peek().is_some() {
                    let chunk: Vec<Prepared> = rows
                        .by_ref()
                        .take(CHUNK)
                        .map(|r| {
                            let id = Uuid::now_v7();
                            Prepared {
                                idents: record_identifiers(&t, &c, &r.values, id),
                                attrs: record_attributes(&t, &c, &r.values, id),
                                row: r.row,
                                id,
                                values: r.values,
                                consented: r.consent,
                                evidence: r.evidence,
                            }
                        })
                        .collect();
                    let chunk = Arc::new(chunk);
                    let wrote = until_not_busy(|| {
                        let job = Chunk {
                            tenant: t.clone(),
                            collection: c.id,
                            rows: chunk.clone(),
                            consent: consent.clone(),
                            actor: actor.staff_id.to_string(),
                            now: self.clock.now_ms(),
                        };
                        self.write_recorded(move |db, d| {
                            let w = job.write(db)?;
                            d.detail = Some(format!(
                                "records={} subjects_created={} consents={} first={} last={}",
                                w.records.len(),
                                w.subjects.len(),
                                w.consents.len(),
                                w.records.first().map(Uuid::to_string).unwrap_or_default(),
                                w.records.last().map(Uuid::to_string).unwrap_or_default()
                            ));
                            Ok(w)
                        })
                    })
                    .await;
                    match wrote {
                        Ok(w) => {
                            report.imported += w.records.len();
                            report.subjects_created += w.subjects.len();
                            report.consents += w.consents.len();
                            if let Some(p) = &progress {
                                p.fetch_add(w.records.len(), Ordering::Relaxed);
                            }
                            done.push(w);
                        }
                        Err(e) => {
                            self.undo_import(tenant, done).await;
                            return Err(match e {
                                StoreError::Db(m) if m.starts_with("row ") => {
                                    ServiceError::RowsInvalid(vec![RowError {
                                        row: m[4..].split(':').next().and_then(|n| n.parse().ok()).unwrap_or(0),
                                        column: String::new(),
                                        problem: "its identifiers name different subjects; nothing was imported".into(),
                                    }])
                                }
                                e => e.into(),
                            });
                        }
                    }
                }
                if report.imported > 0 {
                    let n = report.imported;
                    if let Err(e) = self.store.write(move |db| queries::analyse_after_import(db, n)).await {
                        tracing::warn!(error = %e, "the tables an import grew could not be analysed");
                    }
                }
                Ok(report)
            },
            |r, d| {
                d.detail = Some(format!(
                    "rows={} imported={} subjects_created={} consents={} skipped={}",
                    r.rows, r.imported, r.subjects_created, r.consents, r.skipped
                ))
            },
        )
        .await
    }

    /// Deletes what earlier chunks of a failed import wrote.
    async fn undo_import(&self, tenant: Uuid, done: Vec<Written>) {
        if done.is_empty() {
            return;
        }
        let records: Vec<Uuid> = done.iter().flat_map(|w| w.records.iter().copied()).collect();
        let subjects: Vec<Uuid> = done.iter().flat_map(|w| w.subjects.iter().copied()).collect();
        let consents: Vec<Uuid> = done.iter().flat_map(|w| w.consents.iter().copied()).collect();
        let r = self.store.write(move |db| queries::undo_import(db, tenant, &records, &subjects, &consents)).await;
        if let Err(e) = r {
            tracing::error!(error = %e, "a failed import could not be undone");
        }
        self.store.erased();
    }
}

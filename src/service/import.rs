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

use super::records::{record_attributes, record_identifiers, seal_fields};
use super::{Actor, Result, ServiceError, Vault};
use crate::crypto::SubjectKey;
use crate::domain::access::Action;
use crate::domain::import::{self, Mapping, RowError};
use crate::domain::Invalid;
use crate::store::queries::{self, ConsentRow, RecordRow, SubjectRow};
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
                // Subjects found or created by this import, by identifier (across chunks).
                let mut known: HashMap<(String, Vec<u8>), Uuid> = HashMap::new();
                let mut done: Vec<Written> = Vec::new();
                for chunk in rows.chunks(CHUNK) {
                    let prepared: Vec<_> = chunk
                        .iter()
                        .map(|r| {
                            let id = Uuid::now_v7();
                            (
                                r.row,
                                id,
                                r.values.clone(),
                                record_identifiers(&t, &c, &r.values, id),
                                record_attributes(&t, &c, &r.values, id),
                                r.consent,
                                r.evidence.clone(),
                            )
                        })
                        .collect();
                    let (tc, cc, consent, actor_id) =
                        (t.clone(), c.clone(), consent.clone(), actor.staff_id.to_string());
                    let mut known_in = known.clone();
                    let now = self.clock.now_ms();
                    let wrote = self
                        .write_recorded(move |db, d| {
                            let mut w = Written::default();
                            let mut keys: HashMap<Uuid, SubjectKey> = HashMap::new();
                            for (row, id, values, idents, attrs, consented, given_evidence) in &prepared {
                                if !queries::try_lock_identifiers(db, idents)? {
                                    return Err(StoreError::Busy);
                                }
                                let probe: Vec<(String, Vec<u8>)> =
                                    idents.iter().map(|i| (i.kind.clone(), i.hash.clone())).collect();
                                let mut owners = queries::subjects_by_identifiers(db, tenant, &probe)?;
                                owners.extend(probe.iter().filter_map(|p| known_in.get(p).copied()));
                                owners.sort();
                                owners.dedup();
                                if owners.len() > 1 {
                                    return Err(StoreError::Db(format!(
                                        "row {row}: its identifiers name different subjects"
                                    )));
                                }
                                let sid = match owners.first() {
                                    Some(s) => *s,
                                    None => {
                                        let sid = Uuid::now_v7();
                                        let (key, wrapped) = tc.keys.new_subject_key(tenant, sid);
                                        queries::insert_subject(
                                            db,
                                            &SubjectRow {
                                                tenant_id: tenant,
                                                id: sid,
                                                wrapped_key: wrapped,
                                                created_at: now,
                                            },
                                        )?;
                                        keys.insert(sid, key);
                                        w.subjects.push(sid);
                                        sid
                                    }
                                };
                                for p in probe {
                                    known_in.insert(p, sid);
                                }
                                if let std::collections::hash_map::Entry::Vacant(e) = keys.entry(sid) {
                                    let s = queries::get_subject(db, tenant, sid)?.ok_or(StoreError::NotFound)?;
                                    let key = tc
                                        .keys
                                        .open_subject_key(tenant, sid, &s.wrapped_key)
                                        .map_err(|e| StoreError::Db(e.to_string()))?;
                                    e.insert(key);
                                }
                                let key = &keys[&sid];
                                queries::insert_record(
                                    db,
                                    &RecordRow {
                                        tenant_id: tenant,
                                        id: *id,
                                        collection_id: cc.id,
                                        subject_id: sid,
                                        fields: seal_fields(key, tenant, cc.id, *id, values),
                                        version: 1,
                                        created_at: now,
                                        updated_at: now,
                                    },
                                )?;
                                queries::insert_identifiers(db, tenant, sid, idents)?;
                                queries::insert_attributes(db, tenant, sid, attrs)?;
                                w.records.push(*id);
                                if let (true, Some((purpose, version, channel))) = (*consented, &consent) {
                                    let cid = Uuid::now_v7();
                                    let evidence = given_evidence
                                        .clone()
                                        .unwrap_or_else(|| format!("imported with row {row} of a contact list"));
                                    let ctx = super::consent::evidence_context(tenant, cid);
                                    queries::insert_consent(
                                        db,
                                        tenant,
                                        &ConsentRow {
                                            id: cid,
                                            subject_id: sid,
                                            purpose: purpose.clone(),
                                            given: true,
                                            notice_version: Some(*version),
                                            channel: channel.clone(),
                                            evidence: Some(key.seal_field(&ctx, evidence.as_bytes())),
                                            expires_at: None,
                                            recorded_by: actor_id.clone(),
                                            recorded_at: now,
                                        },
                                    )?;
                                    w.consents.push(cid);
                                }
                            }
                            d.detail = Some(format!(
                                "records={} subjects_created={} consents={} first={} last={}",
                                w.records.len(),
                                w.subjects.len(),
                                w.consents.len(),
                                w.records.first().map(Uuid::to_string).unwrap_or_default(),
                                w.records.last().map(Uuid::to_string).unwrap_or_default()
                            ));
                            Ok((w, known_in))
                        })
                        .await;
                    match wrote {
                        Ok((w, k)) => {
                            known = k;
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

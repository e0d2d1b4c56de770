//! Data subjects and their records: find-or-create a subject by identifier,
//! look one up by blind index, and create, read, update, delete and list
//! records. Fields are sealed here, before anything reaches the store, and
//! opened here after reading (CONF-1, CONF-3).

use super::approvals::{Command, Held};
use super::audit::field_names;
use super::{limits, Actor, Collection, Result, ServiceError, TenantCtx, Vault};
use crate::crypto::{FieldContext, SubjectKey};
use crate::domain::access::Action;
use crate::domain::schema::{identifier_text, FieldDef};
use crate::domain::{check_name, identifiers, Invalid};
use crate::store::db::Db;
use crate::store::queries::{self, IdentifierRow, NewRecord, Placement, RecordRow, SealedRecord, SubjectRow};
use crate::store::StoreError;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use uuid::Uuid;

/// A record as the caller sees it, opened.
pub struct RecordView {
    pub id: Uuid,
    pub collection: String,
    pub subject: Uuid,
    pub data: Map<String, Value>,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

pub struct SubjectInfo {
    pub id: Uuid,
    pub created_at: i64,
    pub created: bool,
}

/// Subjects found by an identifier or a searchable attribute.
pub struct SubjectMatches {
    /// The value identifies: at most one subject.
    pub by_identifier: bool,
    pub subjects: Vec<SubjectInfo>,
    /// More subjects share the value than this page holds.
    pub more: bool,
}

/// Largest page of `search_subjects`.
pub const MAX_SEARCH: usize = 100;

/// How a new record names its subject.
pub enum SubjectRef {
    /// An existing subject.
    Id(Uuid),
    /// Found, or created, by the record's identifier fields.
    FromData,
}

/// A change to a record: replace (`merge = false`) or JSON-merge its data,
/// optionally only if it is still at `expected_version` (If-Match).
pub struct Change<'a> {
    pub data: &'a Map<String, Value>,
    pub merge: bool,
    pub expected_version: Option<i64>,
    /// The verified rectification request this answers (its history records it).
    pub request: Option<Uuid>,
}

/// How often a write retries when another writer holds its identifiers'
/// lock (`queries::try_lock_identifiers`), and how long it waits first: a
/// batch commits within milliseconds.
const BUSY_TRIES: u32 = 200;
const BUSY_WAIT: std::time::Duration = std::time::Duration::from_millis(2);

/// Runs a write again while it answers `Busy` (another writer holds one
/// of its identifiers' locks until its batch commits), waiting between
/// tries, at most `BUSY_TRIES` times.
pub(super) async fn until_not_busy<R, F: std::future::Future<Output = std::result::Result<R, StoreError>>>(
    mut attempt: impl FnMut() -> F,
) -> std::result::Result<R, StoreError> {
    for _ in 0..BUSY_TRIES {
        match attempt().await {
            Err(StoreError::Busy) => tokio::time::sleep(BUSY_WAIT).await,
            r => return r,
        }
    }
    attempt().await
}

const MAX_PAGE: i64 = 1000;

impl Vault {
    pub(super) async fn subject_key(&self, t: &TenantCtx, subject: Uuid, wrapped: &[u8]) -> Result<SubjectKey> {
        t.keys.open_subject_key(t.id, subject, wrapped).map_err(|e| ServiceError::Internal(e.to_string()))
    }

    /// The identifying fields of `values` at fault when they name different
    /// subjects, as request paths: with `explicit` (the caller named the
    /// subject `sid`) those naming another subject; else every one that
    /// names a subject (they name at least two). A read after the failed
    /// write, so the answer can say which fields; values are never in it.
    async fn conflicting_fields(
        &self,
        t: &TenantCtx,
        c: &Collection,
        values: &[(String, Value)],
        sid: Uuid,
        explicit: bool,
    ) -> Result<Vec<String>> {
        let probes: Vec<(String, String, Vec<u8>)> = values
            .iter()
            .filter_map(|(name, v)| {
                let kind = c.def.field(name)?.identifier_kind()?;
                let text = identifier_text(v)?;
                Some((format!("data.{name}"), kind.to_string(), t.keys.blind_index(kind, &text).to_vec()))
            })
            .collect();
        self.paths_naming_others(t.id, probes, explicit.then_some(sid)).await
    }

    /// The request paths of `probes` (path, kind, blind index) whose
    /// identifier names a subject other than `except` (any, without it).
    async fn paths_naming_others(
        &self,
        tenant: Uuid,
        probes: Vec<(String, String, Vec<u8>)>,
        except: Option<Uuid>,
    ) -> Result<Vec<String>> {
        Ok(self
            .store
            .read(move |db| {
                let mut out = Vec::new();
                for (path, kind, hash) in probes {
                    let owner = queries::subjects_by_identifier(db, tenant, &kind, &hash)?.first().copied();
                    if owner.is_some_and(|o| Some(o) != except) {
                        out.push(path);
                    }
                }
                Ok(out)
            })
            .await?)
    }

    /// Blind indexes of caller-given identifiers (`{"email": "…"}`).
    fn identifier_rows(
        &self,
        t: &TenantCtx,
        given: &BTreeMap<String, String>,
        prefix: &str,
    ) -> Result<Vec<IdentifierRow>> {
        if given.is_empty() {
            return Err(
                Invalid::new(prefix, "must give at least one identifier (email, phone, customer_number …)").into()
            );
        }
        given
            .iter()
            .map(|(kind, value)| {
                let field = format!("{prefix}.{kind}");
                check_name(&field, kind)?;
                let n = identifiers::normalise(kind, value, &field)?;
                Ok(IdentifierRow {
                    kind: kind.clone(),
                    hash: t.keys.blind_index(kind, &n).to_vec(),
                    source_record: None,
                })
            })
            .collect()
    }

    /// Finds the subject with these identifiers, or creates one (DSR-8, CONF-3).
    pub async fn find_or_create_subject(
        &self,
        actor: &Actor,
        tenant: Uuid,
        given: &BTreeMap<String, String>,
    ) -> Result<SubjectInfo> {
        let call = self.call(actor, Action::SubjectFindOrCreate, Some(tenant)).fields_of(given.keys());
        self.run(
            call,
            |cx| async move {
                let t = cx.tenant()?.clone();
                let idents = self.identifier_rows(&t, given, "identifiers")?;
                let id = Uuid::now_v7();
                let (_, wrapped) = t.keys.new_subject_key(tenant, id);
                let now = self.clock.now_ms();
                let found = until_not_busy(|| {
                    let (idents, wrapped) = (idents.clone(), wrapped.clone());
                    self.write_recorded(move |db, d| {
                        // Another writer (or server) adding one of these identifiers
                        // right now: wait for it rather than make a second subject.
                        if !queries::try_lock_identifiers(db, &idents)? {
                            return Err(StoreError::Busy);
                        }
                        let probe: Vec<(String, Vec<u8>)> =
                            idents.iter().map(|i| (i.kind.clone(), i.hash.clone())).collect();
                        if queries::subjects_by_identifiers(db, tenant, &probe)?.len() > 1 {
                            // Two people by these identifiers: never merged silently.
                            return Err(StoreError::Conflict);
                        }
                        if let Some(existing) = owner_of(db, tenant, &idents, None)? {
                            // Known by one identifier: attach the others to the same person.
                            for i in &idents {
                                queries::insert_identifier(db, tenant, existing, i)?;
                            }
                            d.subject = Some(existing);
                            return Ok(Some(existing));
                        }
                        d.subject = Some(id);
                        queries::insert_subject(
                            db,
                            &SubjectRow { tenant_id: tenant, id, wrapped_key: wrapped, created_at: now },
                        )?;
                        for i in &idents {
                            queries::insert_identifier(db, tenant, id, i)?;
                        }
                        Ok(None)
                    })
                })
                .await;
                let found = match found {
                    Err(StoreError::Conflict) => {
                        let probes = idents
                            .iter()
                            .map(|i| (format!("identifiers.{}", i.kind), i.kind.clone(), i.hash.clone()))
                            .collect();
                        let named = self.paths_naming_others(tenant, probes, None).await?;
                        return Err(ServiceError::IdentifierConflict(named));
                    }
                    r => r?,
                };
                match found {
                    Some(existing) => {
                        let s = self
                            .store
                            .read(move |db| queries::get_subject(db, tenant, existing))
                            .await?
                            .ok_or(ServiceError::NotFound("subject"))?;
                        Ok(SubjectInfo { id: s.id, created_at: s.created_at, created: false })
                    }
                    None => Ok(SubjectInfo { id, created_at: now, created: true }),
                }
            },
            |s, d| d.subject = Some(s.id),
        )
        .await
    }

    pub async fn get_subject(&self, actor: &Actor, tenant: Uuid, subject: Uuid) -> Result<SubjectInfo> {
        let call = self.call(actor, Action::SubjectRead, Some(tenant)).subject(subject);
        self.run(
            call,
            |_| async move {
                let s = self
                    .store
                    .read(move |db| queries::get_subject(db, tenant, subject))
                    .await?
                    .ok_or(ServiceError::NotFound("subject"))?;
                Ok(SubjectInfo { id: s.id, created_at: s.created_at, created: false })
            },
            |_, _| {},
        )
        .await
    }

    /// Looks a subject up by one identifier, through its blind index only.
    /// An identifier names one subject; a searchable attribute may name
    /// several, and then the answer is a conflict pointing at
    /// `search_subjects` (a look-up never picks one of several people).
    pub async fn lookup_subject(&self, actor: &Actor, tenant: Uuid, kind: &str, value: &str) -> Result<SubjectInfo> {
        let call = self.call(actor, Action::SubjectLookup, Some(tenant)).detail(format!("kind={kind}"));
        self.run(
            call,
            |cx| async move {
                let t = cx.tenant()?.clone();
                let h = index_of(&t, kind, value)?;
                let kind = kind.to_string();
                let found = self
                    .store
                    .read(move |db| {
                        let found = match queries::subjects_by_identifier(db, tenant, &kind, &h)?.first() {
                            Some(id) => queries::get_subject(db, tenant, *id)?
                                .map(|s| (s.id, s.created_at))
                                .into_iter()
                                .collect(),
                            None => queries::subjects_by_attribute(db, tenant, &kind, &h, None, 2)?,
                        };
                        match found[..] {
                            [one] => Ok(Some(Ok(one))),
                            [] => Ok(None),
                            _ => Ok(Some(Err(()))),
                        }
                    })
                    .await?
                    .ok_or(ServiceError::NotFound("subject"))?
                    .map_err(|()| {
                        ServiceError::Conflict(
                            "several subjects share this searchable attribute; list them with subjects/search",
                        )
                    })?;
                Ok(SubjectInfo { id: found.0, created_at: found.1, created: false })
            },
            |s, d| d.subject = Some(s.id),
        )
        .await
    }

    /// Every subject with this identifier or searchable attribute, a page
    /// of at most `limit` in id order after `after`. `by_identifier`: the
    /// value identifies (at most one subject). Each index look-up costs
    /// O(log n), whatever the number of records sharing the value.
    pub async fn search_subjects(
        &self,
        actor: &Actor,
        tenant: Uuid,
        kind: &str,
        value: &str,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<SubjectMatches> {
        let call = self.call(actor, Action::SubjectSearch, Some(tenant)).detail(format!("kind={kind}"));
        self.run(
            call,
            |cx| async move {
                let t = cx.tenant()?.clone();
                if !(1..=MAX_SEARCH).contains(&limit) {
                    return Err(Invalid::new("limit", format!("must be 1-{MAX_SEARCH}")).into());
                }
                let h = index_of(&t, kind, value)?;
                let kind = kind.to_string();
                let (by_identifier, mut found) = self
                    .store
                    .read(move |db| {
                        let one = queries::subjects_by_identifier(db, tenant, &kind, &h)?;
                        if one.is_empty() {
                            return Ok((
                                false,
                                queries::subjects_by_attribute(db, tenant, &kind, &h, after, limit as i64 + 1)?,
                            ));
                        }
                        let mut rows = Vec::new();
                        for id in one.into_iter().filter(|s| after.is_none_or(|a| *s > a)) {
                            rows.extend(queries::get_subject(db, tenant, id)?.map(|r| (r.id, r.created_at)));
                        }
                        Ok((true, rows))
                    })
                    .await?;
                let more = found.len() > limit;
                found.truncate(limit);
                Ok(SubjectMatches {
                    by_identifier,
                    subjects: found
                        .into_iter()
                        .map(|(id, created_at)| SubjectInfo { id, created_at, created: false })
                        .collect(),
                    more,
                })
            },
            |m, d| d.detail = Some(format!("{} subjects={}", d.detail.take().unwrap_or_default(), m.subjects.len())),
        )
        .await
    }

    /// Every record about a subject, across collections, opened.
    /// With `purpose`, only the records of collections that have that
    /// purpose, and of those only what the subject's limits leave open.
    pub async fn subject_records(
        &self,
        actor: &Actor,
        tenant: Uuid,
        subject: Uuid,
        purpose: Option<&str>,
    ) -> Result<Vec<RecordView>> {
        let call = with_purpose(self.call(actor, Action::SubjectRecords, Some(tenant)).subject(subject), purpose);
        self.run(
            call,
            |cx| async move {
                let t = cx.tenant()?.clone();
                if let Some(p) = purpose {
                    if p != crate::domain::limits::LEGAL_CLAIMS && !self.tenant_purposes(tenant).await?.contains(p) {
                        return Err(Invalid::new(
                            "purpose",
                            "is not a purpose of this tenant's collections (or legal_claims)",
                        )
                        .into());
                    }
                }
                let mut rows = self.records_of(tenant, subject).await?;
                let names = self.collection_names(tenant).await?;
                if purpose.is_some() || rows.iter().any(|r| r.limited) {
                    let mut defs = std::collections::HashMap::new();
                    for r in &rows {
                        let cid = r.record.collection_id;
                        if let (false, Some(n)) = (defs.contains_key(&cid), names.get(&cid)) {
                            defs.insert(cid, self.collection(tenant, n).await?);
                        }
                    }
                    if let Some(p) = purpose.filter(|p| *p != crate::domain::limits::LEGAL_CLAIMS) {
                        rows.retain(|r| {
                            defs.get(&r.record.collection_id).is_some_and(|c| c.def.purposes.iter().any(|q| q == p))
                        });
                    }
                    let had = rows.len();
                    let (withheld, why) = self.withhold(tenant, &defs, &mut rows, purpose).await?;
                    if withheld > 0 && withheld == had {
                        return Err(ServiceError::Restricted(why.unwrap_or_default()));
                    }
                }
                rows.iter()
                    .filter_map(|r| {
                        let name = names.get(&r.record.collection_id).cloned().unwrap_or_default();
                        // An operator sees the collections granted to it, no others.
                        self.also(&cx, Action::RecordRead, Some(&name)).ok()?;
                        Some(self.open_record(&t, &name, r).map(|v| masked(actor, v)))
                    })
                    .collect()
            },
            |v: &Vec<RecordView>, d: &mut crate::audit::Draft| {
                d.fields = read_fields(actor, &v.iter().collect::<Vec<_>>());
                d.detail = Some(format!("{}records={}", prefix(d), v.len()))
            },
        )
        .await
    }

    /// A subject's sealed records (`NotFound` if there is no such subject).
    pub(super) async fn records_of(&self, tenant: Uuid, subject: Uuid) -> Result<Vec<SealedRecord>> {
        let (exists, rows) = self
            .store
            .read(move |db| {
                Ok((
                    queries::get_subject(db, tenant, subject)?.is_some(),
                    queries::records_of_subject(db, tenant, subject)?,
                ))
            })
            .await?;
        if !exists {
            return Err(ServiceError::NotFound("subject"));
        }
        Ok(rows)
    }

    pub(super) async fn collection_names(&self, tenant: Uuid) -> Result<std::collections::HashMap<Uuid, String>> {
        let rows = self.store.read(move |db| queries::list_collections(db, tenant)).await?;
        Ok(rows.into_iter().map(|c| (c.id, c.name)).collect())
    }

    /// Every record of a collection, opened (a bulk export; four-eyes if
    /// the tenant's policy holds `records.export`: once approved, the
    /// requester collects it with the approval's id, once).
    /// With `purpose`, records of subjects whose limits block it are left
    /// out. `pseudonymise` (CONF-5): each record keeps only what the
    /// collection's `analysis` rule keeps, and its id and subject are
    /// replaced by keyed pseudonyms, stable per tenant and purpose.
    /// `recipient`: the export is a disclosure to that recipient,
    /// recorded per subject.
    pub async fn export_records(
        &self,
        actor: &Actor,
        tenant: Uuid,
        collection: &str,
        opts: &ExportOptions,
    ) -> Result<Held<Vec<RecordView>>> {
        let purpose = opts.purpose.as_deref();
        let mut call =
            with_purpose(self.call(actor, Action::RecordsExport, Some(tenant)).collection(collection), purpose);
        if opts.pseudonymise || opts.recipient.is_some() {
            call = call.detail(format!(
                "{}pseudonymised={} recipient={}",
                purpose.map(|p| format!("purpose={p} ")).unwrap_or_default(),
                opts.pseudonymise,
                opts.recipient.as_deref().unwrap_or("-")
            ));
        }
        let cmd = Command::ExportRecords {
            tenant,
            collection: collection.to_string(),
            purpose: opts.purpose.clone(),
            pseudonymise: opts.pseudonymise,
            recipient: opts.recipient.clone(),
            protected: opts.protected,
        };
        let out = self
            .run_held(
                call,
                cmd,
                |cx| async move {
                    let t = cx.tenant()?.clone();
                    let c = self.collection(tenant, collection).await?;
                    limits::check_purpose(&c.def, purpose)?;
                    if opts.pseudonymise {
                        if purpose.is_none() {
                            return Err(Invalid::new(
                                "purpose",
                                "a pseudonymised export names its purpose (pseudonyms are per purpose)",
                            )
                            .into());
                        }
                        if c.def.analysis.is_none() {
                            return Err(Invalid::new(
                                "pseudonymise",
                                "this collection has no analysis rule saying what an analysis may keep",
                            )
                            .into());
                        }
                    }
                    if let Some(r) = &opts.recipient {
                        let name = r.clone();
                        if self.store.read(move |db| queries::get_recipient(db, tenant, &name)).await?.is_none() {
                            return Err(
                                Invalid::new("recipient", "is not in the tenant's register of recipients").into()
                            );
                        }
                    }
                    let cid = c.id;
                    let defs = [(cid, c.clone())].into();
                    let (mut out, mut withheld) = (Vec::new(), 0);
                    let mut after = None;
                    loop {
                        let mut rows = self
                            .store
                            .read_long(move |db| queries::records_of_collection(db, tenant, cid, after, MAX_PAGE))
                            .await?;
                        let n = rows.len();
                        after = rows.last().map(|r| r.record.id);
                        withheld += self.withhold(tenant, &defs, &mut rows, purpose).await?.0;
                        for r in &rows {
                            let mut v = self.open_record(&t, &c.def.name, r)?;
                            if opts.pseudonymise {
                                v.data = c.def.for_analysis(&v.data).unwrap_or_default();
                            }
                            out.push(masked(actor, v));
                        }
                        if (n as i64) < MAX_PAGE {
                            break;
                        }
                    }
                    Ok((out, withheld))
                },
                |(v, withheld): &(Vec<RecordView>, usize), d: &mut crate::audit::Draft| {
                    d.fields = read_fields(actor, &v.iter().collect::<Vec<_>>());
                    d.detail = Some(format!("{}records={} withheld={withheld}", prefix(d), v.len()))
                },
            )
            .await?;
        let mut list = match out {
            Held::Done((list, _)) => list,
            Held::Pending(p) => return Ok(Held::Pending(p)),
        };
        self.record_seen(actor, tenant, "records.export", &list).await?;
        if let Some(r) = &opts.recipient {
            self.disclose_export(actor, tenant, r, purpose.unwrap_or(""), &list).await?;
        }
        if opts.pseudonymise {
            let t = self.tenant(tenant).await?;
            let p = purpose.unwrap_or_default();
            for v in &mut list {
                v.subject = pseudonym(&t, p, "subject", v.subject);
                v.id = pseudonym(&t, p, "record", v.id);
            }
        }
        Ok(Held::Done(list))
    }

    /// Stores a new record, finding or creating its subject.
    pub async fn create_record(
        &self,
        actor: &Actor,
        tenant: Uuid,
        collection: &str,
        subject: SubjectRef,
        data: &Map<String, Value>,
    ) -> Result<RecordView> {
        let call = self.call(actor, Action::RecordCreate, Some(tenant)).collection(collection).fields_of(data.keys());
        self.run(
            call,
            |cx| async move {
                let t = cx.tenant()?.clone();
                let c = self.collection(tenant, collection).await?;
                let values = c.def.check_record(data, false)?;
                let id = Uuid::now_v7();
                let idents = record_identifiers(&t, &c, &values, id);
                // Without a subject id, optimistically make a new subject: the write
                // step checks, in its transaction, whether an identifier already
                // names someone, and then the record goes to that subject instead.
                let mut subject_id = match subject {
                    SubjectRef::Id(s) => Some(s),
                    SubjectRef::FromData if idents.is_empty() => {
                        return Err(Invalid::new(
                            "subject_id",
                            "is required: this record has no identifier field to find its subject by",
                        )
                        .into());
                    }
                    SubjectRef::FromData => None,
                };
                let explicit = matches!(subject, SubjectRef::Id(_));
                let now = self.clock.now_ms();
                // At most three rounds: new subject → the one that exists → once more
                // if that one was erased meanwhile; and rounds that found another
                // writer adding the same identifiers (retried once it committed).
                let (mut rounds, mut busy) = (0, 0);
                while rounds < 3 {
                    let (sid, key, new_subject) = match subject_id {
                        Some(sid) => {
                            let s = self.store.read(move |db| queries::get_subject(db, tenant, sid)).await?;
                            let Some(s) = s else {
                                return Err(if explicit {
                                    Invalid::new("subject_id", "no such subject in this tenant").into()
                                } else {
                                    ServiceError::Conflict("the subject was erased meanwhile")
                                });
                            };
                            (sid, self.subject_key(&t, sid, &s.wrapped_key).await?, None)
                        }
                        None => {
                            let sid = Uuid::now_v7();
                            let (key, wrapped) = t.keys.new_subject_key(tenant, sid);
                            (
                                sid,
                                key,
                                Some(SubjectRow { tenant_id: tenant, id: sid, wrapped_key: wrapped, created_at: now }),
                            )
                        }
                    };
                    let row = RecordRow {
                        tenant_id: tenant,
                        id,
                        collection_id: c.id,
                        subject_id: sid,
                        fields: seal_fields(&key, tenant, c.id, id, &values),
                        version: 1,
                        created_at: now,
                        updated_at: now,
                    };
                    let idents = record_identifiers(&t, &c, &values, id);
                    let attrs = record_attributes(&t, &c, &values, id);
                    // A new subject's first record goes to the cache of
                    // records as written, if nothing else changes it first.
                    let written = match (&self.record_cache, &new_subject) {
                        (Some(k), Some(n)) => Some((
                            k.ticket(),
                            SealedRecord { record: row.clone(), subject_key: n.wrapped_key.clone(), limited: false },
                        )),
                        _ => None,
                    };
                    let placed = self.place(NewRecord { new_subject, row, idents, attrs }).await?;
                    match placed {
                        Placement::Done => {
                            if let (Some(k), Some((ticket, r))) = (&self.record_cache, &written) {
                                k.fill_written(*ticket, r);
                            }
                            return Ok(masked(
                                actor,
                                RecordView {
                                    id,
                                    collection: c.def.name.clone(),
                                    subject: sid,
                                    data: values.into_iter().collect(),
                                    version: 1,
                                    created_at: now,
                                    updated_at: now,
                                },
                            ));
                        }
                        Placement::Elsewhere(other) => {
                            subject_id = Some(other);
                            rounds += 1;
                        }
                        Placement::Busy if busy < BUSY_TRIES => {
                            busy += 1;
                            tokio::time::sleep(BUSY_WAIT).await;
                        }
                        Placement::Busy => return Err(StoreError::Busy.into()),
                        Placement::Conflict => {
                            let named = self.conflicting_fields(&t, &c, &values, sid, explicit).await?;
                            return Err(ServiceError::IdentifierConflict(named));
                        }
                    }
                }
                Err(ServiceError::Conflict("the subject changed concurrently; try again"))
            },
            |v, d| {
                d.record = Some(v.id);
                d.subject = Some(v.subject)
            },
        )
        .await
    }

    async fn read_sealed(&self, tenant: Uuid, c: &Collection, id: Uuid) -> Result<SealedRecord> {
        Ok(self.read_sealed_cached(tenant, c, id, None).await?.0)
    }

    /// A record by id. With `cache` (PostgreSQL), it may come from this
    /// server's cache of records: then with the stamp to check once the
    /// read's event is durable (`RecordCache::still`).
    async fn read_sealed_cached(
        &self,
        tenant: Uuid,
        c: &Collection,
        id: Uuid,
        cache: Option<&crate::store::cache::RecordCache>,
    ) -> Result<(SealedRecord, Option<u64>)> {
        let cid = c.id;
        let found = |r: Option<SealedRecord>| {
            r.filter(|r| r.record.collection_id == cid).ok_or(ServiceError::NotFound("record"))
        };
        if let Some((r, stamp)) = cache.and_then(|k| k.get(tenant, id)) {
            return Ok((found(Some(r))?, Some(stamp)));
        }
        if self.store.dialect() == crate::store::db::Dialect::Postgres {
            let ticket = cache.map(|k| k.ticket());
            // Concurrent reads by id share one statement (`store::batch`).
            let r = self.record_reads.get(&self.store, (tenant, id)).await?;
            if let (Some(k), Some(t), Some(r)) = (cache, ticket, &r) {
                k.fill(t, r);
            }
            return Ok((found(r)?, None));
        }
        self.store
            .read(move |db| queries::get_record(db, tenant, cid, id))
            .await?
            .map(|r| (r, None))
            .ok_or(ServiceError::NotFound("record"))
    }

    /// One record; `purpose` is what the read serves (one of the
    /// collection's purposes): a restricted or objecting subject's record
    /// is read only for a purpose its limits leave open.
    ///
    /// On PostgreSQL the record may come from this server's cache
    /// (`store::cache`). Once the read's event is durable the cache says
    /// whether an event before it in the log changed the record; if one
    /// did, the record is read again from the database (a second read,
    /// with its own event): a read is as of its event's place in the log.
    pub async fn get_record(
        &self,
        actor: &Actor,
        tenant: Uuid,
        collection: &str,
        id: Uuid,
        purpose: Option<&str>,
    ) -> Result<RecordView> {
        let cache = self.record_cache.as_deref();
        let stamp = std::sync::atomic::AtomicU64::new(0);
        let v = self.get_record_from(actor, tenant, collection, id, purpose, cache, &stamp).await?;
        match (cache, stamp.load(std::sync::atomic::Ordering::Acquire)) {
            (Some(k), s) if s != 0 && !k.still(tenant, id, v.subject, s) => {
                self.get_record_from(actor, tenant, collection, id, purpose, None, &stamp).await
            }
            _ => Ok(v),
        }
    }

    /// `get_record`, from `cache` when it has the record (`stamp` then
    /// says with which stamp).
    #[allow(clippy::too_many_arguments)]
    async fn get_record_from(
        &self,
        actor: &Actor,
        tenant: Uuid,
        collection: &str,
        id: Uuid,
        purpose: Option<&str>,
        cache: Option<&crate::store::cache::RecordCache>,
        stamp: &std::sync::atomic::AtomicU64,
    ) -> Result<RecordView> {
        let call =
            with_purpose(self.call(actor, Action::RecordRead, Some(tenant)).collection(collection).record(id), purpose);
        self.run(
            call,
            |cx| async move {
                let t = cx.tenant()?.clone();
                let c = self.collection(tenant, collection).await?;
                limits::check_purpose(&c.def, purpose)?;
                let (r, hit) = self.read_sealed_cached(tenant, &c, id, cache).await?;
                stamp.store(hit.unwrap_or(0), std::sync::atomic::Ordering::Release);
                if r.limited {
                    self.check_limits(tenant, r.record.subject_id, &c.def, purpose).await?;
                }
                Ok(masked(actor, self.open_record(&t, &c.def.name, &r)?))
            },
            |v, d| {
                d.subject = Some(v.subject);
                d.fields = read_fields(actor, &[v])
            },
        )
        .await
    }

    /// One page of a collection's records; `after` is the last id seen.
    /// Besides its own event, each subject shown gets a `subject.seen` event.
    pub async fn list_records(
        &self,
        actor: &Actor,
        tenant: Uuid,
        collection: &str,
        after: Option<Uuid>,
        limit: Option<i64>,
        purpose: Option<&str>,
    ) -> Result<Vec<RecordView>> {
        let call = with_purpose(self.call(actor, Action::RecordList, Some(tenant)).collection(collection), purpose);
        let list = self
            .run(
                call,
                |cx| async move {
                    let t = cx.tenant()?.clone();
                    let c = self.collection(tenant, collection).await?;
                    let limit = limit.unwrap_or(100);
                    if !(1..=MAX_PAGE).contains(&limit) {
                        return Err(Invalid::new("limit", format!("must be 1-{MAX_PAGE}")).into());
                    }
                    limits::check_purpose(&c.def, purpose)?;
                    let cid = c.id;
                    let mut rows = self
                        .store
                        .read(move |db| queries::records_of_collection(db, tenant, cid, after, limit))
                        .await?;
                    let defs = [(cid, c.clone())].into();
                    let (withheld, _) = self.withhold(tenant, &defs, &mut rows, purpose).await?;
                    let list = rows
                        .iter()
                        .map(|r| self.open_record(&t, &c.def.name, r).map(|v| masked(actor, v)))
                        .collect::<Result<Vec<_>>>()?;
                    Ok((list, withheld))
                },
                |(v, withheld): &(Vec<RecordView>, usize), d: &mut crate::audit::Draft| {
                    d.fields = read_fields(actor, &v.iter().collect::<Vec<_>>());
                    d.detail = Some(format!("{}records={} withheld={withheld}", prefix(d), v.len()))
                },
            )
            .await?
            .0;
        self.record_seen(actor, tenant, "record.list", &list).await?;
        Ok(list)
    }

    /// Replaces (`merge = false`) or merges into (`merge = true`) a record's
    /// data. `expected_version` (If-Match) guards against lost updates.
    pub async fn update_record(
        &self,
        actor: &Actor,
        tenant: Uuid,
        collection: &str,
        id: Uuid,
        change: Change<'_>,
    ) -> Result<RecordView> {
        let call = self
            .call(actor, Action::RecordUpdate, Some(tenant))
            .collection(collection)
            .record(id)
            .fields_of(change.data.keys());
        self.run(
            call,
            |cx| async move {
                let Change { data, merge, expected_version, request } = change;
                let t = cx.tenant()?.clone();
                let c = self.collection(tenant, collection).await?;
                let sealed = self.read_sealed(tenant, &c, id).await?;
                let current = sealed.record.version;
                let linked = match request {
                    Some(r) => {
                        let v = self.request_to_act_on(tenant, r, sealed.record.subject_id).await?;
                        let fields: Vec<&str> = data.keys().map(String::as_str).collect();
                        Some(self.linked(
                            v,
                            "rectification",
                            format!("record={id} fields={}", fields.join(",")),
                            actor.staff_id,
                        ))
                    }
                    None => None,
                };
                if let Some(v) = expected_version {
                    if v != current {
                        return Err(ServiceError::Stale);
                    }
                }
                let next = if merge {
                    c.def.check_record(data, true)?; // name the field at fault in the caller's terms
                    let mut m = self.open_record(&t, &c.def.name, &sealed)?.data;
                    for (k, v) in data {
                        if v.is_null() {
                            m.remove(k);
                        } else {
                            m.insert(k.clone(), v.clone());
                        }
                    }
                    m
                } else {
                    data.clone()
                };
                let values = c.def.check_record(&next, false)?;
                let key = self.subject_key(&t, sealed.record.subject_id, &sealed.subject_key).await?;
                let now = self.clock.now_ms();
                let sid = sealed.record.subject_id;
                let row = RecordRow {
                    tenant_id: tenant,
                    id,
                    collection_id: c.id,
                    subject_id: sid,
                    fields: seal_fields(&key, tenant, c.id, id, &values),
                    version: current + 1,
                    created_at: sealed.record.created_at,
                    updated_at: now,
                };
                let idents = record_identifiers(&t, &c, &values, id);
                let attrs = record_attributes(&t, &c, &values, id);
                let created_at = row.created_at;
                let written = until_not_busy(|| {
                    let (row, idents, attrs, linked) = (row.clone(), idents.clone(), attrs.clone(), linked.clone());
                    self.write_recorded(move |db, d| {
                        if let Some((r, seen)) = &linked {
                            queries::update_request(db, r, *seen)?;
                        }
                        d.subject = Some(sid);
                        let probe: Vec<(String, Vec<u8>)> =
                            idents.iter().map(|i| (i.kind.clone(), i.hash.clone())).collect();
                        if !queries::try_lock_identifiers(db, &idents)? {
                            return Err(StoreError::Busy);
                        }
                        if owner_of_hashes(db, tenant, &probe, Some(sid))?.is_some() {
                            return Err(StoreError::Conflict);
                        }
                        queries::update_record(db, &row, current)?;
                        queries::delete_identifiers_of_record(db, tenant, id)?;
                        queries::delete_attributes_of_record(db, tenant, id)?;
                        queries::insert_identifiers(db, tenant, sid, &idents)?;
                        queries::insert_attributes(db, tenant, sid, &attrs)?;
                        // Art. 19: recipients of the subject's data are told of the rectification.
                        let told = queries::queue_recipient_notices(db, tenant, sid, "rectification", now)?;
                        if !told.is_empty() {
                            d.detail = Some(format!("{}recipients_notified={}", prefix(d), told.len()));
                        }
                        Ok(())
                    })
                })
                .await;
                match written {
                    Err(StoreError::Conflict) => {
                        let named = self.conflicting_fields(&t, &c, &values, sid, true).await?;
                        return Err(ServiceError::IdentifierConflict(named));
                    }
                    r => r?,
                }
                Ok(masked(
                    actor,
                    RecordView {
                        id,
                        collection: c.def.name.clone(),
                        subject: sid,
                        data: values.into_iter().collect(),
                        version: current + 1,
                        created_at,
                        updated_at: now,
                    },
                ))
            },
            |v, d| d.subject = Some(v.subject),
        )
        .await
    }

    pub async fn delete_record(&self, actor: &Actor, tenant: Uuid, collection: &str, id: Uuid) -> Result<()> {
        let call = self.call(actor, Action::RecordDelete, Some(tenant)).collection(collection).record(id);
        self.run(
            call,
            |_| async move {
                let c = self.collection(tenant, collection).await?;
                let cid = c.id;
                let now = self.clock.now_ms();
                let done = self
                    .write_recorded(move |db, _| {
                        // A legal hold on the record, its subject or its collection keeps it.
                        let subject = queries::record_place(db, tenant, id)?.map(|p| p.1).unwrap_or(id);
                        if !queries::active_holds_on(db, tenant, &[id, subject, cid], now)?.is_empty() {
                            return Ok(false);
                        }
                        queries::delete_record(db, tenant, cid, id)?;
                        queries::journal_erasures(db, tenant, &[(Some(subject).filter(|s| *s != id), Some(id))], now)?;
                        Ok(true)
                    })
                    .await;
                self.erased();
                match done {
                    Ok(true) => Ok(()),
                    Ok(false) => Err(ServiceError::Conflict(
                        "the record is under a legal hold: it is kept until the hold is lifted",
                    )),
                    Err(StoreError::NotFound) => Err(ServiceError::NotFound("record")),
                    Err(e) => Err(e.into()),
                }
            },
            |_, _| {},
        )
        .await
    }

    pub(super) fn open_record(&self, t: &TenantCtx, collection: &str, r: &SealedRecord) -> Result<RecordView> {
        let rec = &r.record;
        let key = t
            .keys
            .open_subject_key(t.id, rec.subject_id, &r.subject_key)
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let mut data = Map::new();
        for (name, sealed) in decode_fields(&rec.fields)? {
            let ctx = FieldContext { tenant: t.id, collection: rec.collection_id, record: rec.id, field: &name };
            let plain = key.open_field(&ctx, &sealed).map_err(|e| ServiceError::Internal(e.to_string()))?;
            let v: Value = serde_json::from_slice(&plain)
                .map_err(|_| ServiceError::Internal("sealed field is not JSON".into()))?;
            data.insert(name, v);
        }
        Ok(RecordView {
            id: rec.id,
            collection: collection.to_string(),
            subject: rec.subject_id,
            data,
            version: rec.version,
            created_at: rec.created_at,
            updated_at: rec.updated_at,
        })
    }
}

/// How a bulk export goes out.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    pub purpose: Option<String>,
    pub pseudonymise: bool,
    pub recipient: Option<String>,
    /// It is to be delivered encrypted (held for four-eyes, it can then be
    /// collected only encrypted).
    pub protected: bool,
}

/// A keyed pseudonym of an id: stable per tenant and purpose, not
/// reversible without the tenant's key (HMAC under its index key).
fn pseudonym(t: &TenantCtx, purpose: &str, what: &str, id: Uuid) -> Uuid {
    let h = t.keys.blind_index(&format!("varuh/pseudonym/{what}/{purpose}"), &id.to_string());
    uuid::Builder::from_custom_bytes(h[..16].try_into().expect("16 bytes")).into_uuid()
}

/// A read's call with the purpose it states in its event's detail.
fn with_purpose<'a>(call: super::kernel::Call<'a>, purpose: Option<&str>) -> super::kernel::Call<'a> {
    match purpose {
        Some(p) => {
            call.detail(format!("purpose={}", p.chars().filter(|c| !c.is_control()).take(64).collect::<String>()))
        }
        None => call,
    }
}

/// What the call put in the detail already, followed by a space.
fn prefix(d: &crate::audit::Draft) -> String {
    d.detail.as_deref().map(|s| format!("{s} ")).unwrap_or_default()
}

/// Field masks (ACC-2): a masked field reads as `"***"`.
pub(super) fn masked(actor: &Actor, mut v: RecordView) -> RecordView {
    if actor.access.has_masks() {
        for (name, value) in v.data.iter_mut() {
            if actor.access.masked(&v.collection, name) {
                *value = Value::String("***".into());
            }
        }
    }
    v
}

/// The names of the fields these records showed the actor: masked ones
/// were not read, so they are not recorded as read.
pub(crate) fn read_fields(actor: &Actor, views: &[&RecordView]) -> Vec<String> {
    let mut names = field_names(views.iter().map(|r| &r.data));
    if actor.access.has_masks() {
        names.retain(|n| !views.iter().all(|v| actor.access.masked(&v.collection, n)));
    }
    names
}

/// The blind indexes a record's identifier fields yield.
pub(super) fn record_identifiers(
    t: &TenantCtx,
    c: &Collection,
    values: &[(String, Value)],
    record: Uuid,
) -> Vec<IdentifierRow> {
    record_index(t, c, values, record, FieldDef::identifier_kind)
}

/// The blind indexes a record's searchable fields yield (shared values).
pub(super) fn record_attributes(
    t: &TenantCtx,
    c: &Collection,
    values: &[(String, Value)],
    record: Uuid,
) -> Vec<IdentifierRow> {
    record_index(t, c, values, record, FieldDef::attribute_kind)
}

fn record_index(
    t: &TenantCtx,
    c: &Collection,
    values: &[(String, Value)],
    record: Uuid,
    kind_of: fn(&FieldDef) -> Option<&str>,
) -> Vec<IdentifierRow> {
    values
        .iter()
        .filter_map(|(name, v)| {
            let kind = kind_of(c.def.field(name)?)?;
            let text = identifier_text(v)?;
            Some(IdentifierRow {
                kind: kind.to_string(),
                hash: t.keys.blind_index(kind, &text).to_vec(),
                source_record: Some(record),
            })
        })
        .collect()
}

/// The blind index a caller-given value of `kind` is looked up by.
fn index_of(t: &TenantCtx, kind: &str, value: &str) -> Result<Vec<u8>> {
    check_name("kind", kind)?;
    let n = identifiers::normalise(kind, value, "value")?;
    Ok(t.keys.blind_index(kind, &n).to_vec())
}

/// The subject (other than `except`) owning any of these identifiers.
fn owner_of_hashes(
    db: &mut dyn Db,
    tenant: Uuid,
    idents: &[(String, Vec<u8>)],
    except: Option<Uuid>,
) -> std::result::Result<Option<Uuid>, StoreError> {
    if idents.is_empty() {
        return Ok(None);
    }
    Ok(queries::subjects_by_identifiers(db, tenant, idents)?.into_iter().find(|s| Some(*s) != except))
}

fn owner_of(
    db: &mut dyn Db,
    tenant: Uuid,
    idents: &[IdentifierRow],
    except: Option<Uuid>,
) -> std::result::Result<Option<Uuid>, StoreError> {
    let probe: Vec<(String, Vec<u8>)> = idents.iter().map(|i| (i.kind.clone(), i.hash.clone())).collect();
    owner_of_hashes(db, tenant, &probe, except)
}

/// Seals each field under the subject key, bound to its place.
pub(super) fn seal_fields(
    key: &SubjectKey,
    tenant: Uuid,
    collection: Uuid,
    record: Uuid,
    values: &[(String, Value)],
) -> Vec<u8> {
    let mut out = vec![1u8];
    for (name, v) in values {
        let plain = zeroize::Zeroizing::new(serde_json::to_vec(v).unwrap_or_default());
        let sealed = key.seal_field(&FieldContext { tenant, collection, record, field: name }, &plain);
        out.extend_from_slice(&(name.len() as u16).to_be_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&(sealed.len() as u32).to_be_bytes());
        out.extend_from_slice(&sealed);
    }
    out
}

fn decode_fields(blob: &[u8]) -> Result<Vec<(String, Vec<u8>)>> {
    let bad = || ServiceError::Internal("sealed record is malformed".into());
    let (&v, mut rest) = blob.split_first().ok_or_else(bad)?;
    if v != 1 {
        return Err(bad());
    }
    let mut out = Vec::new();
    while !rest.is_empty() {
        if rest.len() < 2 {
            return Err(bad());
        }
        let n = u16::from_be_bytes([rest[0], rest[1]]) as usize;
        rest = &rest[2..];
        if rest.len() < n + 4 {
            return Err(bad());
        }
        let name = std::str::from_utf8(&rest[..n]).map_err(|_| bad())?.to_string();
        rest = &rest[n..];
        let m = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        rest = &rest[4..];
        if rest.len() < m {
            return Err(bad());
        }
        out.push((name, rest[..m].to_vec()));
        rest = &rest[m..];
    }
    Ok(out)
}

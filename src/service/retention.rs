//! Retention (RET-1): each collection's rule enforced by a sweep — by the
//! server's scheduler (one server of several, by claim), `POST
//! …/retention/run` and `varuh retention run [--dry-run]`. A record whose
//! period has run out (from its last change or its creation, or after its
//! subject's retention event, or once its subject's consent has expired)
//! is deleted or anonymised per the
//! collection's erasure rule (`refuse` keeps records only while the
//! period runs); a subject left with no record goes with its key. Legal
//! holds (`holds.rs`) keep what they cover, and the report says what was
//! done and what was held back. One audit event per chunk of records.

use super::erasure::anonymised_context;
use super::{Actor, Collection, Result, ServiceError, TenantCtx, Vault};
use crate::domain::access::Action;
use crate::domain::identifiers;
use crate::domain::schema::{check_event_name, ErasureRule, Retention, RetentionFrom};

use crate::store::queries::{self, AnonymisedRow, Expired};
use crate::store::StoreError;
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

const DAY_MS: i64 = 86_400_000;
/// Expired records read and written per step: 10,000 (about a quarter of
/// a second of the writer on SQLite; other writes go between steps). Twice
/// the 5,000 of before gave the sweep +18%: a chunk touches most pages of
/// the identifiers' index by hash anyway, so fewer chunks write fewer
/// pages (BENCHMARKS.md, retention sweep).
const CHUNK: i64 = 10_000;
/// Addresses in one call of the bulk retention event.
const MAX_BULK: usize = 100_000;
/// The scheduled job's name in `scheduled_jobs`.
pub const JOB: &str = "retention";

/// What a sweep did in one collection.
#[derive(Debug, Default, Clone)]
pub struct CollectionSweep {
    pub collection: String,
    /// The rule enforced, as the definition states it.
    pub retention: Option<Retention>,
    /// Records whose period has run out (dry run: that would go).
    pub expired: u64,
    pub deleted: u64,
    pub anonymised: u64,
    /// Subjects left with no record: erased with their keys.
    pub subjects_erased: u64,
    /// Expired records kept by legal holds, and those holds.
    pub held: u64,
    pub holds: Vec<Uuid>,
    /// Why part of the collection was not swept (the next run takes it).
    pub error: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RetentionReport {
    pub tenant: Uuid,
    pub dry_run: bool,
    pub at: i64,
    pub collections: Vec<CollectionSweep>,
}

impl RetentionReport {
    pub fn summary(&self) -> String {
        let sum = |f: fn(&CollectionSweep) -> u64| self.collections.iter().map(f).sum::<u64>();
        format!(
            "dry_run={} collections={} expired={} deleted={} anonymised={} subjects_erased={} held={} errors={}",
            self.dry_run,
            self.collections.len(),
            sum(|c| c.expired),
            sum(|c| c.deleted),
            sum(|c| c.anonymised),
            sum(|c| c.subjects_erased),
            sum(|c| c.held),
            self.collections.iter().filter(|c| c.error.is_some()).count()
        )
    }
}

/// This process, as the holder of a scheduled job's claim.
pub(super) fn server_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| Uuid::now_v7().to_string())
}

impl Vault {
    /// Records a subject's retention event (`at`: when it happened or
    /// will; now without it). A later call for the same event moves it.
    pub async fn record_retention_event(
        &self,
        actor: &Actor,
        tenant: Uuid,
        subject: Uuid,
        event: &str,
        at: Option<i64>,
    ) -> Result<(String, i64)> {
        let call = self.call(actor, Action::RetentionEventRecord, Some(tenant)).subject(subject);
        self.run(
            call,
            |_| async move {
                check_event_name("event", event)?;
                let now = self.clock.now_ms();
                let at = at.unwrap_or(now);
                let (ev, by) = (event.to_string(), actor.staff_id.to_string());
                let found = self
                    .write_recorded(move |db, d| {
                        d.detail = Some(format!("event={ev} at={at}"));
                        if queries::get_subject(db, tenant, subject)?.is_none() {
                            return Ok(false);
                        }
                        queries::upsert_retention_event(db, tenant, subject, &ev, at, &by, now).map(|_| true)
                    })
                    .await?;
                if !found {
                    return Err(ServiceError::NotFound("subject"));
                }
                Ok((event.to_string(), at))
            },
            |_, _| {},
        )
        .await
    }

    /// Records one retention event for the subjects of a list of e-mail
    /// addresses (a CRM's list of ended contracts): (recorded, unknown).
    pub async fn record_retention_events_by_email(
        &self,
        actor: &Actor,
        tenant: Uuid,
        event: &str,
        at: Option<i64>,
        emails: &[String],
    ) -> Result<(u64, u64)> {
        let call = self.call(actor, Action::RetentionEventRecord, Some(tenant));
        self.run(
            call,
            |cx| async move {
                let t = cx.tenant()?.clone();
                check_event_name("event", event)?;
                if emails.is_empty() || emails.len() > MAX_BULK {
                    return Err(
                        crate::domain::Invalid::new("emails", format!("must hold 1-{MAX_BULK} addresses")).into()
                    );
                }
                let mut hashes = Vec::with_capacity(emails.len());
                for (i, e) in emails.iter().enumerate() {
                    let n = identifiers::normalise(identifiers::EMAIL, e, &format!("emails[{i}]"))?;
                    hashes.push(t.keys.blind_index(identifiers::EMAIL, &n).to_vec());
                }
                let found = self
                    .store
                    .read_long(move |db| queries::addressees_by_hashes(db, tenant, identifiers::EMAIL, None, &hashes))
                    .await?;
                let unknown = found.iter().filter(|f| f.is_none()).count() as u64;
                let mut subjects: Vec<Uuid> = found.into_iter().flatten().map(|a| a.subject).collect();
                subjects.sort();
                subjects.dedup();
                let now = self.clock.now_ms();
                let at = at.unwrap_or(now);
                let recorded = subjects.len() as u64;
                for chunk in subjects.chunks(5_000) {
                    let (chunk, ev, by) = (chunk.to_vec(), event.to_string(), actor.staff_id.to_string());
                    self.write_recorded(move |db, d| {
                        d.detail = Some(format!("event={ev} at={at} subjects={}", chunk.len()));
                        queries::upsert_retention_events(db, tenant, &chunk, &ev, at, &by, now)
                    })
                    .await?;
                }
                Ok((recorded, unknown))
            },
            |r: &(u64, u64), d| d.detail = Some(format!("event={event} recorded={} unknown={}", r.0, r.1)),
        )
        .await
    }

    /// Runs the retention sweep of a tenant (`dry_run`: finds, writes nothing).
    pub async fn retention_run(&self, actor: &Actor, tenant: Uuid, dry_run: bool) -> Result<RetentionReport> {
        let call = self.call(actor, Action::RetentionRun, Some(tenant)).detail(format!("dry_run={dry_run}"));
        self.run(
            call,
            |cx| async move {
                let t = cx.tenant()?.clone();
                let now = self.clock.now_ms();
                let holds: Vec<_> = self
                    .store
                    .read_latest(move |db| queries::list_holds(db, tenant))
                    .await?
                    .into_iter()
                    .filter(|h| h.active(now))
                    .collect();
                let held: HashMap<Uuid, Uuid> = holds.iter().map(|h| (h.target, h.id)).collect();
                let mut names: Vec<String> = self.collection_names(tenant).await?.into_values().collect();
                names.sort();
                let mut report = RetentionReport { tenant, dry_run, at: now, collections: Vec::new() };
                for name in names {
                    let c = self.collection(tenant, &name).await?;
                    if let Some(sweep) = self.sweep_collection(&t, &c, &held, now, dry_run).await? {
                        report.collections.push(sweep);
                    }
                }
                Ok(report)
            },
            |r: &RetentionReport, d| d.detail = Some(r.summary()),
        )
        .await
    }

    /// Sweeps one collection; `None` if its rule keeps records for good
    /// (permanent). `until_consent_withdrawn`: a withdrawal erases at once;
    /// the sweep takes the subjects whose consent has expired.
    async fn sweep_collection(
        &self,
        t: &Arc<TenantCtx>,
        c: &Arc<Collection>,
        held: &HashMap<Uuid, Uuid>,
        now: i64,
        dry_run: bool,
    ) -> Result<Option<CollectionSweep>> {
        let (tenant, cid) = (t.id, c.id);
        let find: Box<dyn Fn(Option<Uuid>) -> FindJob + Send + Sync> = match c.def.retention.clone() {
            Retention::Period { days, from } => {
                let cutoff = now - i64::from(days) * DAY_MS;
                let created = from == RetentionFrom::Created;
                Box::new(move |after| {
                    Box::new(move |db| queries::expired_by_time(db, tenant, cid, created, cutoff, after, CHUNK))
                })
            }
            Retention::UntilConsentWithdrawn => {
                let purposes = c.def.purposes.clone();
                Box::new(move |after| {
                    let purposes = purposes.clone();
                    Box::new(move |db| queries::expired_by_consent(db, tenant, cid, &purposes, now, after, CHUNK))
                })
            }
            r => match r.event() {
                Some((event, days)) => {
                    let (event, cutoff) = (event.to_string(), now - i64::from(days) * DAY_MS);
                    Box::new(move |after| {
                        let event = event.clone();
                        Box::new(move |db| queries::expired_by_event(db, tenant, cid, &event, cutoff, after, CHUNK))
                    })
                }
                None => return Ok(None),
            },
        };
        let mut sweep = CollectionSweep {
            collection: c.def.name.clone(),
            retention: Some(c.def.retention.clone()),
            ..Default::default()
        };
        let note_hold = |sweep: &mut CollectionSweep, h: Uuid| {
            sweep.held += 1;
            if !sweep.holds.contains(&h) {
                sweep.holds.push(h);
            }
        };
        // The next page is found while the writer removes this one.
        let mut found = self.store.read_latest(find(None)).await?;
        loop {
            let (page, next) = found;
            sweep.expired += page.len() as u64;
            let mut go = Vec::with_capacity(page.len());
            for r in page {
                match held.get(&cid).or_else(|| held.get(&r.subject)).or_else(|| held.get(&r.id)) {
                    Some(h) => note_hold(&mut sweep, *h),
                    None => go.push(r),
                }
            }
            let fetch = async {
                match next {
                    Some(n) => self.store.read_latest(find(Some(n))).await.map(Some),
                    None => Ok(None),
                }
            };
            let removed = async {
                if dry_run || go.is_empty() {
                    None
                } else {
                    Some(self.remove_expired(t, c, go, now).await)
                }
            };
            let (removed, fetched) = tokio::join!(removed, fetch);
            if let Some(removed) = removed {
                match removed {
                    Ok((deleted, anonymised, gone)) => {
                        sweep.deleted += deleted;
                        sweep.anonymised += anonymised;
                        sweep.subjects_erased += gone;
                    }
                    Err(ServiceError::Conflict(why)) => sweep.error = Some(why.to_string()),
                    Err(e) => return Err(e),
                }
            }
            match fetched? {
                Some(f) => found = f,
                None => break,
            }
        }
        if sweep.deleted + sweep.anonymised > 0 {
            self.erased();
        }
        Ok(Some(sweep))
    }

    /// Deletes (or anonymises, per the erasure rule) one chunk of expired
    /// records in one transaction with its audit event: (deleted,
    /// anonymised, subjects erased).
    async fn remove_expired(
        &self,
        t: &Arc<TenantCtx>,
        c: &Arc<Collection>,
        go: Vec<Expired>,
        now: i64,
    ) -> Result<(u64, u64, u64)> {
        let (tenant, cid) = (t.id, c.id);
        let mut anonymised = Vec::new();
        if let ErasureRule::Anonymise { .. } = c.def.erasure {
            let ids: Vec<Uuid> = go.iter().map(|r| r.id).collect();
            let sealed = self
                .store
                .read_latest(move |db| {
                    ids.iter()
                        .map(|id| queries::get_record(db, tenant, cid, *id))
                        .collect::<std::result::Result<Vec<_>, _>>()
                })
                .await?;
            for r in sealed.into_iter().flatten() {
                let view = self.open_record(t, &c.def.name, &r)?;
                let data = c.def.anonymise(&view.data).unwrap_or_default();
                let json = serde_json::to_vec(&data).map_err(|e| ServiceError::Internal(e.to_string()))?;
                let id = r.record.id;
                anonymised.push(AnonymisedRow {
                    id,
                    collection_id: cid,
                    data: t.keys.seal(&anonymised_context(cid, id), &json),
                    created_at: r.record.created_at,
                    anonymised_at: now,
                });
            }
        }
        let name = c.def.name.clone();
        self.write_recorded(move |db, d| {
            for a in &anonymised {
                queries::insert_anonymised(db, tenant, a)?;
            }
            let gone = queries::delete_expired(db, tenant, &go, now)?;
            let (n, a) = (go.len() as u64, anonymised.len() as u64);
            d.detail = Some(format!(
                "collection={name} deleted={} anonymised={a} subjects_erased={gone} first={} last={}",
                n - a,
                go.first().map(|r| r.id.to_string()).unwrap_or_default(),
                go.last().map(|r| r.id.to_string()).unwrap_or_default()
            ));
            Ok((n - a, a, gone))
        })
        .await
        .map_err(|e| match e {
            StoreError::Stale | StoreError::NotFound => {
                ServiceError::Conflict("a record changed during the sweep; the next run takes it")
            }
            e => e.into(),
        })
    }

    /// Runs the sweep of every tenant as the local operator, if this
    /// server holds the job's claim (one server of several runs it).
    /// `None`: another server runs it now.
    /// `every_ms`: only if the last run started at least that long ago.
    pub async fn retention_all(
        &self,
        dry_run: bool,
        lease_ms: i64,
        every_ms: i64,
    ) -> Result<Option<Vec<RetentionReport>>> {
        let now = self.clock.now_ms();
        let by = server_id();
        if !dry_run && !self.store.write(move |db| queries::claim_job(db, JOB, by, now, lease_ms, every_ms)).await? {
            return Ok(None);
        }
        let tenants = self.store.read(queries::list_tenants).await?;
        let mut out = Vec::new();
        let mut failed = None;
        for tenant in tenants {
            match self.retention_run(&Actor::local(), tenant.id, dry_run).await {
                Ok(r) => out.push(r),
                Err(e) => {
                    failed = Some(format!("tenant {}: {e}", tenant.id));
                    break;
                }
            }
        }
        if !dry_run {
            let outcome = match &failed {
                Some(f) => format!("failed: {f}"),
                None => {
                    let n: u64 = out.iter().flat_map(|r| &r.collections).map(|c| c.deleted + c.anonymised).sum();
                    format!("ok: {n} records removed")
                }
            };
            let end = self.clock.now_ms();
            self.store.write(move |db| queries::finish_job(db, JOB, by, end, &outcome)).await?;
        }
        if let Some(f) = &failed {
            self.raise(super::alerts::AlertKind::RetentionFailed, None, format!("the retention run stopped: {f}"));
        }
        match failed {
            Some(f) => Err(ServiceError::Internal(format!("the retention run stopped: {f}"))),
            None => Ok(Some(out)),
        }
    }

    /// Runs the retention sweep every `period` (counted from the last run
    /// of any server: checked every minute at most), for as long as the
    /// vault lives.
    pub fn retention_on_schedule(vault: &Arc<Vault>, period: std::time::Duration) {
        let weak = Arc::downgrade(vault);
        let every = i64::try_from(period.as_millis()).unwrap_or(i64::MAX / 4);
        let lease = every.clamp(60_000, 6 * 3_600_000);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period.min(std::time::Duration::from_secs(60)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(v) = weak.upgrade() else { return };
                match v.retention_all(false, lease, every).await {
                    Ok(Some(reports)) => {
                        for r in reports.iter().filter(|r| r.collections.iter().any(|c| c.expired > 0)) {
                            tracing::info!(tenant = %r.tenant, summary = %r.summary(), "retention run");
                        }
                    }
                    Ok(None) => {}
                    Err(e) => tracing::error!(error = %e, "the retention run failed"),
                }
            }
        });
    }
}

/// A read that finds a page of expired records.
type FindJob = Box<
    dyn FnOnce(&mut dyn crate::store::db::Db) -> std::result::Result<(Vec<Expired>, Option<Uuid>), StoreError> + Send,
>;

//! Backups as use cases (AVL-1, AVL-2): make one now or on the server's
//! schedule (one server of several, by the `backup` job's claim), list
//! what the destinations hold, prune them, ship the erasure journal to
//! every destination, and — after `varuh backup restore` loaded a backup —
//! replay the erasures newer than it before the store serves anyone.

use super::{Actor, Result, ServiceError, Vault};
use crate::backup::destination::Destination;
use crate::backup::{self, format, Manifest, Verified};
use crate::domain::access::Action;
use crate::store::queries::{self, JournalEntry};
use std::collections::BTreeMap;
use std::sync::Arc;
use uuid::Uuid;

/// Where and how backups are made (from the configuration).
#[derive(Debug, Clone, Default)]
pub struct BackupSettings {
    pub destinations: Vec<Destination>,
    /// age X25519 recipients (`age1…`) every backup is encrypted to.
    pub recipients: Vec<String>,
    /// Pruning: the newest backup of each of the last `keep_daily` days
    /// and `keep_monthly` months is kept at each destination.
    pub keep_daily: usize,
    pub keep_monthly: usize,
    /// Where a backup is written before it is copied out (the data directory).
    pub spool: std::path::PathBuf,
}

/// How far back of a backup's time a restore replays the journal: an
/// erasure's time is taken before its commit, and servers' clocks differ.
pub const REPLAY_MARGIN_MS: i64 = 3_600_000;

const JOB: &str = "backup";

/// A backup made: its manifest and each destination's outcome.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BackupMade {
    pub manifest: Manifest,
    /// Destination → `ok`, or what failed.
    pub destinations: BTreeMap<String, String>,
    /// Old backups pruned, in all.
    pub pruned: usize,
}

/// A backup as the destinations hold it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Listed {
    pub manifest: Manifest,
    /// The destinations with a copy, and each copy's last verification.
    pub copies: Vec<Copy>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Copy {
    pub destination: String,
    pub verified: Option<Verified>,
}

/// Every complete backup at `destinations`, newest first. A destination
/// that cannot be read is an error naming it.
pub async fn list_backups(destinations: &[Destination]) -> anyhow::Result<Vec<Listed>> {
    let mut by_id: BTreeMap<(i64, Uuid), Listed> = BTreeMap::new();
    for d in destinations {
        let objects = d.list("backups").await.map_err(|e| anyhow::anyhow!("{}: {e}", d.name))?;
        let keys: std::collections::HashSet<&str> = objects.iter().map(|o| o.key.as_str()).collect();
        for o in objects.iter().filter(|o| o.key.ends_with(".json") && !o.key.ends_with(".verified.json")) {
            let bytes = d.get_bytes(&o.key).await?;
            let Ok(m) = serde_json::from_slice::<Manifest>(&bytes) else { continue };
            if !keys.contains(m.key.as_str()) {
                continue;
            }
            let verified = match keys.contains(backup::verified_key(&m.key).as_str()) {
                true => {
                    d.get_bytes(&backup::verified_key(&m.key)).await.ok().and_then(|b| serde_json::from_slice(&b).ok())
                }
                false => None,
            };
            by_id
                .entry((m.created_at_ms, m.id))
                .or_insert_with(|| Listed { manifest: m.clone(), copies: Vec::new() })
                .copies
                .push(Copy { destination: d.name.clone(), verified });
        }
    }
    Ok(by_id.into_values().rev().collect())
}

/// Every journal entry at `destinations` (the union: each should hold all)
/// from `since` on, by time.
pub async fn read_journal(destinations: &[Destination], since: i64) -> anyhow::Result<Vec<JournalEntry>> {
    let mut all = Vec::new();
    for d in destinations {
        let objects = d.list("journal").await.map_err(|e| anyhow::anyhow!("{}: {e}", d.name))?;
        for o in objects {
            if backup::journal_key_time(&o.key).is_some_and(|t| t < since) {
                continue;
            }
            let bytes = d.get_bytes(&o.key).await.map_err(|e| anyhow::anyhow!("{}: {e}", d.name))?;
            all.extend(backup::decode_journal(&bytes)?.into_iter().filter(|e| e.at_ms >= since));
        }
    }
    all.sort_by_key(|e| (e.at_ms, e.tenant, e.subject, e.record));
    all.dedup();
    Ok(all)
}

impl Vault {
    /// `POST /v1/system/backups`: a backup now, to every destination.
    pub async fn backup_create(&self, actor: &Actor) -> Result<BackupMade> {
        let call = self.call(actor, Action::BackupCreate, None);
        self.run(call, |_| async move { self.make_backup().await }, |m, d| d.detail = Some(m.summary())).await
    }

    /// `GET /v1/system/backups`: what the destinations hold.
    pub async fn backup_list(&self, actor: &Actor) -> Result<Vec<Listed>> {
        let call = self.call(actor, Action::BackupList, None);
        self.run(
            call,
            |_| async move {
                list_backups(&self.settings.backup.destinations)
                    .await
                    .map_err(|e| ServiceError::Backup(format!("cannot list the backups: {e}")))
            },
            |_, _| {},
        )
        .await
    }

    /// Makes a backup: ships the journal, writes one snapshot to the spool
    /// directory, copies it to every destination (its manifest last),
    /// prunes each, and records the outcome as the `backup` job's. A
    /// destination that fails fails the backup; the others still get it.
    pub(crate) async fn make_backup(&self) -> Result<BackupMade> {
        let b = &self.settings.backup;
        if b.destinations.is_empty() {
            return Err(ServiceError::NotConfigured(
                "no backup destination is configured (backup_destinations in the server's configuration)".into(),
            ));
        }
        let recipients = backup::recipients(&b.recipients).map_err(|e| ServiceError::NotConfigured(e.to_string()))?;
        let started = self.clock.now_ms();
        let by = super::retention::server_id();
        let claimed = self.store.write(move |db| queries::claim_job(db, JOB, by, started, 6 * 3_600_000, 0)).await?;
        if !claimed {
            return Err(ServiceError::Conflict("another backup is being made now; try again when it is done"));
        }
        let r = self.backup_claimed(recipients, started).await;
        let outcome = match &r {
            Ok(m) if m.failed().is_none() => format!("ok: {} ({} bytes)", m.manifest.id, m.manifest.size),
            Ok(m) => format!("failed: {}", m.failed().unwrap_or_default()),
            Err(e) => format!("failed: {e}"),
        };
        let end = self.clock.now_ms();
        if let Some(why) = outcome.strip_prefix("failed: ") {
            self.raise(super::alerts::AlertKind::BackupFailed, None, format!("the backup failed: {why}"));
        }
        self.store.write(move |db| queries::finish_job(db, JOB, by, end, &outcome)).await?;
        match r {
            Ok(m) => match m.failed() {
                Some(f) => Err(ServiceError::Backup(format!("the backup did not reach every destination: {f}"))),
                None => Ok(m),
            },
            Err(e) => Err(e),
        }
    }

    async fn backup_claimed(&self, recipients: Vec<age::x25519::Recipient>, started: i64) -> Result<BackupMade> {
        let b = &self.settings.backup;
        // Erasures made so far go out first: a restore of this backup
        // must know them even if the store is lost right after.
        if let Err(e) = self.ship_journal().await {
            tracing::warn!(error = %e, "the erasure journal could not be shipped before the backup");
        }
        let id = Uuid::now_v7();
        let header = format::Header {
            format: 1,
            id,
            created_at_ms: started,
            source: String::new(),
            schema_version: 0,
            master_key: self.master.fingerprint(),
            tables: Vec::new(),
        };
        std::fs::create_dir_all(&b.spool).map_err(|e| ServiceError::Backup(format!("backup spool: {e}")))?;
        let spool = b.spool.join(format!(".backup-{id}.partial"));
        let location = self.store.location().clone();
        let names = b.recipients.clone();
        let file = spool.clone();
        let made = tokio::task::spawn_blocking(move || -> anyhow::Result<Manifest> {
            let mut db = crate::store::Store::connect_raw(&location)?;
            backup::write_file(db.as_mut(), &file, &recipients, names, header)
        })
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let manifest = match made {
            Ok(m) => m,
            Err(e) => {
                let _ = std::fs::remove_file(&spool);
                return Err(ServiceError::Backup(format!("the backup could not be made: {e:#}")));
            }
        };
        let json = serde_json::to_vec_pretty(&manifest).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let mut destinations = BTreeMap::new();
        let mut pruned = 0;
        for d in &b.destinations {
            let r = async {
                d.put_file(&manifest.key, &spool).await?;
                d.put_bytes(&backup::manifest_key(&manifest.key), json.clone()).await?;
                anyhow::Ok(())
            }
            .await;
            let outcome = match r {
                Ok(()) => match self.prune(d).await {
                    Ok(n) => {
                        pruned += n;
                        "ok".to_string()
                    }
                    Err(e) => format!("copied, but pruning failed: {e:#}"),
                },
                Err(e) => format!("{e:#}"),
            };
            destinations.insert(d.name.clone(), outcome);
        }
        let _ = std::fs::remove_file(&spool);
        Ok(BackupMade { manifest, destinations, pruned })
    }

    /// Deletes the backups the keep rules let go at one destination, and
    /// the journal objects older than every backup kept there.
    async fn prune(&self, d: &Destination) -> anyhow::Result<usize> {
        let b = &self.settings.backup;
        let listed = list_backups(std::slice::from_ref(d)).await?;
        let all: Vec<(String, i64)> =
            listed.iter().map(|l| (l.manifest.key.clone(), l.manifest.created_at_ms)).collect();
        let gone = backup::to_prune(&all, b.keep_daily, b.keep_monthly);
        for key in &gone {
            // The manifest first: without it, the rest is an incomplete backup.
            d.delete(&backup::manifest_key(key)).await?;
            d.delete(&backup::verified_key(key)).await?;
            d.delete(key).await?;
        }
        let oldest_kept = all.iter().filter(|b| !gone.contains(&b.0)).map(|b| b.1).min();
        if let Some(oldest) = oldest_kept {
            for o in d.list("journal").await? {
                if backup::journal_key_time(&o.key).is_some_and(|t| t < oldest - REPLAY_MARGIN_MS) {
                    d.delete(&o.key).await?;
                }
            }
        }
        Ok(gone.len())
    }

    /// Copies the store's erasure journal to every destination, then
    /// forgets what all of them hold. With no destination there is no
    /// backup to bring anything back, and the rows just go.
    pub async fn ship_journal(&self) -> Result<usize> {
        let dests = &self.settings.backup.destinations;
        let mut shipped = 0;
        loop {
            let rows = self.store.read_latest(|db| queries::unshipped_journal(db, 50_000)).await?;
            if rows.is_empty() {
                return Ok(shipped);
            }
            let seqs: Vec<i64> = rows.iter().map(|r| r.0).collect();
            if !dests.is_empty() {
                let entries: Vec<JournalEntry> = rows.into_iter().map(|r| r.1).collect();
                let newest = entries.iter().map(|e| e.at_ms).max().unwrap_or(0);
                let bytes = backup::encode_journal(&entries).map_err(|e| ServiceError::Internal(e.to_string()))?;
                let key = backup::journal_key(newest, Uuid::now_v7());
                for d in dests {
                    d.put_bytes(&key, bytes.clone()).await.map_err(|e| {
                        ServiceError::Backup(format!("the erasure journal could not be copied to {}: {e:#}", d.name))
                    })?;
                }
            }
            shipped += seqs.len();
            self.store.write(move |db| queries::drop_shipped_journal(db, &seqs)).await?;
        }
    }

    /// Erases again, after a restore, what the journal says was erased
    /// after the backup was made: subjects with everything keyed by them,
    /// records with their identifiers. One audited event per tenant.
    pub async fn replay_erasures(&self, entries: Vec<JournalEntry>) -> Result<(u64, u64)> {
        let mut by_tenant: BTreeMap<Uuid, Vec<JournalEntry>> = BTreeMap::new();
        for e in entries {
            by_tenant.entry(e.tenant).or_default().push(e);
        }
        let (mut subjects, mut records) = (0u64, 0u64);
        let actor = Actor::local();
        for (tenant, list) in by_tenant {
            for chunk in list.chunks(2_000) {
                let chunk = chunk.to_vec();
                let call = self.call(&actor, Action::BackupRestore, None).detail(format!("tenant={tenant} replay"));
                let (s, r) = self
                    .run(
                        call,
                        |_| async move {
                            Ok(self
                                .write_recorded(move |db, d| {
                                    let (mut s, mut r) = (0u64, 0u64);
                                    for e in &chunk {
                                        match (e.subject, e.record) {
                                            (_, Some(rec)) => r += queries::erase_record_again(db, tenant, rec)? as u64,
                                            (Some(subj), None) => match queries::delete_subject(db, tenant, subj) {
                                                Ok(n) => {
                                                    s += 1;
                                                    r += n;
                                                }
                                                Err(crate::store::StoreError::NotFound) => {}
                                                Err(e) => return Err(e),
                                            },
                                            (None, None) => {}
                                        }
                                    }
                                    d.detail = Some(format!(
                                        "erasures replayed after a restore: tenant={tenant} subjects_erased={s} records_deleted={r} entries={}",
                                        chunk.len()
                                    ));
                                    Ok((s, r))
                                })
                                .await?)
                        },
                        |_, _| {},
                    )
                    .await?;
                subjects += s;
                records += r;
            }
        }
        self.store.erased();
        Ok((subjects, records))
    }

    /// After an erasure committed: SQLite's WAL is cut at the next
    /// checkpoint, and the journal's shipper wakes.
    pub(crate) fn erased(&self) {
        self.store.erased();
        self.journal_kick.notify_one();
    }

    /// Ships the erasure journal whenever an erasure commits (and every
    /// minute, for what an earlier attempt could not ship), for as long as
    /// the vault lives. With no destination, it just empties the journal.
    pub fn ship_journal_on_kick(vault: &Arc<Vault>) {
        let weak = Arc::downgrade(vault);
        let kick = vault.journal_kick.clone();
        tokio::spawn(async move {
            loop {
                let _ = tokio::time::timeout(std::time::Duration::from_secs(60), kick.notified()).await;
                let Some(v) = weak.upgrade() else { return };
                if let Err(e) = v.ship_journal().await {
                    v.raise(
                        super::alerts::AlertKind::JournalNotShipped,
                        None,
                        format!("the erasure journal could not be shipped (retried every minute): {e}"),
                    );
                }
            }
        });
    }

    /// Clears the mark of an unfinished restore: the store may serve.
    pub async fn store_mark_restored(&self) -> Result<()> {
        Ok(self.store.write(|db| queries::mark_restore(db, None, 0)).await?)
    }

    /// Makes a backup every `period` (counted from the last backup of any
    /// server, checked every minute at most), for as long as the vault lives.
    pub fn backups_on_schedule(vault: &Arc<Vault>, period: std::time::Duration) {
        let weak = Arc::downgrade(vault);
        let every = i64::try_from(period.as_millis()).unwrap_or(i64::MAX / 4);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period.min(std::time::Duration::from_secs(60)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(v) = weak.upgrade() else { return };
                let now = v.clock.now_ms();
                let due = v
                    .store
                    .read_latest(|db| queries::job_state(db, JOB))
                    .await
                    .map(|s| s.and_then(|s| s.0).is_none_or(|last| last <= now - every))
                    .unwrap_or(false);
                if !due {
                    continue;
                }
                // As the local operator, audited like any backup.
                match v.backup_create(&Actor::local()).await {
                    Ok(m) => tracing::info!(summary = %m.summary(), "backup made"),
                    Err(ServiceError::Conflict(_)) => {}
                    Err(e) => tracing::error!(error = %e, "the scheduled backup failed"),
                }
            }
        });
    }
}

impl BackupMade {
    /// The first destination that failed, with why.
    pub fn failed(&self) -> Option<String> {
        self.destinations.iter().find(|(_, o)| *o != "ok").map(|(d, o)| format!("{d}: {o}"))
    }

    /// The audit event's detail (no personal data).
    pub fn summary(&self) -> String {
        format!(
            "backup={} rows={} bytes={} destinations={} pruned={}",
            self.manifest.id,
            self.manifest.rows,
            self.manifest.size,
            self.destinations.len(),
            self.pruned
        )
    }
}

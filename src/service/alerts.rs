//! Monitoring and alerts (AVL-4): what an operator must hear about — a
//! failed backup or retention run, a failed audit verification (one runs
//! on the server's schedule), a failed shipping of the erasure journal,
//! brute-force lockouts, and unusual bulk reads (an account reading more
//! subjects in a window than its tenant's threshold) — sent to the
//! configured channels (a webhook, e-mail), kept for `/readyz` and counted
//! for Prometheus at `/metrics`. An alert holds ids, counts and reasons,
//! never a personal value. The same alert is sent at most once in ten
//! minutes (counted every time).

use super::Vault;
use crate::store::queries;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    BackupFailed,
    RetentionFailed,
    AuditVerificationFailed,
    JournalNotShipped,
    Lockout,
    BulkRead,
}

impl AlertKind {
    pub const ALL: [AlertKind; 6] = [
        AlertKind::BackupFailed,
        AlertKind::RetentionFailed,
        AlertKind::AuditVerificationFailed,
        AlertKind::JournalNotShipped,
        AlertKind::Lockout,
        AlertKind::BulkRead,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::BackupFailed => "backup_failed",
            AlertKind::RetentionFailed => "retention_failed",
            AlertKind::AuditVerificationFailed => "audit_verification_failed",
            AlertKind::JournalNotShipped => "journal_not_shipped",
            AlertKind::Lockout => "lockout",
            AlertKind::BulkRead => "bulk_read",
        }
    }
}

/// An alert as sent and kept.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Alert {
    pub kind: AlertKind,
    pub tenant: Option<Uuid>,
    pub at_ms: i64,
    pub detail: String,
}

/// Where alerts go (from the configuration).
#[derive(Debug, Clone, Default)]
pub struct AlertSettings {
    /// POSTed as JSON.
    pub webhook: Option<String>,
    /// Mailed through `smtp_url`.
    pub emails: Vec<String>,
}

const RESEND_AFTER_MS: i64 = 600_000;

/// The alerts state of this server.
#[derive(Default)]
pub struct Alerts {
    inner: std::sync::Mutex<State>,
}

#[derive(Default)]
struct State {
    counts: HashMap<AlertKind, u64>,
    /// The last of each kind (and tenant), for `/readyz` and resending.
    last: HashMap<(AlertKind, Option<Uuid>), (Alert, i64)>,
    /// Bulk reads: per (tenant, account), the subjects read in the window.
    reads: HashMap<(Uuid, Uuid), Window>,
}

#[derive(Default)]
struct Window {
    seen: VecDeque<(i64, Uuid)>,
    distinct: HashSet<Uuid>,
    alerted_at: Option<i64>,
}

impl Alerts {
    pub fn counts(&self) -> Vec<(AlertKind, u64)> {
        let s = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        AlertKind::ALL.iter().map(|k| (*k, s.counts.get(k).copied().unwrap_or(0))).collect()
    }
    /// The latest alert of each kind, newest first.
    pub fn recent(&self) -> Vec<Alert> {
        let s = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut by_kind: HashMap<AlertKind, Alert> = HashMap::new();
        for (a, _) in s.last.values() {
            if by_kind.get(&a.kind).is_none_or(|b| b.at_ms < a.at_ms) {
                by_kind.insert(a.kind, a.clone());
            }
        }
        let mut v: Vec<Alert> = by_kind.into_values().collect();
        v.sort_by_key(|a| std::cmp::Reverse(a.at_ms));
        v
    }
}

/// Bulk-read thresholds: more than `subjects` distinct subjects by one
/// account within `minutes` raises an alert (a tenant's setting).
pub const DEFAULT_BULK_SUBJECTS: u32 = 1_000;
pub const DEFAULT_BULK_MINUTES: u32 = 60;

impl Vault {
    /// Raises an alert: counted, kept, and sent to every channel unless the
    /// same one went out in the last ten minutes.
    pub fn raise(&self, kind: AlertKind, tenant: Option<Uuid>, detail: String) {
        let now = self.clock.now_ms();
        let alert = Alert { kind, tenant, at_ms: now, detail };
        let send = {
            let mut s = self.alerts.inner.lock().unwrap_or_else(|e| e.into_inner());
            *s.counts.entry(kind).or_default() += 1;
            let sent_at = s.last.get(&(kind, tenant)).map(|(_, sent)| *sent);
            let send = sent_at.is_none_or(|t| now - t >= RESEND_AFTER_MS);
            let sent = if send { now } else { sent_at.unwrap_or(now) };
            s.last.insert((kind, tenant), (alert.clone(), sent));
            send
        };
        tracing::error!(kind = kind.as_str(), tenant = ?tenant, detail = %alert.detail, "alert");
        if !send {
            return;
        }
        let settings = self.settings.alerts.clone();
        let mailer = self.mailer.clone();
        tokio::spawn(async move {
            let body = serde_json::json!({
                "alert": alert.kind.as_str(),
                "tenant": alert.tenant,
                "at": crate::clock::rfc3339(alert.at_ms),
                "detail": alert.detail,
            });
            if let Some(url) = &settings.webhook {
                if let Err(e) = crate::outbound::post_json(url, &body.to_string()).await {
                    tracing::error!(error = %e, "the alert webhook failed");
                }
            }
            if let Some(m) = mailer.as_ref().filter(|_| !settings.emails.is_empty()) {
                let subject = format!("varuh alert: {}", alert.kind.as_str().replace('_', " "));
                let text = format!(
                    "{}\n\nAt: {}\nTenant: {}\n\n{}\n",
                    subject,
                    crate::clock::rfc3339(alert.at_ms),
                    alert.tenant.map(|t| t.to_string()).unwrap_or_else(|| "(the whole server)".into()),
                    alert.detail
                );
                for to in &settings.emails {
                    if let Err(e) = m.send(to, &subject, &text).await {
                        tracing::error!(error = %e, "an alert e-mail failed");
                    }
                }
            }
        });
    }

    /// Counts a read of a subject's data by an account; over the tenant's
    /// threshold within its window, a bulk-read alert (once per window).
    pub(crate) fn count_read(&self, tenant: Uuid, actor: Uuid, subject: Uuid, limit: (u32, u32)) {
        let (max, minutes) = limit;
        if max == 0 {
            return;
        }
        let now = self.clock.now_ms();
        let window = i64::from(minutes) * 60_000;
        let over = {
            let mut s = self.alerts.inner.lock().unwrap_or_else(|e| e.into_inner());
            if s.reads.len() > 10_000 {
                s.reads.retain(|_, w| w.seen.back().is_some_and(|(t, _)| now - t < window));
            }
            let w = s.reads.entry((tenant, actor)).or_default();
            while w.seen.front().is_some_and(|(t, _)| now - t >= window) {
                w.seen.pop_front();
            }
            if w.distinct.len() > w.seen.len() * 2 + 16 || w.seen.is_empty() {
                w.distinct = w.seen.iter().map(|(_, s)| *s).collect();
            }
            if w.distinct.insert(subject) {
                w.seen.push_back((now, subject));
            }
            // Bounded: past the threshold, only the count matters.
            while w.seen.len() > max as usize + 1 {
                if let Some((_, s)) = w.seen.pop_front() {
                    w.distinct.remove(&s);
                }
            }
            let n = w.distinct.len();
            let due = n > max as usize && w.alerted_at.is_none_or(|t| now - t >= window);
            if due {
                w.alerted_at = Some(now);
            }
            due.then_some(n)
        };
        if let Some(n) = over {
            self.raise(
                AlertKind::BulkRead,
                Some(tenant),
                format!("account {actor} read more than {max} subjects within {minutes} minutes ({n} seen)"),
            );
        }
    }

    /// Verifies the whole audit trail now (as `varuh audit verify` does),
    /// on its own connection; a failure raises an alert. Recorded as the
    /// `audit_verify` job's outcome.
    pub async fn verify_audit_now(&self) -> crate::service::Result<bool> {
        let key = crate::audit::note::VerifierKey {
            name: self.settings.audit_origin.clone(),
            public_key: self.signer.public_key(),
        };
        let location = self.store.location().clone();
        let report = tokio::task::spawn_blocking(move || {
            let mut db = crate::store::Store::connect_raw(&location)?;
            crate::audit::verify::verify_store(db.as_mut(), &key, &[])
        })
        .await
        .map_err(|e| crate::service::ServiceError::Internal(e.to_string()))??;
        let outcome = match report.first() {
            None => format!("ok: {} events", report.events),
            Some(f) => {
                let at = f.position.map(|p| format!(" at position {p}")).unwrap_or_default();
                self.raise(
                    AlertKind::AuditVerificationFailed,
                    None,
                    format!("the audit trail does not verify{at}: {}", f.message),
                );
                format!("failed{at}: {}", f.message)
            }
        };
        let end = self.clock.now_ms();
        let ok = report.ok();
        self.store.write(move |db| queries::record_job(db, "audit_verify", end, &outcome)).await?;
        Ok(ok)
    }

    /// Verifies the audit trail every `period` (counted from the last
    /// verification by any server), for as long as the vault lives.
    pub fn audit_verification_on_schedule(vault: &Arc<Vault>, period: std::time::Duration) {
        let weak = Arc::downgrade(vault);
        let every = i64::try_from(period.as_millis()).unwrap_or(i64::MAX / 4);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period.min(std::time::Duration::from_secs(60)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(v) = weak.upgrade() else { return };
                let (now, by) = (v.clock.now_ms(), super::retention::server_id());
                let claimed = v
                    .store
                    .write(move |db| queries::claim_job(db, "audit_verify_run", by, now, 3_600_000, every))
                    .await
                    .unwrap_or(false);
                if !claimed {
                    continue;
                }
                if let Err(e) = v.verify_audit_now().await {
                    v.raise(
                        AlertKind::AuditVerificationFailed,
                        None,
                        format!("the audit verification could not run: {e}"),
                    );
                }
                let _ = v.store.write(move |db| queries::finish_job(db, "audit_verify_run", by, now, "done")).await;
            }
        });
    }
}

/// A scheduled job's last run, as `/readyz` and `/metrics` show it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct JobStatus {
    pub job: &'static str,
    pub finished_at_ms: Option<i64>,
    /// `ok: …` or `failed: …`; none if it never ran.
    pub ok: Option<bool>,
}

/// What the operator's monitoring reads: the jobs' last runs, the
/// erasure journal's backlog, the alerts.
#[derive(Debug, Clone)]
pub struct Monitoring {
    pub jobs: Vec<JobStatus>,
    pub journal_backlog: i64,
    pub journal_oldest_ms: Option<i64>,
    pub alerts: Vec<Alert>,
    pub alert_counts: Vec<(AlertKind, u64)>,
}

/// The jobs monitoring reports.
pub const MONITORED_JOBS: [&str; 4] = ["backup", "restore_test", "retention", "audit_verify"];

impl Vault {
    pub async fn monitoring(&self) -> crate::service::Result<Monitoring> {
        let (jobs, backlog) = self
            .store
            .read_latest(|db| {
                let mut jobs = Vec::new();
                for job in MONITORED_JOBS {
                    let s = queries::job_state(db, job)?;
                    let (finished, outcome) = s.map(|s| (s.1, s.2)).unwrap_or((None, None));
                    jobs.push(JobStatus {
                        job,
                        finished_at_ms: finished,
                        ok: outcome.map(|o| o.starts_with("ok")).filter(|_| finished.is_some()),
                    });
                }
                Ok((jobs, queries::journal_backlog(db)?))
            })
            .await?;
        Ok(Monitoring {
            jobs,
            journal_backlog: backlog.0,
            journal_oldest_ms: backlog.1,
            alerts: self.alerts.recent(),
            alert_counts: self.alerts.counts(),
        })
    }
}

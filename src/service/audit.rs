//! Recording and reading the audit trail (AUD-1..4). Every use case runs
//! inside `Vault::audited`: a change is written with its event in one job
//! (`write_recorded`); anything else (a read, a refusal, a failure) appends
//! its event afterwards through the `AuditQueue`. Either way the event is
//! durable before the use case returns, so no response leaves unrecorded,
//! and if it cannot be stored the use case fails. Also here: tree heads
//! (made, stored, published, on a schedule), proofs, queries and exports.
//! Reading the trail is itself recorded. Only administrators read it: a
//! system administrator all of it, a tenant administrator the tenant's.

use super::{Actor, Result, ServiceError, Vault};
use crate::audit::merkle::Proofs;
use crate::audit::note::{self, Checkpoint, VerifierKey};
use crate::audit::publish;
use crate::audit::{self as log, merkle, Draft, Event};
use crate::domain::access::Action;
use crate::store::db::Db;
use crate::store::queries::{self, AuditFilter, HeadRow};
use crate::store::StoreError;
use std::cell::RefCell;
use std::future::Future;
use std::sync::atomic::Ordering;
use tokio::sync::oneshot;
use uuid::Uuid;

/// Events waiting for the writer. Appending from many requests at once,
/// one writer job takes all that are waiting and writes them in one
/// savepoint: auditing every read costs an INSERT per event, not a job, a
/// channel hop and a savepoint each. Each waiter is answered when the batch
/// holding its event is durable.
#[derive(Default)]
pub(crate) struct AuditQueue {
    pending: std::sync::Mutex<Vec<Waiting>>,
    /// A job to drain `pending` is queued and has not started yet.
    scheduled: std::sync::atomic::AtomicBool,
}

struct Waiting {
    draft: Draft,
    now: i64,
    tx: oneshot::Sender<std::result::Result<(), String>>,
}

impl AuditQueue {
    /// The writer job: appends everything waiting to the open transaction.
    /// The events get their positions when it commits; each waiter is
    /// answered when that batch is durable (or has failed).
    fn write(&self) -> (bool, crate::store::Reply) {
        self.scheduled.store(false, Ordering::Release);
        let batch = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        let mut done = Vec::with_capacity(batch.len());
        for w in batch {
            log::append(w.draft, w.now);
            done.push(w.tx);
        }
        (
            true,
            Box::new(move |durable| {
                for tx in done {
                    let _ = tx.send(durable.clone());
                }
            }),
        )
    }
}

tokio::task_local! {
    /// The event of the use case that `audited` is running on this task.
    static PENDING: RefCell<Pending>;
}

/// A use case's event while it runs, and whether a write has committed it.
#[derive(Default)]
struct Pending {
    draft: Draft,
    recorded: bool,
}

/// Where a request comes from: its id and the client's address.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub id: String,
    pub source: Option<String>,
    /// The client's `User-Agent`, cut to 120 printable ASCII characters.
    pub user_agent: Option<String>,
}

/// A signed tree head.
#[derive(Debug, Clone)]
pub struct Head {
    pub tree_size: u64,
    pub root: merkle::Hash,
    pub time_ms: i64,
    pub checkpoint: String,
}

fn head_of(r: HeadRow) -> Result<Head> {
    Ok(Head {
        tree_size: r.tree_size as u64,
        root: r.root.try_into().map_err(|_| ServiceError::Internal("bad root in a stored head".into()))?,
        time_ms: r.time_ms,
        checkpoint: r.note,
    })
}

/// One stored event, as the audit API returns it.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub event: Event,
    pub body: String,
    pub leaf_hash: String,
}

fn stored_event(r: &queries::AuditRow) -> Result<StoredEvent> {
    let event: Event = serde_json::from_slice(&r.body).map_err(|e| ServiceError::Internal(e.to_string()))?;
    Ok(StoredEvent { event, body: String::from_utf8_lossy(&r.body).into_owned(), leaf_hash: log::hex(&r.leaf_hash) })
}

pub(crate) fn outcome(e: &ServiceError) -> &'static str {
    match e {
        ServiceError::Unauthenticated | ServiceError::BadCredentials => "unauthenticated",
        ServiceError::Forbidden(_) | ServiceError::PasswordChangeRequired | ServiceError::MfaEnrolmentRequired => {
            "denied"
        }
        ServiceError::MfaRequired | ServiceError::RateLimited => "unauthenticated",
        ServiceError::Restricted(_) => "restricted",
        ServiceError::NotFound(_) => "not_found",
        ServiceError::Invalid(_) | ServiceError::RowsInvalid(_) => "invalid",
        ServiceError::Conflict(_) | ServiceError::IdentifierConflict(_) | ServiceError::Stale => "conflict",
        ServiceError::Unavailable(_)
        | ServiceError::Internal(_)
        | ServiceError::NotPublished(_)
        | ServiceError::Backup(_)
        | ServiceError::NotConfigured(_) => "error",
    }
}

impl Draft {
    pub fn collection(mut self, name: &str) -> Self {
        self.collection = Some(name.to_string());
        self
    }
    pub fn record(mut self, id: Uuid) -> Self {
        self.record = Some(id);
        self
    }
    pub fn subject(mut self, id: Uuid) -> Self {
        self.subject = Some(id);
        self
    }
    pub fn detail(mut self, d: impl Into<String>) -> Self {
        self.detail = Some(d.into());
        self
    }
    /// The names (never the values) of the fields concerned.
    pub fn fields_of<'a>(mut self, names: impl Iterator<Item = &'a String>) -> Self {
        self.fields = names.cloned().collect();
        self
    }
}

impl Vault {
    /// The start of an event for this actor's request.
    pub(crate) fn draft(&self, actor: &Actor, action: &str, tenant: Option<Uuid>) -> Draft {
        Draft {
            request: actor.req.id.clone(),
            actor: Some(actor.staff_id),
            role: Some(actor.role.as_str().to_string()),
            tenant: tenant.or(actor.tenant),
            action: action.to_string(),
            source: actor.req.source.clone(),
            ..Draft::default()
        }
    }

    /// An event for a request without a signed-in actor (a login, a bad token).
    pub(crate) fn anonymous_draft(&self, req: &RequestMeta, action: &str) -> Draft {
        Draft { request: req.id.clone(), action: action.to_string(), source: req.source.clone(), ..Draft::default() }
    }

    /// An event for a request without a signed-in actor, for the HTTP face.
    pub fn anonymous_event(&self, req: &RequestMeta, action: &str) -> Draft {
        self.anonymous_draft(req, action)
    }

    /// Records an event the service did not produce itself (a request the
    /// HTTP face refused before any use case ran).
    pub async fn record_event(&self, d: Draft) -> Result<()> {
        self.append(d).await
    }

    /// Appends one event and waits until it is durable. Events of many
    /// requests are gathered and written by one writer job (`AuditQueue`).
    pub(crate) async fn append(&self, d: Draft) -> Result<()> {
        self.append_all(vec![d]).await
    }

    /// Appends several events together (they share one batch) and waits
    /// until all are durable.
    pub(crate) async fn append_all(&self, ds: Vec<Draft>) -> Result<()> {
        let now = self.clock.now_ms();
        let mut rxs = Vec::with_capacity(ds.len());
        {
            let mut pending = self.queue.pending.lock().unwrap_or_else(|e| e.into_inner());
            for draft in ds {
                let (tx, rx) = oneshot::channel();
                pending.push(Waiting { draft, now, tx });
                rxs.push(rx);
            }
        }
        if !self.queue.scheduled.swap(true, Ordering::AcqRel) {
            let q = self.queue.clone();
            if let Err(e) = self.store.submit_events(Box::new(move |_| q.write())) {
                self.queue.scheduled.store(false, Ordering::Release);
                for w in std::mem::take(&mut *self.queue.pending.lock().unwrap_or_else(|e| e.into_inner())) {
                    let _ = w.tx.send(Err(e.to_string()));
                }
            }
        }
        let unavailable = |e: String| ServiceError::Unavailable(format!("the audit trail cannot be written: {e}"));
        for rx in rxs {
            rx.await.map_err(|_| unavailable("the writer stopped".into()))?.map_err(unavailable)?;
        }
        Ok(())
    }

    /// After a use case that showed many subjects' records at once (a page
    /// of a collection), one `subject.seen` event per subject, so that "who
    /// has seen this person's data" finds it by subject.
    pub(crate) async fn record_seen(
        &self,
        actor: &Actor,
        tenant: Uuid,
        via: &str,
        records: &[super::records::RecordView],
    ) -> Result<()> {
        let mut by_subject: std::collections::BTreeMap<Uuid, Vec<&super::records::RecordView>> = Default::default();
        for r in records {
            by_subject.entry(r.subject).or_default().push(r);
        }
        let drafts = by_subject
            .into_iter()
            .map(|(subject, rs)| {
                let mut d =
                    self.draft(actor, crate::domain::access::Action::SubjectSeen.name(), Some(tenant)).subject(subject);
                d.fields = super::records::read_fields(actor, &rs);
                d.outcome = "ok".into();
                d.collection = rs.first().map(|r| r.collection.clone());
                d.record = (rs.len() == 1).then(|| rs[0].id);
                d.detail = Some(format!("via={via} records={}", rs.len()));
                d
            })
            .collect();
        self.append_all(drafts).await
    }

    /// Runs a use case and records it with its outcome; `fill` adds what
    /// only the result knows (the subject of a record, the fields read).
    /// A use case that changes data does so through `write_recorded`, which
    /// commits the change and its event together; then nothing is appended
    /// here unless the use case fails after that commit.
    pub(crate) async fn audited<T>(
        &self,
        d: Draft,
        work: impl Future<Output = Result<T>>,
        fill: impl FnOnce(&T, &mut Draft),
    ) -> Result<T> {
        let (r, p) = PENDING
            .scope(RefCell::new(Pending { draft: d, recorded: false }), async move {
                let r = work.await;
                (r, PENDING.with(|p| p.replace(Pending::default())))
            })
            .await;
        let mut d = p.draft;
        match &r {
            Ok(_) if p.recorded => return r,
            Ok(v) => {
                d.outcome = "ok".into();
                let before = d.detail.clone();
                fill(v, &mut d);
                keep_note(before.as_deref(), &mut d);
                self.watch_reads(&d).await;
            }
            Err(e) => {
                d.outcome = outcome(e).into();
                if p.recorded {
                    d.detail = Some("failed after its change was committed".into());
                }
            }
        }
        self.append(d).await?;
        r
    }

    /// Counts a successful read of a subject's personal data towards the
    /// tenant's bulk-read threshold (AVL-4).
    async fn watch_reads(&self, d: &Draft) {
        static READS: std::sync::OnceLock<std::collections::HashSet<&'static str>> = std::sync::OnceLock::new();
        let reads = READS.get_or_init(|| {
            crate::domain::access::Action::ALL
                .iter()
                .filter(|a| a.rule().op == Some(crate::domain::access::Op::Read))
                .map(|a| a.name())
                .collect()
        });
        let (Some(tenant), Some(actor), Some(subject)) = (d.tenant, d.actor, d.subject) else { return };
        if !reads.contains(d.action.as_str()) {
            return;
        }
        if let Ok(p) = self.policy(Some(tenant)).await {
            self.count_read(tenant, actor, subject, (p.review.bulk_read_subjects, p.review.bulk_read_minutes));
        }
    }

    /// Runs a write job of the current use case and, in the same job,
    /// appends the use case's event with outcome `ok`: the change and its
    /// record commit together or not at all (AUD-1). `f` may add to the
    /// event what only the write knows. If `f` fails nothing is written and
    /// `audited` records the failure. Outside `audited` (no use case) it is
    /// a plain write.
    pub(crate) async fn write_recorded<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Db, &mut Draft) -> std::result::Result<R, StoreError> + Send + 'static,
    ) -> std::result::Result<R, StoreError> {
        self.write_recorded_as(false, f).await
    }

    /// `write_recorded` for a job that is one all-or-nothing statement on
    /// PostgreSQL (`Store::write_whole`: no savepoint).
    pub(crate) async fn write_recorded_whole<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Db, &mut Draft) -> std::result::Result<R, StoreError> + Send + 'static,
    ) -> std::result::Result<R, StoreError> {
        self.write_recorded_as(true, f).await
    }

    async fn write_recorded_as<R: Send + 'static>(
        &self,
        whole: bool,
        f: impl FnOnce(&mut dyn Db, &mut Draft) -> std::result::Result<R, StoreError> + Send + 'static,
    ) -> std::result::Result<R, StoreError> {
        let Some((mut d, now)) = self.draft_to_record() else {
            return self.store.write(move |db| f(db, &mut Draft::default())).await;
        };
        let job = move |db: &mut dyn Db| {
            let before = d.detail.clone();
            let r = f(db, &mut d)?;
            keep_note(before.as_deref(), &mut d);
            d.outcome = "ok".into();
            log::append(d.clone(), now);
            Ok((r, d))
        };
        let (r, d) = if whole { self.store.write_whole(job).await? } else { self.store.write(job).await? };
        Self::recorded(d);
        Ok(r)
    }

    /// The current use case's event as a write of it would append it
    /// (`write_recorded`), or `None` outside a use case.
    pub(crate) fn draft_to_record(&self) -> Option<(Draft, i64)> {
        let mut d = PENDING.try_with(|p| p.borrow().draft.clone()).ok()?;
        d.outcome = "ok".into();
        Some((d, self.clock.now_ms()))
    }

    /// A write appended `d`, the current use case's event, and committed.
    pub(crate) fn recorded(d: Draft) {
        let _ = PENDING.try_with(|p| *p.borrow_mut() = Pending { draft: d, recorded: true });
    }

    /// Runs a write and appends `d` (with the outcome it has) in the same
    /// job: both commit or neither. For events outside a use case's
    /// `audited` scope that carry a change, such as a failed sign-in's
    /// counters.
    pub(crate) async fn write_with_event<R: Send + 'static>(
        &self,
        d: Draft,
        f: impl FnOnce(&mut dyn Db) -> std::result::Result<R, StoreError> + Send + 'static,
    ) -> Result<R> {
        let now = self.clock.now_ms();
        let r = self
            .store
            .write(move |db| {
                let r = f(db)?;
                log::append(d, now);
                Ok(r)
            })
            .await
            .map_err(|e| match e {
                StoreError::Unavailable(m) => {
                    ServiceError::Unavailable(format!("the audit trail cannot be written: {m}"))
                }
                e => e.into(),
            })?;
        Ok(r)
    }

    /// The verifier key of the checkpoints this server signs.
    pub fn audit_key(&self) -> VerifierKey {
        VerifierKey { name: self.settings.audit_origin.clone(), public_key: self.signer.public_key() }
    }

    /// Makes a signed tree head of everything appended so far (unless the
    /// latest head already covers it), stores it, and publishes it if it is
    /// newer than what was last published. Called on a schedule, on demand
    /// and at shutdown.
    pub async fn make_head(&self) -> Result<Head> {
        let ap = self.appender.clone();
        let (size, root) = self.store.write_last(move |db| log::Appender::head(&ap, db)).await?;
        let head = match self.store.read_latest(queries::latest_audit_head).await? {
            Some(l) if l.tree_size as u64 >= size => head_of(l)?,
            _ => {
                let key = self.audit_key();
                let c = Checkpoint { origin: key.name.clone(), size, root };
                let text = note::sign(&c, &key.name, &self.signer);
                let row =
                    HeadRow { tree_size: size as i64, root: root.to_vec(), time_ms: self.clock.now_ms(), note: text };
                let stored = row.clone();
                match self.store.write(move |db| queries::insert_audit_head(db, &row)).await {
                    Ok(()) => head_of(stored)?,
                    // Another caller made the head of this size first.
                    Err(StoreError::Conflict) => {
                        head_of(self.store.read_latest(queries::latest_audit_head).await?.ok_or(ServiceError::Stale)?)?
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        };
        self.publish(&head).await?;
        Ok(head)
    }

    /// Writes a head outside the database (the configured file and webhook)
    /// unless a head at least as large was published already.
    async fn publish(&self, h: &Head) -> Result<()> {
        let s = &self.settings;
        if (s.audit_publish_file.is_none() && s.audit_publish_webhook.is_none())
            || self.published.load(Ordering::Acquire) > h.tree_size
        {
            return Ok(());
        }
        let _one_at_a_time = self.publishing.lock().await;
        if self.published.load(Ordering::Acquire) > h.tree_size {
            return Ok(());
        }
        let payload = publish::payload(&s.audit_origin, h.tree_size, &h.root, &h.checkpoint);
        let fail = |e: String| {
            tracing::error!(error = %e, tree_size = h.tree_size, "cannot publish the audit tree head");
            ServiceError::NotPublished(format!(
                "the tree head of size {} is stored but could not be published: {e}",
                h.tree_size
            ))
        };
        if let Some(path) = &s.audit_publish_file {
            let (path, p) = (path.clone(), payload.clone());
            tokio::task::spawn_blocking(move || publish::to_file(&path, &p))
                .await
                .map_err(|e| fail(e.to_string()))?
                .map_err(fail)?;
        }
        if let Some(url) = &s.audit_publish_webhook {
            publish::to_webhook(url, &payload).await.map_err(fail)?;
        }
        // Stored as size + 1 so that 0 means "nothing published yet".
        self.published.store(h.tree_size + 1, Ordering::Release);
        Ok(())
    }

    /// Makes a head every `period` while the vault lives; a failure is
    /// logged and retried at the next tick.
    pub fn heads_on_schedule(vault: &std::sync::Arc<Vault>, period: std::time::Duration) {
        let weak = std::sync::Arc::downgrade(vault);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(v) = weak.upgrade() else { return };
                if let Err(e) = v.make_head().await {
                    tracing::warn!(error = %e, "scheduled audit tree head failed");
                }
            }
        });
    }

    /// Makes a head on request (administrators), recorded.
    pub async fn request_head(&self, actor: &Actor) -> Result<Head> {
        let call = self.call(actor, Action::AuditHeadCreate, actor.tenant);
        self.run(call, |_| async { self.make_head().await }, |_, _| {}).await
    }

    /// The latest signed head.
    pub async fn latest_head(&self, actor: &Actor) -> Result<Head> {
        let call = self.call(actor, Action::AuditHeadRead, actor.tenant);
        self.run(
            call,
            |_| async {
                match self.store.read_latest(queries::latest_audit_head).await? {
                    Some(h) => head_of(h),
                    None => self.make_head().await,
                }
            },
            |_, _| {},
        )
        .await
    }

    /// The tree of the first `size` events, as far as proofs about the
    /// given blocks need it: block roots (kept by the appender) and those
    /// blocks' leaves. A size beyond the log is not found.
    async fn blocked(&self, size: u64, need: Vec<usize>) -> Result<merkle::Blocked> {
        let full = size as usize / merkle::BLOCK;
        let cached = self.appender.lock().unwrap_or_else(|e| e.into_inner()).block_roots(full);
        let ap = self.appender.clone();
        self.store
            .read_long(move |db| {
                if log::stored_size(db)? < size {
                    return Err(StoreError::NotFound);
                }
                let roots = match cached {
                    Some(r) => r,
                    None => {
                        // Once after a restart: the blocks before the kept frontier.
                        let r = log::block_roots(db, full)?;
                        ap.lock().unwrap_or_else(|e| e.into_inner()).fill_block_roots(&r);
                        r
                    }
                };
                let blocks = need
                    .into_iter()
                    .map(|b| Ok((b, log::block_leaves(db, b, size)?)))
                    .collect::<std::result::Result<Vec<_>, StoreError>>()?;
                Ok(merkle::Blocked::new(roots, blocks))
            })
            .await
            .map_err(|e| match e {
                StoreError::NotFound => ServiceError::NotFound("tree size"),
                e => e.into(),
            })
    }

    /// Inclusion proof of event `seq` in the tree of `size` events.
    pub async fn inclusion_proof(
        &self,
        actor: &Actor,
        seq: u64,
        size: u64,
    ) -> Result<(merkle::Hash, Vec<merkle::Hash>)> {
        let call = self.call(actor, Action::AuditInclusion, actor.tenant).detail(format!("seq={seq} tree_size={size}"));
        self.run(
            call,
            |_| async {
                if seq >= size {
                    return Err(crate::domain::Invalid::new("seq", "must be below tree_size").into());
                }
                let (m, n) = (seq as usize, size as usize);
                let tree = self.blocked(size, merkle::Blocked::blocks_for_inclusion(m, n)).await?;
                Ok((tree.leaf(m).copied().unwrap_or_default(), tree.inclusion_proof(m, n)))
            },
            |_, _| {},
        )
        .await
    }

    /// Consistency proof between the trees of `first` and `second` events.
    pub async fn consistency_proof(&self, actor: &Actor, first: u64, second: u64) -> Result<Vec<merkle::Hash>> {
        let call =
            self.call(actor, Action::AuditConsistency, actor.tenant).detail(format!("first={first} second={second}"));
        self.run(
            call,
            |_| async {
                if first > second {
                    return Err(crate::domain::Invalid::new("first", "must not exceed second").into());
                }
                let (m, n) = (first as usize, second as usize);
                let tree = self.blocked(second, merkle::Blocked::blocks_for_consistency(m, n)).await?;
                Ok(tree.consistency_proof(m, n))
            },
            |_, _| {},
        )
        .await
    }

    /// One page of events. A tenant administrator sees only the tenant's.
    pub async fn query_events(&self, actor: &Actor, mut f: AuditFilter) -> Result<Vec<StoredEvent>> {
        let detail = format!(
            "subject={} actor={} action={} from={} to={}",
            f.subject.map(|s| s.to_string()).unwrap_or_default(),
            f.actor.map(|s| s.to_string()).unwrap_or_default(),
            f.action.clone().unwrap_or_default(),
            f.from_ms.unwrap_or_default(),
            f.to_ms.unwrap_or_default()
        );
        // A tenant's staff query their own tenant's events (another tenant's is "not found").
        let tenant = f.tenant.or(actor.tenant);
        let mut call = self.call(actor, Action::AuditQuery, tenant).detail(detail);
        call.draft.subject = f.subject;
        self.run(
            call,
            |_| async move {
                f.tenant = tenant;
                if f.subject.is_some() && f.tenant.is_none() {
                    return Err(crate::domain::Invalid::new("tenant", "is required with subject").into());
                }
                if !(1..=1000).contains(&f.limit) {
                    return Err(crate::domain::Invalid::new("limit", "must be 1-1000").into());
                }
                let rows = self.store.read_long(move |db| queries::audit_query(db, &f)).await?;
                rows.iter().map(stored_event).collect()
            },
            |_, _| {},
        )
        .await
    }

    /// Events `from..to` of the latest head with inclusion proofs against it:
    /// what an outside auditor needs to verify them without the database.
    /// System administrators only (an export holds every tenant's events).
    pub async fn export(
        &self,
        actor: &Actor,
        from: u64,
        to: Option<u64>,
    ) -> Result<(Head, Vec<(StoredEvent, Vec<merkle::Hash>)>)> {
        let call = self
            .call(actor, Action::AuditExport, None)
            .detail(format!("from={from} to={}", to.map(|t| t.to_string()).unwrap_or_default()));
        self.run(
            call,
            |_| async {
                let head = self.make_head().await?;
                let to = to.unwrap_or(head.tree_size).min(head.tree_size);
                if from > to {
                    return Err(crate::domain::Invalid::new("from", "must not exceed to").into());
                }
                let size = head.tree_size;
                let (b, n) = (merkle::BLOCK, size as usize);
                let mut need: Vec<usize> =
                    if to > from { (from as usize / b..=(to as usize - 1) / b).collect() } else { Vec::new() };
                if n % b != 0 && need.last() != Some(&(n / b)) {
                    need.push(n / b);
                }
                let tree = self.blocked(size, need).await?;
                let rows = self
                    .store
                    .read_long(move |db| queries::audit_events_from(db, from as i64, (to - from) as i64))
                    .await?;
                let mut out = Vec::with_capacity(rows.len());
                for r in rows {
                    out.push((stored_event(&r)?, tree.inclusion_proof(r.seq as usize, size as usize)));
                }
                Ok((head, out))
            },
            |_, _| {},
        )
        .await
    }
}

/// Keeps the kernel's note (`approval=…`, `via=local`) when a use case
/// replaces its event's detail, so an approved command stays linked to its approval.
fn keep_note(before: Option<&str>, d: &mut Draft) {
    let Some(note) = before.and_then(|b| b.split(' ').find(|w| w.starts_with("approval=") || *w == "via=local")) else {
        return;
    };
    match &mut d.detail {
        Some(x) if x.contains(note) => {}
        Some(x) => {
            x.push(' ');
            x.push_str(note);
        }
        None => d.detail = Some(note.to_string()),
    }
}

/// The field names present in some records, sorted, each once.
pub(crate) fn field_names<'a>(
    records: impl IntoIterator<Item = &'a serde_json::Map<String, serde_json::Value>>,
) -> Vec<String> {
    let mut names: Vec<String> = records.into_iter().flat_map(|m| m.keys().cloned()).collect();
    names.sort();
    names.dedup();
    names
}

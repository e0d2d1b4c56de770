//! The audit trail: every access is an event, every event a leaf of an
//! append-only Merkle tree (RFC 9162), and signed tree heads (C2SP
//! checkpoints) pin the history so that no one can rewrite it unnoticed.
//!
//! - `merkle`: hashing, the frontier, block roots, inclusion and consistency proofs.
//! - `note`: signed checkpoints and verifier keys.
//! - `verify`: the offline verifier behind `varuh audit verify`.
//! - `publish`: tree heads written outside the database (file, webhook).
//! - here: the event format and the `Appender`, which runs on the store's
//!   writer thread so that an event commits in the same batch as the change
//!   it records and seq numbers follow commit order; it keeps the frontier
//!   with each head (`audit_frontier`) so a restart resumes from there.

pub mod merkle;
pub mod note;
pub mod publish;
pub mod verify;

use crate::store::cache::{self, Effect, RecordCache};
use crate::store::db::{Db, Dialect};
use crate::store::{queries, StoreError};
use merkle::{Frontier, Hash};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use uuid::Uuid;

/// What an event says. Names and ids only, never a personal value. The
/// serialised form (field order as declared, compact JSON) is the leaf data.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Event {
    /// Position in the log, from 0.
    pub seq: u64,
    /// Milliseconds since the epoch; never decreases along the log.
    pub time: i64,
    /// Hex of the previous event's leaf hash ("" for the first): a reordered
    /// or removed event breaks the link at the place it happened.
    pub prev: String,
    #[serde(flatten)]
    pub what: Draft,
}

/// An event before the log gives it a position.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Draft {
    /// The request id (also sent back as `x-request-id`).
    pub request: String,
    pub actor: Option<Uuid>,
    pub role: Option<String>,
    pub tenant: Option<Uuid>,
    /// e.g. `record.read`, `auth.login`, `audit.query`.
    pub action: String,
    /// `ok`, `denied`, `not_found`, `invalid`, `conflict`, `unauthenticated`, `error`.
    pub outcome: String,
    /// The client's address.
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<Uuid>,
    /// Names of the fields read or written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// A short note without personal data (e.g. which query, which filter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// An event's source as its query column: the address in its canonical
/// form, or "" when there is none (a local operator, a scheduled job).
/// A scope by address looks it up by this form of the address it is given.
pub fn source_column(source: Option<&str>) -> String {
    source.and_then(|s| s.parse::<std::net::IpAddr>().ok()).map(|ip| ip.to_string()).unwrap_or_default()
}

pub fn hex(b: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push(DIGITS[(x >> 4) as usize] as char);
        s.push(DIGITS[(x & 15) as usize] as char);
    }
    s
}

pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// The writer-side state of the log: its frontier and last leaf. Loaded
/// from the database on first use and after a failed commit.
#[derive(Default)]
pub struct Appender {
    state: Option<State>,
    /// The server's cache of records (PostgreSQL), which other servers'
    /// events taken in here drop from (`store::cache`).
    pub cache: Option<Arc<RecordCache>>,
    /// How this server's batches met other servers' (shared with the
    /// transaction hook and `/metrics`, which do not take this mutex).
    pub contention: Arc<Contention>,
}

/// PostgreSQL: how this server's audit batches met other servers'.
#[derive(Default)]
pub struct Contention {
    /// When this server last found another server's events in the log (ms
    /// on `since_start`; 0: never). While that is recent, a batch of events
    /// alone takes the trail's lock before it gathers them
    /// (`Appender::flush_locked`).
    seen: std::sync::atomic::AtomicU64,
    /// Pushes that went in as this server numbered them.
    pub as_numbered: std::sync::atomic::AtomicU64,
    /// Pushes the database numbered anew (another server had appended).
    pub renumbered: std::sync::atomic::AtomicU64,
    /// Batches of events alone that took the lock before gathering them.
    pub lock_first: std::sync::atomic::AtomicU64,
    /// Batches of creates committed without waiting for the disk, their
    /// flush awaited after the lock was let go (`service/placing.rs`).
    pub early_commits: std::sync::atomic::AtomicU64,
}

impl Contention {
    fn seen_now(&self) {
        self.seen.store(since_start(), std::sync::atomic::Ordering::Relaxed);
    }

    /// Another server's events were found within `CONTENDED_FOR_MS`.
    pub fn recent(&self) -> bool {
        let seen = self.seen.load(std::sync::atomic::Ordering::Relaxed);
        seen > 0 && since_start().saturating_sub(seen) < CONTENDED_FOR_MS
    }

    pub(crate) fn count(n: &std::sync::atomic::AtomicU64) {
        n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// How long after another server's events were last found a batch of
/// events alone keeps taking the trail's lock first.
const CONTENDED_FOR_MS: u64 = 1_000;

/// Milliseconds since this process first asked (at least 1).
fn since_start() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START.get_or_init(std::time::Instant::now).elapsed().as_millis() as u64 + 1
}

struct State {
    frontier: Frontier,
    last: Option<Hash>,
    last_time: i64,
    /// The root of every complete block of `merkle::BLOCK` events from
    /// block `blocks_start` on (blocks completed since the state was loaded).
    blocks: Vec<Hash>,
    blocks_start: usize,
}

/// What puts a `State` back to before a batch was numbered.
struct Saved {
    frontier: Frontier,
    blocks: usize,
    last: Option<Hash>,
    last_time: i64,
}

/// How far behind the log an appender's state may be and still push: beyond
/// that it first catches up a page at a time.
const MAX_BEHIND: i64 = 10_000;

/// An event's subject-index entry, if it names a subject.
fn subject_entry(ev: &Event) -> Option<queries::SubjectEntry> {
    ev.what.subject.map(|s| (ev.what.tenant.map(|t| t.to_string()).unwrap_or_default(), s.to_string(), ev.seq as i64))
}

/// Numbered events with their bodies and leaf hashes, as the INSERT takes them.
fn indexed(evs: &[Event], bodies: Vec<(Vec<u8>, Hash)>) -> Vec<(queries::AuditIndex<'_>, Vec<u8>, Hash)> {
    evs.iter()
        .zip(bodies)
        .map(|(ev, (body, leaf))| {
            let ix = queries::AuditIndex {
                seq: ev.seq as i64,
                time_ms: ev.time,
                tenant: ev.what.tenant,
                actor: ev.what.actor,
                action: &ev.what.action,
                subject: ev.what.subject,
                source: source_column(ev.what.source.as_deref()),
            };
            (ix, body, leaf)
        })
        .collect()
}

impl State {
    /// Gives the next event its position, time and link, and advances the
    /// frontier to include it (the subject index is the caller's).
    fn number(&mut self, what: Draft, now_ms: i64) -> Result<(Event, Vec<u8>, Hash), StoreError> {
        let ev = Event {
            seq: self.frontier.size(),
            time: now_ms.max(self.last_time),
            prev: self.last.map(|h| hex(&h)).unwrap_or_default(),
            what,
        };
        let body = serde_json::to_vec(&ev).map_err(|e| StoreError::Db(e.to_string()))?;
        let leaf = merkle::leaf_hash(&body);
        self.blocks.extend(self.frontier.push_block(leaf));
        self.last = Some(leaf);
        self.last_time = ev.time;
        Ok((ev, body, leaf))
    }

    /// Numbers `events` after this state as a push sends them, with what
    /// puts the state back should the database number them instead.
    fn number_batch<'e>(
        &mut self,
        events: &'e [(Draft, i64)],
    ) -> Result<(Vec<queries::PushEvent<'e>>, Saved), StoreError> {
        let saved = Saved {
            frontier: self.frontier.clone(),
            blocks: self.blocks.len(),
            last: self.last,
            last_time: self.last_time,
        };
        let mut batch = Vec::with_capacity(events.len());
        for (what, now_ms) in events {
            let (ev, body, leaf) = self.number(what.clone(), *now_ms)?;
            // The draft's JSON (without its brace) is the body after the event's own fields.
            let rest = body[own_fields(ev.seq as i64, ev.time, &ev.prev).len()..].to_vec();
            batch.push(queries::PushEvent {
                time_ms: ev.time,
                tenant: what.tenant,
                actor: what.actor,
                action: &what.action,
                subject: what.subject,
                source: source_column(what.source.as_deref()),
                rest,
                body,
                leaf,
            });
        }
        Ok((batch, saved))
    }

    /// Puts the state back to before `number_batch`.
    fn restore(&mut self, s: Saved) {
        self.frontier = s.frontier;
        self.blocks.truncate(s.blocks);
        self.last = s.last;
        self.last_time = s.last_time;
    }

    /// Takes in the events other servers appended since this state's last
    /// one (one query when there are none). `false` when the database does
    /// not continue this state (its last event is gone or different: a
    /// rolled-back batch, a restore): the caller reloads.
    /// The first read also takes the audit trail's lock, as `lock` says.
    fn catch_up(
        &mut self,
        db: &mut dyn Db,
        cache: Option<&RecordCache>,
        lock: queries::TailLock,
    ) -> Result<bool, StoreError> {
        let mut lock = lock;
        loop {
            let size = self.frontier.size() as i64;
            let rows = queries::audit_tail(db, (size - 1).max(0), 10_000, lock)?;
            lock = queries::TailLock::No;
            match self.take_in(rows, 0, cache)? {
                None => return Ok(false),
                Some(n) if n < 9_999 => return Ok(true),
                Some(_) => {}
            }
        }
    }

    /// Takes in events read from the log from this state's last event on
    /// (from the first if it has none); the last `own` are this server's,
    /// the others drop from `cache` what they changed. `None`: the log
    /// does not continue this state; else how many events were new.
    fn take_in(
        &mut self,
        rows: Vec<queries::TailRow>,
        own: usize,
        cache: Option<&RecordCache>,
    ) -> Result<Option<usize>, StoreError> {
        let size = self.frontier.size() as i64;
        if let Some(c) = cache {
            let foreign = rows.len().saturating_sub(own);
            c.discard(
                rows[..foreign]
                    .iter()
                    .filter(|r| r.seq >= size)
                    .filter_map(|r| cache::effect_of_row(&r.action, &r.tenant, r.subject.as_deref())),
            );
        }
        let mut rows = rows.into_iter();
        if size > 0 {
            match rows.next() {
                Some(r) if r.seq == size - 1 && Some(r.leaf_hash.as_slice()) == self.last.as_ref().map(|h| &h[..]) => {}
                _ => return Ok(None),
            }
        }
        let mut n = 0;
        for r in rows {
            if r.seq != self.frontier.size() as i64 {
                return Err(StoreError::Corrupt(format!("audit event {} is missing", self.frontier.size())));
            }
            let h: Hash = r
                .leaf_hash
                .try_into()
                .map_err(|_| StoreError::Corrupt(format!("audit event {}: bad leaf hash", r.seq)))?;
            self.blocks.extend(self.frontier.push_block(h));
            self.last = Some(h);
            self.last_time = self.last_time.max(r.time_ms);
            n += 1;
        }
        Ok(Some(n))
    }
}

thread_local! {
    /// Events of the write transaction open on this (writer) thread, in the
    /// order their jobs ran: given their seq, written and linked just before
    /// the transaction commits (`Appender::flush`).
    static DEFERRED: std::cell::RefCell<Vec<(Draft, i64)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Appends an event to the write transaction of the job running on this
/// thread: it commits with that job's batch or not at all. The event gets
/// its position when the batch is about to commit, so that every server
/// sharing the database takes the audit trail's lock only for that moment.
pub fn append(what: Draft, now_ms: i64) {
    DEFERRED.with(|d| d.borrow_mut().push((what, now_ms)));
}

/// How many events the open transaction on this thread holds so far.
pub fn deferred_mark() -> usize {
    DEFERRED.with(|d| d.borrow().len())
}

/// Drops the events appended since `mark` (their job was rolled back).
pub fn deferred_undo(mark: usize) {
    DEFERRED.with(|d| d.borrow_mut().truncate(mark));
}

fn take_deferred() -> Vec<(Draft, i64)> {
    DEFERRED.with(|d| std::mem::take(&mut *d.borrow_mut()))
}

thread_local! {
    /// What the events of the batch committing on this (writer) thread drop
    /// from the cache of records: begun before the commit, ended after it.
    static BEGUN: std::cell::RefCell<Vec<Effect>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// What `events` change, as the cache of records sees it.
fn effects(events: &[(Draft, i64)]) -> Vec<Effect> {
    let mut out: Vec<Effect> = Vec::new();
    for e in events.iter().filter_map(|(d, _)| cache::effect(&d.action, d.tenant, d.subject)) {
        if !out.contains(&e) {
            out.push(e);
        }
    }
    out
}

/// Begins, in `cache`, the changes `events` commit with this thread's batch
/// (ended by `TxHook::finished`).
fn begin_changes(cache: Option<&RecordCache>, events: &[(Draft, i64)]) {
    if let Some(c) = cache {
        let e = effects(events);
        c.begin(&e);
        BEGUN.with(|b| b.borrow_mut().extend(e));
    }
}

/// The store's transaction hook for the audit trail: events wait in the
/// transaction (`append`), are written at its end, and a rollback forgets
/// them and the appender's state.
pub struct TxHook {
    appender: Arc<std::sync::Mutex<Appender>>,
    cache: Option<Arc<RecordCache>>,
    /// The appender's, read without its mutex (which a writer waiting at
    /// the database for the trail's lock holds).
    contention: Arc<Contention>,
}

impl TxHook {
    pub fn new(appender: Arc<std::sync::Mutex<Appender>>, cache: Option<Arc<RecordCache>>) -> TxHook {
        let contention = appender.lock().unwrap_or_else(|e| e.into_inner()).contention.clone();
        TxHook { appender, cache, contention }
    }
}

impl crate::store::TxHook for TxHook {
    fn mark(&self) -> usize {
        deferred_mark()
    }
    fn undo(&self, mark: usize) {
        deferred_undo(mark)
    }
    fn before_commit(&self, db: &mut dyn Db) -> Result<bool, StoreError> {
        let events = take_deferred();
        if events.is_empty() {
            return Ok(false);
        }
        begin_changes(self.cache.as_deref(), &events);
        Appender::flush(&self.appender, db, events).map(|()| true)
    }
    fn flush_alone(&self, db: &mut dyn Db) -> Result<bool, StoreError> {
        let events = take_deferred();
        if events.is_empty() {
            return Ok(true);
        }
        // Autocommit: the changes end with the call.
        let changes = self.cache.as_ref().map(|c| (c, effects(&events)));
        if let Some((c, e)) = &changes {
            c.begin(e);
        }
        let done = Appender::flush_alone(&self.appender, db, &events);
        if let Some((c, e)) = &changes {
            c.end(e);
        }
        match done {
            Ok(true) => Ok(true),
            r => {
                // Not written: the transactional flush takes them.
                DEFERRED.with(|d| *d.borrow_mut() = events);
                r
            }
        }
    }
    fn rolled_back(&self) {
        take_deferred();
        self.appender.lock().unwrap_or_else(|e| e.into_inner()).invalidate();
    }
    fn finished(&self) {
        let begun = BEGUN.with(|b| std::mem::take(&mut *b.borrow_mut()));
        if let Some(c) = &self.cache {
            c.end(&begun);
        }
    }
    fn contended(&self) -> bool {
        self.contention.recent()
    }
    fn flush_locked(&self, db: &mut dyn Db, job: &mut dyn FnMut()) -> Result<(), StoreError> {
        let r = Appender::flush_locked(&self.appender, db, job);
        self.finished();
        r
    }
}

impl Appender {
    /// Forgets the in-memory state; the next append reloads it.
    pub fn invalidate(&mut self) {
        self.state = None;
    }

    /// Gives positions to `events` and writes them, inside the caller's
    /// transaction: it commits with the batch or not at all. On PostgreSQL
    /// one call (`push`) takes the audit trail's lock (held to the end of
    /// the transaction, so seq order is commit order across servers),
    /// numbers the events after what every server appended and inserts
    /// them. On SQLite the write transaction is already exclusive. Jobs do
    /// not take the appender's mutex (their events wait in the
    /// transaction), so a writer waiting here for another server's commit
    /// holds up no job.
    pub fn flush(
        me: &std::sync::Mutex<Appender>,
        db: &mut dyn Db,
        events: Vec<(Draft, i64)>,
    ) -> Result<(), StoreError> {
        let mut ap = me.lock().unwrap_or_else(|e| e.into_inner());
        let r = match db.dialect() {
            Dialect::Postgres => ap.push(db, &events),
            Dialect::Sqlite => ap.write(db, events),
        };
        if r.is_err() {
            // Part of it may be in memory only: reload at the next batch.
            ap.invalidate();
        }
        r
    }

    /// PostgreSQL, a batch of events alone (no data change with them): the
    /// same one call as `flush`, in autocommit instead of a transaction.
    /// `Ok(false)` (never on PostgreSQL): the caller opens a transaction.
    pub fn flush_alone(
        me: &std::sync::Mutex<Appender>,
        db: &mut dyn Db,
        events: &[(Draft, i64)],
    ) -> Result<bool, StoreError> {
        if db.dialect() != Dialect::Postgres {
            return Ok(false);
        }
        let mut ap = me.lock().unwrap_or_else(|e| e.into_inner());
        let r = ap.push(db, events).map(|()| true);
        if r.is_err() {
            ap.invalidate();
        }
        r
    }

    /// PostgreSQL, a batch of events alone while other servers append too:
    /// takes the trail's lock and catches up first, and only then runs
    /// `job`, which hands over the events waiting by now (`append`): all
    /// that gathered while this server waited for the lock, where a push
    /// sent at once would carry only those waiting before it, and behind
    /// every other server's push the database would number its events
    /// anew. Then the push goes as numbered. Autocommit calls: the lock is
    /// held for the session from the first (`TailLock::Session`) and let go
    /// by the push at its commit, which does not wait for the disk; a third
    /// waits for that outside the lock (migration 0026). `job` runs in every
    /// case (on an error its events are dropped).
    pub fn flush_locked(
        me: &std::sync::Mutex<Appender>,
        db: &mut dyn Db,
        job: &mut dyn FnMut(),
    ) -> Result<(), StoreError> {
        let mut ap = me.lock().unwrap_or_else(|e| e.into_inner());
        let before = ap.state.as_ref().map(|st| st.frontier.size());
        let held = ap.current_with(db, queries::TailLock::Session).map(|st| st.frontier.size());
        if let (Some(b), Ok(after)) = (before, &held) {
            if *after > b {
                ap.contention.seen_now();
            }
        }
        Contention::count(&ap.contention.lock_first);
        job();
        let events = take_deferred();
        let r = held.and_then(|_| {
            if events.is_empty() {
                return queries::release_audit(db);
            }
            begin_changes(ap.cache.as_deref(), &events);
            let st = ap.state.as_mut().expect("loaded above");
            let (size, last) = (st.frontier.size() as i64, st.last);
            let (batch, saved) = st.number_batch(&events)?;
            let pushed = queries::audit_push(db, size, last.as_ref().map(|h| &h[..]), MAX_BEHIND, &batch, true)?;
            if !ap.settle(pushed, &batch, saved)? {
                return Err(StoreError::Corrupt("the audit trail refused a push made with its lock held".into()));
            }
            // Committed without waiting for the disk: wait here, with the
            // lock already let go.
            queries::audit_flushed(db)
        });
        if r.is_err() {
            // The hold may outlive the failed call: let it go (a broken
            // connection let it go already).
            let _ = queries::release_audit(db);
            ap.invalidate();
        }
        r
    }

    /// PostgreSQL: `events` numbered, linked and inserted by the database
    /// after the log's real end (`queries::audit_push`), whoever appended
    /// last; the state takes in the log from its last event on, its own
    /// events included, after checking that the database built each of
    /// their bodies and leaf hashes exactly as `State::number` would.
    fn push(&mut self, db: &mut dyn Db, events: &[(Draft, i64)]) -> Result<(), StoreError> {
        if self.state.is_none() {
            self.state(db)?;
        }
        for _ in 0..4 {
            let st = self.state.as_mut().expect("loaded above");
            let (size, last) = (st.frontier.size() as i64, st.last);
            let (batch, saved) = st.number_batch(events)?;
            let pushed = queries::audit_push(db, size, last.as_ref().map(|h| &h[..]), MAX_BEHIND, &batch, false)?;
            if self.settle(pushed, &batch, saved)? {
                return Ok(());
            }
            let st = self.state.as_mut().expect("kept");
            if !st.catch_up(db, self.cache.as_deref(), queries::TailLock::Transaction)? {
                self.state = None;
                self.state(db)?;
            }
        }
        Err(StoreError::Unavailable("the audit trail grows faster than this server can catch up".into()))
    }

    /// PostgreSQL: numbers `events` as `flush` does and gives them to
    /// `call`, which sends them in one statement with other work
    /// (`queries::place_records_audited`: the records they are the events
    /// of) and answers its result, what the push did if it pushed, and
    /// which of the events it sent if not all (those the database then
    /// numbered anew). `Ok((r, false))`: nothing was appended and the
    /// state is as before.
    pub fn push_with<R>(
        me: &std::sync::Mutex<Appender>,
        db: &mut dyn Db,
        events: &[(Draft, i64)],
        call: impl FnOnce(
            &mut dyn Db,
            i64,
            Option<&[u8]>,
            i64,
            &[queries::PushEvent],
        ) -> Result<queries::WithPush<R>, StoreError>,
    ) -> Result<(R, bool), StoreError> {
        let mut ap = me.lock().unwrap_or_else(|e| e.into_inner());
        let numbered = || {
            if ap.state.is_none() {
                ap.state(db)?;
            }
            // Before the call, which may commit (in autocommit): until the
            // writer's `TxHook::finished`, the cache keeps nothing the
            // events name (as `TxHook::before_commit` does for its events).
            begin_changes(ap.cache.as_deref(), events);
            let st = ap.state.as_mut().expect("loaded above");
            let (size, last) = (st.frontier.size() as i64, st.last);
            let (batch, saved) = st.number_batch(events)?;
            let (r, pushed, sent) = call(db, size, last.as_ref().map(|h| &h[..]), MAX_BEHIND, &batch)?;
            let done = match (pushed, sent) {
                (Some(p), None) => ap.settle(p, &batch, saved)?,
                (Some(queries::Pushed::Renumbered(rows)), Some(sent)) => {
                    let sent: Vec<_> = sent.iter().map(|i| batch[*i].clone()).collect();
                    ap.settle(queries::Pushed::Renumbered(rows), &sent, saved)?
                }
                (Some(_), Some(_)) => {
                    return Err(StoreError::Corrupt("some of the events were appended as numbered for all".into()))
                }
                (None, _) => {
                    ap.state.as_mut().expect("numbered from it").restore(saved);
                    false
                }
            };
            Ok((r, done))
        };
        let r = numbered();
        if r.is_err() {
            ap.invalidate();
        }
        r
    }

    /// The state after a push of `batch`, numbered from `saved`: as sent,
    /// or put back and then taken in from what the database numbered.
    /// `false`: nothing was inserted (the state is too far behind), and the
    /// state is as before.
    fn settle(
        &mut self,
        pushed: queries::Pushed,
        batch: &[queries::PushEvent],
        saved: Saved,
    ) -> Result<bool, StoreError> {
        let st = self.state.as_mut().expect("numbered from it");
        if matches!(pushed, queries::Pushed::AsSent) {
            Contention::count(&self.contention.as_numbered);
            return Ok(true);
        }
        st.restore(saved);
        let queries::Pushed::Renumbered(rows) = pushed else { return Ok(false) };
        check_pushed(&rows, batch)?;
        let taken = st.take_in(rows, batch.len(), self.cache.as_deref())?;
        Contention::count(&self.contention.renumbered);
        if taken.is_some_and(|n| n > batch.len()) {
            // Another server appended since this one's last batch.
            self.contention.seen_now();
        }
        if taken.is_none() {
            // The log does not continue this state (a restore, a
            // rolled-back batch): the events are in the log all the same.
            tracing::warn!("the audit log changed under this server's appender; reloading its state");
            self.state = None;
        }
        Ok(true)
    }

    /// Writes the events this thread's transaction holds, then returns the
    /// size and root of the log, keeping the frontier at that size so a
    /// restart can start from it. Runs as a writer job that ends its batch
    /// (`Store::write_last`): the audit trail's lock is then held only
    /// until that batch commits.
    pub fn head(me: &std::sync::Mutex<Appender>, db: &mut dyn Db) -> Result<(u64, Hash), StoreError> {
        let mut ap = me.lock().unwrap_or_else(|e| e.into_inner());
        let events = take_deferred();
        begin_changes(ap.cache.as_deref(), &events);
        let r = ap.write(db, events).and_then(|()| {
            let st = ap.state.as_mut().ok_or_else(|| StoreError::Db("audit state not loaded".into()))?;
            let (size, root) = (st.frontier.size(), st.frontier.root());
            if size > 0 {
                queries::insert_audit_frontier(db, size as i64, &st.frontier.to_bytes())?;
            }
            Ok((size, root))
        });
        if r.is_err() {
            ap.invalidate();
        }
        r
    }

    /// With the lock held: the state, current with the database.
    fn current(&mut self, db: &mut dyn Db) -> Result<&mut State, StoreError> {
        self.current_with(db, queries::TailLock::Transaction)
    }

    /// Takes the trail's lock as `lock` says and brings the state up to
    /// the log's end.
    fn current_with(&mut self, db: &mut dyn Db, lock: queries::TailLock) -> Result<&mut State, StoreError> {
        if let Some(st) = self.state.as_mut() {
            if st.catch_up(db, self.cache.as_deref(), lock)? {
                return Ok(self.state.as_mut().expect("kept"));
            }
            tracing::warn!("the audit log changed under this server's appender; reloading its state");
            self.state = None;
        } else if lock == queries::TailLock::Session {
            queries::audit_tail(db, 0, 0, lock)?;
        } else {
            queries::lock_audit(db)?;
        }
        self.state(db)
    }

    fn state(&mut self, db: &mut dyn Db) -> Result<&mut State, StoreError> {
        if self.state.is_none() {
            let last = queries::audit_last(db)?;
            let end = last.as_ref().map_or(0, |l| l.0 + 1);
            // Start from the latest kept frontier (written with each tree
            // head), or from the first event; then read the leaves after it.
            let mut frontier = Frontier::default();
            let mut prev = None;
            if let Some((size, bytes)) = queries::latest_audit_frontier(db, end)? {
                frontier = Frontier::from_bytes(size as u64, &bytes)
                    .ok_or_else(|| StoreError::Corrupt(format!("audit frontier at {size} is malformed")))?;
                if size > 0 {
                    let h = queries::audit_leaf_hashes(db, size - 1, size)?;
                    let (_, h) =
                        h.first().ok_or_else(|| StoreError::Corrupt(format!("audit event {} is missing", size - 1)))?;
                    prev = Some(
                        h.clone()
                            .try_into()
                            .map_err(|_| StoreError::Corrupt(format!("audit event {}: bad leaf hash", size - 1)))?,
                    );
                }
            }
            let start = frontier.size() as i64;
            let blocks_start = start as usize / merkle::BLOCK;
            let mut blocks = Vec::new();
            let mut from = start;
            while from < end {
                let to = (from + 100_000).min(end);
                for (seq, h) in queries::audit_leaf_hashes(db, from, to)? {
                    let h: Hash =
                        h.try_into().map_err(|_| StoreError::Corrupt(format!("audit event {seq}: bad leaf hash")))?;
                    if seq as u64 != frontier.size() {
                        return Err(StoreError::Corrupt(format!("audit event {} is missing", frontier.size())));
                    }
                    blocks.extend(frontier.push_block(h));
                    prev = Some(h);
                }
                from = to;
            }
            tracing::info!(events = end, read = end - start, "audit log state loaded");
            // What changed while no state was kept is not known.
            if let Some(c) = &self.cache {
                c.discard([Effect::All]);
            }
            self.state = Some(State { frontier, last: prev, last_time: last.map_or(0, |l| l.1), blocks, blocks_start });
        }
        Ok(self.state.as_mut().expect("just loaded"))
    }

    /// Numbers, links and inserts `events` (the lock is held).
    fn write(&mut self, db: &mut dyn Db, events: Vec<(Draft, i64)>) -> Result<(), StoreError> {
        let st = self.current(db)?;
        let mut rows = Vec::with_capacity(events.len());
        let mut bodies = Vec::with_capacity(events.len());
        for (what, now_ms) in events {
            let (ev, body, leaf) = st.number(what, now_ms)?;
            bodies.push((body, leaf));
            rows.push(ev);
        }
        queries::insert_audit_events(db, &indexed(&rows, bodies))?;
        // The subject index: each event's entry with it, in its run.
        let entries: Vec<_> = rows.iter().filter_map(subject_entry).collect();
        for run in entries.chunk_by(|a, b| a.2 / queries::SUBJECT_RUN == b.2 / queries::SUBJECT_RUN) {
            queries::insert_subject_run(db, run[0].2 / queries::SUBJECT_RUN, run)?;
        }
        Ok(())
    }

    /// The roots of the first `count` complete blocks, if the state is
    /// loaded and has them (else the caller reads them from the database).
    pub fn block_roots(&self, count: usize) -> Option<Vec<Hash>> {
        let st = self.state.as_ref().filter(|st| st.blocks_start == 0)?;
        st.blocks.get(..count).map(<[Hash]>::to_vec)
    }

    /// Takes block roots read from the database for the blocks before the
    /// point the state was loaded from, so later proofs need not read them.
    pub fn fill_block_roots(&mut self, roots: &[Hash]) {
        if let Some(st) = self.state.as_mut() {
            if st.blocks_start > 0 && roots.len() >= st.blocks_start {
                let mut all = roots[..st.blocks_start].to_vec();
                all.append(&mut st.blocks);
                st.blocks = all;
                st.blocks_start = 0;
            }
        }
    }
}

/// The body of an event at `seq` with `time` after the leaf `prev`, given
/// its draft's JSON without the opening brace: what `State::number`
/// serialises (`Event`'s own fields first, then the draft's).
fn body_of(seq: i64, time: i64, prev: Option<&[u8]>, rest: &[u8]) -> Vec<u8> {
    let mut body = own_fields(seq, time, &prev.map(hex).unwrap_or_default()).into_bytes();
    body.extend_from_slice(rest);
    body
}

/// The start of an event's body: its own fields, before the draft's.
fn own_fields(seq: i64, time: i64, prev_hex: &str) -> String {
    format!("{{\"seq\":{seq},\"time\":{time},\"prev\":\"{prev_hex}\",")
}

/// Checks the last `batch.len()` rows of a push (the caller's events, as
/// the database numbered them): each leaf hash is that of the body varuh
/// itself would have written at that place.
fn check_pushed(rows: &[queries::TailRow], batch: &[queries::PushEvent]) -> Result<(), StoreError> {
    let start = rows
        .len()
        .checked_sub(batch.len())
        .ok_or_else(|| StoreError::Corrupt("the audit trail returned fewer events than it was given".into()))?;
    for (i, e) in batch.iter().enumerate() {
        let k = start + i;
        let prev = if k == 0 { None } else { Some(rows[k - 1].leaf_hash.as_slice()) };
        if k == 0 && rows[k].seq != 0 {
            return Err(StoreError::Corrupt(format!("audit event {}: its link was not returned", rows[k].seq)));
        }
        let leaf = merkle::leaf_hash(&body_of(rows[k].seq, rows[k].time_ms, prev, &e.rest));
        if rows[k].leaf_hash != leaf {
            return Err(StoreError::Corrupt(format!("audit event {}: the database built another body", rows[k].seq)));
        }
    }
    Ok(())
}

/// The number of events stored.
pub fn stored_size(db: &mut dyn Db) -> Result<u64, StoreError> {
    Ok(queries::audit_last(db)?.map_or(0, |l| l.0 as u64 + 1))
}

/// The leaf hashes of block `b`, up to event `size` (exclusive).
pub fn block_leaves(db: &mut dyn Db, b: usize, size: u64) -> Result<Vec<Hash>, StoreError> {
    let from = (b * merkle::BLOCK) as i64;
    let to = (((b + 1) * merkle::BLOCK) as u64).min(size) as i64;
    let mut out = Vec::with_capacity((to - from).max(0) as usize);
    for (seq, h) in queries::audit_leaf_hashes(db, from, to)? {
        if seq != from + out.len() as i64 {
            return Err(StoreError::Corrupt(format!("audit event {} is missing", from + out.len() as i64)));
        }
        out.push(h.try_into().map_err(|_| StoreError::Corrupt(format!("audit event {seq}: bad leaf hash")))?);
    }
    if out.len() as i64 != to - from {
        return Err(StoreError::NotFound);
    }
    Ok(out)
}

/// The roots of the first `count` complete blocks, from the stored leaves
/// (when the appender has not loaded them yet).
pub fn block_roots(db: &mut dyn Db, count: usize) -> Result<Vec<Hash>, StoreError> {
    (0..count).map(|b| Ok(merkle::root(&block_leaves(db, b, u64::MAX)?))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `varuh_audit_push` builds in the database is what varuh writes.
    #[test]
    fn a_pushed_body_is_the_serialised_event() {
        let what = Draft {
            request: "r-\"1\"".into(),
            actor: Some(Uuid::new_v4()),
            tenant: Some(Uuid::new_v4()),
            action: "record.read".into(),
            outcome: "ok".into(),
            subject: Some(Uuid::new_v4()),
            fields: vec!["email".into(), "naslov ulica".into()],
            detail: Some("č=1".into()),
            ..Draft::default()
        };
        let rest = serde_json::to_vec(&what).unwrap()[1..].to_vec();
        for (seq, prev) in [(0u64, None), (41, Some([7u8; 32]))] {
            let ev = Event {
                seq,
                time: 1_700_000_000_123,
                prev: prev.map(|h| hex(&h)).unwrap_or_default(),
                what: what.clone(),
            };
            let body = body_of(seq as i64, ev.time, prev.as_ref().map(|h| &h[..]), &rest);
            assert_eq!(body, serde_json::to_vec(&ev).unwrap());
        }
    }
}

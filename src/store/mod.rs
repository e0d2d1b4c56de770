//! Persistence behind one API, on SQLite (embedded default) or PostgreSQL.
//!
//! Shape: one writer thread owns the write connection and applies jobs in
//! batches (group commit): it drains what is pending, runs each job inside
//! its own savepoint in one transaction, commits (one flush), and only then
//! answers every job. A failing job rolls back to its savepoint and fails
//! alone. On SQLite, reads run in place on the caller's thread with a pooled
//! read-only connection (long scans on a blocking thread, `read_long`); on
//! PostgreSQL, on a small pool of reader threads with their own connections. Jobs are closures over `&mut dyn Db`, calling the typed
//! functions of `queries`; the store knows nothing of permissions or keys.

pub(crate) mod batch;
pub mod cache;
pub mod db;
pub mod postgres;
pub mod queries;
mod sqlite;

use db::{Db, Dialect};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use tokio::sync::oneshot;

/// Errors of the store. Messages come from the database driver and never
/// contain parameter values (varuh binds every value as a parameter).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("a row with this key already exists")]
    Conflict,
    #[error("not found")]
    NotFound,
    #[error("the row was changed by someone else")]
    Stale,
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Db(String),
    #[error("stored data is not as expected: {0}")]
    Corrupt(String),
    /// A job found that it must act on another row (this id) and wrote
    /// nothing; the caller redoes it there.
    #[error("the job must be redone against another row")]
    Elsewhere(uuid::Uuid),
    /// Another transaction holds a lock the job needs; nothing was written
    /// and the caller may retry once that transaction has committed.
    #[error("busy: another write holds this row; try again")]
    Busy,
}

/// What a write answers while the database's disk is full (SQLite's
/// `SQLITE_FULL`, PostgreSQL's 53100): nothing was written, and it
/// succeeds again by itself once there is space. Reads of personal data
/// fail too while their audit events cannot be written (fail closed).
pub const DISK_FULL: &str =
    "the store's disk is full: nothing was written; writes (and audited reads) succeed again once space is freed";

/// SQLite read-only connections used in place by `read`, `read_latest`
/// and `read_long`.
type ReaderPool = std::sync::Arc<std::sync::Mutex<Vec<Reader>>>;

/// A pooled SQLite reader. SQLite drops a connection's whole page cache at
/// the start of any read transaction that follows a commit by another
/// connection, and with every read audited there is a commit every few
/// hundred microseconds: each read would fetch its B-tree pages again. So a
/// reader keeps its read transaction (a snapshot, with its warm cache) open
/// across `read` calls for as long as no vault data has changed (`vault_gen`,
/// bumped by the writer when a batch changed anything but the audit trail)
/// and for at most `SNAPSHOT_MAX_AGE`.
struct Reader {
    db: Box<dyn Db>,
    /// The vault generation and start of the open read transaction.
    snapshot: Option<(u64, std::time::Instant)>,
}

impl Reader {
    /// Ends the open read transaction, if any.
    fn end(&mut self) {
        if self.snapshot.take().is_some() {
            if let Err(e) = self.db.control("COMMIT") {
                tracing::warn!(error = %e, "ending a read snapshot failed");
            }
        }
    }
}

/// Taken shared by every `read` for as long as it holds a pooled reader,
/// and exclusively by the writer when it finishes a checkpoint (see
/// `writer_loop`): SQLite restarts the WAL from its beginning only when no
/// reader holds a snapshot older than the last checkpoint, and readers that
/// keep their snapshots always would.
type Gate = std::sync::Arc<std::sync::RwLock<()>>;

/// How long a reader may keep one snapshot: readers' open snapshots hold
/// back the WAL checkpoint.
const SNAPSHOT_MAX_AGE: std::time::Duration = std::time::Duration::from_millis(100);

/// Called once a job's batch is durable (`Ok`) or has failed.
pub(crate) type Reply = Box<dyn FnOnce(Result<(), String>) + Send>;
/// A job: runs in its own savepoint (rolled back unless it says `true`) and
/// hands back what to call when its batch is durable.
pub(crate) type WriteJob = Box<dyn FnOnce(&mut dyn Db) -> (bool, Reply) + Send>;
type ReadJob = Box<dyn FnOnce(&mut dyn Db) + Send>;

/// Where the data lives, parsed from `database_url`.
#[derive(Debug, Clone)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Location {
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        if let Some(p) = url.strip_prefix("sqlite://") {
            Ok(Location::Sqlite(PathBuf::from(p)))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Location::Postgres(url.to_string()))
        } else {
            Err(StoreError::Unavailable("database_url must start with sqlite:// or postgres://".into()))
        }
    }
}

/// How often the checkpoint thread copies the SQLite WAL into the database.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(1000);

/// Largest number of jobs committed together.
const MAX_BATCH: usize = 512;

pub struct Store {
    /// The writers' queue. Only the store holds it strongly (`WholeJobs`
    /// holds it weakly), so that `close` ends the writers.
    writer: Option<std::sync::Arc<crossbeam_channel::Sender<Queued>>>,
    /// PostgreSQL: the audit writer's queue, for events alone (`submit_events`).
    events: Option<crossbeam_channel::Sender<Queued>>,
    readers: Option<crossbeam_channel::Sender<ReadJob>>,
    /// SQLite: reader connections used in place, on the caller's thread.
    pool: Option<ReaderPool>,
    location: Location,
    checkpoint: Option<crossbeam_channel::Sender<()>>,
    /// SQLite: an erasure committed since the last WAL truncation.
    erased: std::sync::Arc<std::sync::atomic::AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    dialect: Dialect,
    hook: Hook,
    /// Bumped by the writer after each commit that changed vault data.
    vault_gen: std::sync::Arc<std::sync::atomic::AtomicU64>,
    gate: Gate,
}

/// Queues raw `Kind::Alone` jobs (`Store::whole_jobs`); fails once the
/// store is closed.
#[derive(Clone)]
pub(crate) struct WholeJobs(std::sync::Weak<crossbeam_channel::Sender<Queued>>);

impl WholeJobs {
    pub(crate) fn submit(&self, job: WriteJob) -> Result<(), StoreError> {
        let q = self.0.upgrade().ok_or_else(|| StoreError::Unavailable("store is closed".into()))?;
        q.send((job, Kind::Alone)).map_err(|_| StoreError::Unavailable("writer stopped".into()))
    }
}

/// A queued write: the job and its kind.
type Queued = (WriteJob, Kind);

/// What a queued job is to the writer.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// May change vault data (readers take a new snapshot after it).
    Data,
    /// Changes no vault data a reader waits for (the audit queue's job, a
    /// session's last use); may run late: arriving while a flush is in
    /// flight, it waits to run just before the next commit, so it gathers
    /// every event that came in meanwhile (one job, one savepoint, and no
    /// more wake-ups of the writer until it has run).
    Late,
    /// Ends its batch: the batch commits right after it (a tree head, which
    /// takes the audit trail's lock: held only until that commit).
    Last,
    /// Like `Late`, and it does not touch the database (it only hands
    /// events to the transaction hook): no savepoint around it.
    Events,
    /// Like `Data`; on PostgreSQL its one statement writes all or nothing
    /// and never aborts the transaction (a function with its own exception
    /// block), so it runs without a savepoint: two round trips fewer.
    Whole,
    /// Like `Whole`, and its one statement may commit by itself: with no
    /// transaction open it runs in autocommit and answers at once (one
    /// round trip); else the batch commits right after it. A call placing
    /// many records: what waits behind it goes to the next batch, on
    /// whichever writer is free, instead of holding up its commit.
    Alone,
}

/// What the writer tells the layer above about its transactions: the audit
/// trail keeps its events in the open transaction and writes them just
/// before it commits (so that, with several servers on one database, its
/// lock is held only from there to the commit). Called on writer threads.
pub trait TxHook: Send + Sync {
    /// Before each job: a mark of what the job may add.
    fn mark(&self) -> usize;
    /// The job failed (its savepoint is rolled back): forget what it added.
    fn undo(&self, mark: usize);
    /// The batch is about to commit; an error rolls the whole batch back.
    /// `Ok(true)`: it ran a statement (which an aborted transaction fails).
    fn before_commit(&self, db: &mut dyn Db) -> Result<bool, StoreError>;
    /// The batch was rolled back (its commit or `before_commit` failed).
    fn rolled_back(&self);
    /// The batch's commit is over, whatever its outcome (after
    /// `rolled_back` when it failed), before any of its jobs is answered.
    fn finished(&self) {}
    /// PostgreSQL, a batch that is only `Kind::Events` jobs and opened no
    /// transaction: write what they handed over on its own (autocommit).
    /// `Ok(false)`: not done; the writer opens a transaction and commits.
    fn flush_alone(&self, _db: &mut dyn Db) -> Result<bool, StoreError> {
        Ok(false)
    }
    /// PostgreSQL: other servers append to the audit trail too, so a batch
    /// of events alone goes through `flush_locked` instead.
    fn contended(&self) -> bool {
        false
    }
    /// PostgreSQL, a batch of events alone: in its own transaction, takes
    /// the audit trail's lock, then runs `job` (which hands over events),
    /// writes them and commits. `job` runs whatever happens.
    fn flush_locked(&self, _db: &mut dyn Db, job: &mut dyn FnMut()) -> Result<(), StoreError> {
        job();
        Err(StoreError::Unavailable("this store cannot write events on their own".into()))
    }
}

type Hook = std::sync::Arc<std::sync::RwLock<Option<std::sync::Arc<dyn TxHook>>>>;

fn hook_of(h: &Hook) -> Option<std::sync::Arc<dyn TxHook>> {
    h.read().unwrap_or_else(|e| e.into_inner()).clone()
}

impl Store {
    /// Opens the store and brings its schema up to date. `create` allows a
    /// new SQLite file (only `varuh init` and first start pass it): a
    /// mistyped path must not silently create an empty store.
    /// `writers` is the number of writer connections on PostgreSQL (each
    /// runs its own batches; PostgreSQL groups their commits); SQLite has one.
    pub fn open(location: &Location, create: bool, readers: usize, writers: usize) -> Result<Store, StoreError> {
        let target = match location {
            Location::Postgres(url) => Some(postgres::Target::parse(url)?),
            Location::Sqlite(_) => None,
        };
        let connect = |create: bool| -> Result<Box<dyn Db>, StoreError> {
            Ok(match (location, &target) {
                (Location::Postgres(_), Some(t)) => Box::new(postgres::Postgres::connect(t)?),
                (Location::Sqlite(p), _) => Box::new(sqlite::Sqlite::open(p, create)?),
                (Location::Postgres(_), None) => unreachable!("parsed above"),
            })
        };
        let mut w = connect(create)?;
        migrate(w.as_mut())?;
        let dialect = w.dialect();
        let mut threads = Vec::new();
        let mut pool: Option<ReaderPool> = None;
        if dialect == Dialect::Sqlite {
            // A SQLite read takes microseconds: handing it to a reader thread
            // and back costs more than the read. Reads run in place, each on
            // a pooled connection.
            let mut conns = Vec::new();
            for _ in 0..readers.max(1) {
                conns.push(Reader { db: sqlite_reader(location)?, snapshot: None });
            }
            pool = Some(std::sync::Arc::new(std::sync::Mutex::new(conns)));
        }
        let (ctx, crx) = crossbeam_channel::bounded::<()>(0);
        let checkpointed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let erased = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        if let (Dialect::Sqlite, Location::Sqlite(path)) = (dialect, location) {
            // Checkpoints copy the WAL into the database file. Done on their
            // own connection, beside the writer, so that a commit never waits
            // for one (SQLite would otherwise run them inside a commit).
            w.batch("PRAGMA wal_autocheckpoint=0;")?;
            let mut ck = sqlite::Sqlite::open(path, false)?;
            let done = checkpointed.clone();
            let idle = pool.clone();
            let purge = erased.clone();
            threads.push(
                std::thread::Builder::new()
                    .name("varuh-checkpoint".into())
                    .spawn(move || loop {
                        match crx.recv_timeout(CHECKPOINT_EVERY) {
                            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                                // Idle readers' snapshots would keep the
                                // checkpoint from reaching the WAL's end.
                                if let Some(p) = &idle {
                                    p.lock().unwrap_or_else(|e| e.into_inner()).iter_mut().for_each(Reader::end);
                                }
                                if purge.swap(false, std::sync::atomic::Ordering::AcqRel) {
                                    // An erasure: secure_delete zeroed its rows in the
                                    // pages, but the WAL still holds the frames written
                                    // before it. Copy everything and cut the WAL to
                                    // nothing (waiting for a running batch or read);
                                    // if a reader kept it short, again next time.
                                    let done = ck
                                        .query("PRAGMA wal_checkpoint(TRUNCATE)", &[])
                                        .ok()
                                        .and_then(|r| r.first().map(|r| r.i64(0).ok() == Some(0)));
                                    if done != Some(true) {
                                        tracing::warn!("WAL truncation after an erasure is busy; trying again");
                                        purge.store(true, std::sync::atomic::Ordering::Release);
                                    }
                                } else if let Err(e) = ck.batch("PRAGMA wal_checkpoint(PASSIVE);") {
                                    tracing::warn!(error = %e, "WAL checkpoint failed");
                                }
                                done.store(true, std::sync::atomic::Ordering::Release);
                            }
                            _ => {
                                let _ = ck.batch("PRAGMA wal_checkpoint(TRUNCATE);");
                                return;
                            }
                        }
                    })
                    .map_err(|e| StoreError::Unavailable(e.to_string()))?,
            );
        }
        // On SQLite the flush is pipelined: the writer commits without
        // waiting for the disk (synchronous=NORMAL writes the WAL frames to
        // the OS at COMMIT) and hands the batch's replies to a syncer thread,
        // which fsyncs the WAL file once for everything committed so far and
        // only then answers. The writer meanwhile runs the next jobs, so a
        // batch's execution overlaps the previous batch's flush. No reply is
        // sent before the WAL holding its commit is on disk.
        let mut syncer = None;
        if let (Dialect::Sqlite, Location::Sqlite(path)) = (dialect, location) {
            // The writer keeps SQLite's page cache of 2 MiB: 64 MiB made
            // bulk writes (a retention sweep) up to 15% faster but cut the
            // vault's creates by up to half in some runs (BENCHMARKS.md).
            w.batch("PRAGMA synchronous=NORMAL;")?;
            let (btx, brx) = crossbeam_channel::bounded::<Vec<Reply>>(1);
            let (dtx, drx) = crossbeam_channel::bounded::<()>(1);
            let wal = wal_path(path);
            threads.push(
                std::thread::Builder::new()
                    .name("varuh-syncer".into())
                    .spawn(move || syncer_loop(&wal, brx, dtx))
                    .map_err(|e| StoreError::Unavailable(e.to_string()))?,
            );
            syncer = Some(SyncLink { batches: btx, flushed: drx });
        }
        let (wtx, wrx) = crossbeam_channel::unbounded::<Queued>();
        let hook: Hook = Default::default();
        let vault_gen = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let gate = Gate::default();
        let readers_of_writer = pool.clone().map(|p| (p, gate.clone()));
        let extra = if dialect == Dialect::Postgres { writers.max(1) - 1 } else { 0 };
        let mut conns = vec![(w, syncer, checkpointed, readers_of_writer)];
        for _ in 0..extra {
            conns.push((connect(false)?, None, Default::default(), None));
        }
        let mut queues: Vec<_> = conns.into_iter().map(|c| (c, wrx.clone())).collect();
        // PostgreSQL: the events of reads go to a writer of their own. Each
        // of its batches is one autocommit call, and everything queued while
        // one is at the database goes in the next: an event waits for at
        // most one batch besides its own, where with the data writers it
        // could wait behind a batch of each.
        let (etx, erx) = crossbeam_channel::unbounded::<Queued>();
        let events = if dialect == Dialect::Postgres {
            queues.push(((connect(false)?, None, Default::default(), None), erx));
            Some(etx)
        } else {
            None
        };
        let n = queues.len();
        for (i, ((w, syncer, checkpointed, readers_of_writer), wrx)) in queues.into_iter().enumerate() {
            let shared = Shared { hook: hook.clone(), vault_gen: vault_gen.clone() };
            let name = match i {
                0 => "varuh-writer".into(),
                i if i + 1 == n && events.is_some() => "varuh-audit-writer".into(),
                i => format!("varuh-writer-{i}"),
            };
            threads.push(
                std::thread::Builder::new()
                    .name(name)
                    .spawn(move || writer_loop(w, wrx, syncer, checkpointed, readers_of_writer, shared))
                    .map_err(|e| StoreError::Unavailable(e.to_string()))?,
            );
        }
        let (rtx, rrx) = crossbeam_channel::unbounded::<ReadJob>();
        let threads_for_readers = if pool.is_some() { 0 } else { readers.max(1) };
        for i in 0..threads_for_readers {
            let mut db = connect(false)?;
            let rx = rrx.clone();
            threads.push(
                std::thread::Builder::new()
                    .name(format!("varuh-reader-{i}"))
                    .spawn(move || {
                        while let Ok(job) = rx.recv() {
                            job(db.as_mut());
                        }
                    })
                    .map_err(|e| StoreError::Unavailable(e.to_string()))?,
            );
        }
        Ok(Store {
            writer: Some(std::sync::Arc::new(wtx)),
            events,
            readers: Some(rtx),
            pool,
            location: location.clone(),
            checkpoint: Some(ctx),
            erased,
            threads,
            dialect,
            hook,
            vault_gen,
            gate,
        })
    }

    /// An erasure was committed: on SQLite the WAL, which still holds the
    /// erased rows as they were written, is checkpointed and truncated to
    /// nothing at the checkpoint thread's next turn (within
    /// `CHECKPOINT_EVERY`, once no read or batch is running; the pages
    /// themselves were zeroed by `secure_delete`). PostgreSQL: nothing here
    /// (dead rows until vacuum, WAL segments until recycled: see the
    /// README).
    pub fn erased(&self) {
        self.erased.store(true, std::sync::atomic::Ordering::Release);
    }

    /// Sets what the writers tell about their transactions.
    pub fn set_hook(&self, h: std::sync::Arc<dyn TxHook>) {
        *self.hook.write().unwrap_or_else(|e| e.into_inner()) = Some(h);
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Where the data lives (a backup opens its own connection there).
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// One plain connection to an existing database, without threads or
    /// migrations: for offline tools such as `varuh audit verify`.
    pub fn connect_raw(location: &Location) -> Result<Box<dyn Db>, StoreError> {
        Ok(match location {
            Location::Sqlite(p) => Box::new(sqlite::Sqlite::open(p, false)?),
            Location::Postgres(url) => Box::new(postgres::Postgres::connect(&postgres::Target::parse(url)?)?),
        })
    }

    /// Runs `f` in the next group-commit batch; resolves once committed.
    pub async fn write<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn Db) -> Result<R, StoreError> + Send + 'static,
    {
        self.write_as(Kind::Data, f).await
    }

    /// Like `write`, for a job that is one statement on PostgreSQL which
    /// writes all or nothing and never fails the transaction (see
    /// `Kind::Whole`); SQLite runs it in a savepoint like any job.
    pub async fn write_whole<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn Db) -> Result<R, StoreError> + Send + 'static,
    {
        self.write_as(Kind::Whole, f).await
    }

    /// Like `write`, and the batch commits right after this job.
    pub async fn write_last<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn Db) -> Result<R, StoreError> + Send + 'static,
    {
        self.write_as(Kind::Last, f).await
    }

    async fn write_as<R, F>(&self, kind: Kind, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn Db) -> Result<R, StoreError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: WriteJob = Box::new(move |db| {
            let res = f(db);
            let ok = res.is_ok();
            let reply: Reply = Box::new(move |commit| {
                let _ = tx.send(match commit {
                    Ok(()) => res,
                    Err(e) => Err(StoreError::Unavailable(e)),
                });
            });
            (ok, reply)
        });
        self.writer
            .as_ref()
            .ok_or_else(|| StoreError::Unavailable("store is closed".into()))?
            .send((job, kind))
            .map_err(|_| StoreError::Unavailable("writer stopped".into()))?;
        rx.await.map_err(|_| StoreError::Unavailable("writer stopped".into()))?
    }

    /// Runs a long read (a whole-log scan, an export) on a blocking thread,
    /// so that it does not hold up the request workers. Sees everything
    /// committed before the call, like `read_latest`.
    pub async fn read_long<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn Db) -> Result<R, StoreError> + Send + 'static,
    {
        let Some(pool) = &self.pool else { return self.read_latest(f).await };
        let mut r = self.take_reader(pool)?;
        r.end();
        let (res, r) = tokio::task::spawn_blocking(move || {
            let res = f(r.db.as_mut());
            (res, r)
        })
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        Self::give_back(pool, r);
        res
    }

    /// A pooled reader connection; one more if all are in use.
    fn take_reader(&self, pool: &ReaderPool) -> Result<Reader, StoreError> {
        match pool.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            Some(r) => Ok(r),
            None => Ok(Reader { db: sqlite_reader(&self.location)?, snapshot: None }),
        }
    }

    fn give_back(pool: &ReaderPool, r: Reader) {
        pool.lock().unwrap_or_else(|e| e.into_inner()).push(r);
    }

    /// Queues a raw job for the writer that changes nothing a reader
    /// waits for (a session's last use); it may run late.
    pub(crate) fn submit(&self, job: WriteJob) -> Result<(), StoreError> {
        self.send((job, Kind::Late))
    }

    /// A handle that queues `Kind::Alone` jobs from anywhere (a writer
    /// thread included) without keeping the store open.
    pub(crate) fn whole_jobs(&self) -> WholeJobs {
        WholeJobs(self.writer.as_ref().map(std::sync::Arc::downgrade).unwrap_or_default())
    }

    /// Queues a job that only hands events to the transaction hook and does
    /// not touch the database (the audit queue's): no savepoint for it.
    pub(crate) fn submit_events(&self, job: WriteJob) -> Result<(), StoreError> {
        match &self.events {
            Some(q) => q.send((job, Kind::Events)).map_err(|_| StoreError::Unavailable("audit writer stopped".into())),
            None => self.send((job, Kind::Events)),
        }
    }

    fn send(&self, q: Queued) -> Result<(), StoreError> {
        self.writer
            .as_ref()
            .ok_or_else(|| StoreError::Unavailable("store is closed".into()))?
            .send(q)
            .map_err(|_| StoreError::Unavailable("writer stopped".into()))
    }

    /// Runs `f` on a reader connection. It sees every change to vault data
    /// whose write was answered before the call, but audit events appended
    /// in the last `SNAPSHOT_MAX_AGE` may not be there yet: reads of the
    /// audit trail use `read_latest`.
    pub async fn read<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn Db) -> Result<R, StoreError> + Send + 'static,
    {
        if let Some(pool) = &self.pool {
            let _gate = self.gate.read().unwrap_or_else(|e| e.into_inner());
            let mut r = self.take_reader(pool)?;
            let gen = self.vault_gen.load(std::sync::atomic::Ordering::Acquire);
            let usable = matches!(r.snapshot, Some((g, since)) if g == gen && since.elapsed() < SNAPSHOT_MAX_AGE);
            if !usable {
                r.end();
                // The snapshot starts at the first SELECT, after `gen` was read.
                if let Err(e) = r.db.control("BEGIN") {
                    Self::give_back(pool, r);
                    return Err(e);
                }
                r.snapshot = Some((gen, std::time::Instant::now()));
            }
            let res = f(r.db.as_mut());
            if res.is_err() {
                r.end();
            }
            Self::give_back(pool, r);
            return res;
        }
        self.read_latest(f).await
    }

    /// Runs `f` on a reader connection that sees everything committed
    /// before the call (the audit trail's reads).
    pub async fn read_latest<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn Db) -> Result<R, StoreError> + Send + 'static,
    {
        if let Some(pool) = &self.pool {
            let mut r = self.take_reader(pool)?;
            r.end();
            let res = f(r.db.as_mut());
            Self::give_back(pool, r);
            return res;
        }
        let (tx, rx) = oneshot::channel();
        self.readers
            .as_ref()
            .ok_or_else(|| StoreError::Unavailable("store is closed".into()))?
            .send(Box::new(move |db| {
                let _ = tx.send(f(db));
            }))
            .map_err(|_| StoreError::Unavailable("readers stopped".into()))?;
        rx.await.map_err(|_| StoreError::Unavailable("reader stopped".into()))?
    }

    /// Queues a job for a PostgreSQL reader thread (the read batchers').
    pub(crate) fn submit_read(&self, job: ReadJob) -> Result<(), StoreError> {
        self.readers
            .as_ref()
            .ok_or_else(|| StoreError::Unavailable("store is closed".into()))?
            .send(job)
            .map_err(|_| StoreError::Unavailable("readers stopped".into()))
    }

    /// Finishes every queued write, then stops the threads.
    pub fn close(&mut self) {
        self.writer.take();
        self.events.take();
        self.readers.take();
        self.pool.take();
        let mut threads = self.threads.drain(..);
        // Writer and readers first, then the final checkpoint.
        let rest: Vec<_> = threads.by_ref().collect();
        let (ck, others): (Vec<_>, Vec<_>) =
            rest.into_iter().partition(|t| t.thread().name() == Some("varuh-checkpoint"));
        for t in others {
            let _ = t.join();
        }
        self.checkpoint.take();
        for t in ck {
            let _ = t.join();
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.close();
    }
}

/// The writer's link to the syncer: batches to flush, and a signal per flush done.
struct SyncLink {
    batches: crossbeam_channel::Sender<Vec<Reply>>,
    flushed: crossbeam_channel::Receiver<()>,
}

/// A writer thread. Jobs run in one open transaction, each in its own
/// savepoint, as they arrive. Without a syncer (PostgreSQL) the batch
/// commits as soon as no job is waiting; with one (SQLite), it commits when
/// the syncer has finished the previous flush, so everything that arrived
/// during a flush shares the next commit: batches grow with load, and fewer
/// commits write fewer WAL pages. On PostgreSQL several writers take jobs
/// from the same channel, each with its own connection and batches.
fn writer_loop(
    mut db: Box<dyn Db>,
    rx: crossbeam_channel::Receiver<Queued>,
    syncer: Option<SyncLink>,
    checkpointed: std::sync::Arc<std::sync::atomic::AtomicBool>,
    readers: Option<(ReaderPool, Gate)>,
    Shared { hook, vault_gen }: Shared,
) {
    let begin = match db.dialect() {
        Dialect::Sqlite => "BEGIN IMMEDIATE",
        Dialect::Postgres => "BEGIN",
    };
    let mut b = Batch {
        replies: Vec::with_capacity(MAX_BATCH),
        open: false,
        data: false,
        last: false,
        unguarded: false,
        alone: false,
    };
    let mut in_flight = false;
    let mut closed = false;
    // Jobs that may run late and arrived during a flush, to run just before the commit.
    let mut late: Vec<Queued> = Vec::new();
    let run = |db: &mut Box<dyn Db>, b: &mut Batch, (job, kind): Queued| {
        let h = hook_of(&hook);
        if kind == Kind::Alone && !b.open && db.dialect() == Dialect::Postgres {
            // Its statement commits by itself: done when it returns.
            let mark = h.as_ref().map_or(0, |h| h.mark());
            let (ok, reply) = job(db.as_mut());
            if let Some(h) = &h {
                if !ok {
                    h.undo(mark);
                }
                h.finished();
            }
            vault_gen.fetch_add(1, std::sync::atomic::Ordering::Release);
            reply(Ok(()));
            return;
        }
        if let Some(h) = h.as_ref().filter(|h| {
            kind == Kind::Events && !b.open && !b.alone && db.dialect() == Dialect::Postgres && h.contended()
        }) {
            // Another server appends too: the lock first, then the events
            // that gathered while waiting for it, in one batch of their own.
            let mut job = Some(job);
            let mut reply = None;
            let done = h.flush_locked(db.as_mut(), &mut || {
                if let Some(job) = job.take() {
                    reply = Some(job(&mut FailingDb("this job may not use the database".into())).1);
                }
            });
            if let Err(e) = &done {
                tracing::error!(error = %e, "the audit events could not be written");
            }
            if let Some(reply) = reply {
                reply(done.map_err(|e| e.to_string()));
            }
            return;
        }
        b.data |= matches!(kind, Kind::Data | Kind::Last | Kind::Whole | Kind::Alone);
        b.last |= matches!(kind, Kind::Last | Kind::Alone);
        let mark = h.as_ref().map_or(0, |h| h.mark());
        if kind == Kind::Events && !b.open && db.dialect() == Dialect::Postgres {
            // No transaction yet: if the batch stays events alone, they go
            // in one autocommit call (`TxHook::flush_alone`).
            b.alone = true;
        } else if !b.open {
            if let Err(e) = db.batch(begin) {
                let msg = e.to_string();
                tracing::error!(error = %msg, "cannot begin a write transaction");
                // The job still answers: with the failure, not its result.
                let (_, reply) = job(&mut FailingDb(msg.clone()));
                if let Some(h) = &h {
                    h.undo(mark);
                }
                reply(Err(msg));
                return;
            }
            b.open = true;
        }
        if kind == Kind::Events {
            let (ok, reply) = job(&mut FailingDb("this job may not use the database".into()));
            if !ok {
                if let Some(h) = &h {
                    h.undo(mark);
                }
            }
            b.replies.push(reply);
            return;
        }
        if matches!(kind, Kind::Whole | Kind::Alone) && db.dialect() == Dialect::Postgres {
            b.unguarded = true;
            let (ok, reply) = job(db.as_mut());
            if !ok {
                if let Some(h) = &h {
                    h.undo(mark);
                }
            }
            b.replies.push(reply);
            return;
        }
        let sp = db.control("SAVEPOINT j");
        let (ok, reply) = job(db.as_mut());
        let end = if ok && sp.is_ok() {
            db.control("RELEASE j")
        } else {
            if let Some(h) = &h {
                h.undo(mark);
            }
            db.control("ROLLBACK TO j").and_then(|_| db.control("RELEASE j"))
        };
        if let Err(e) = end {
            tracing::error!(error = %e, "savepoint failed");
        }
        b.replies.push(reply);
    };
    let queue = |db: &mut Box<dyn Db>, b: &mut Batch, late: &mut Vec<Queued>, in_flight: bool, q: Queued| {
        if in_flight && matches!(q.1, Kind::Late | Kind::Events) {
            late.push(q);
        } else {
            run(db, b, q);
        }
    };
    loop {
        // Wait for a job, or for the flush the open batch is waiting on.
        let waiting = in_flight && b.replies.len() < MAX_BATCH && !b.last;
        let work = b.open || b.alone || !late.is_empty();
        if !work || waiting {
            if closed && !work {
                break;
            }
            match &syncer {
                Some(link) if in_flight && closed => {
                    let _ = link.flushed.recv();
                    in_flight = false;
                }
                Some(link) if in_flight => crossbeam_channel::select! {
                    recv(rx) -> job => match job {
                        Ok(job) => queue(&mut db, &mut b, &mut late, in_flight, job),
                        Err(_) => closed = true,
                    },
                    recv(link.flushed) -> _ => in_flight = false,
                },
                _ => match rx.recv() {
                    Ok(job) => queue(&mut db, &mut b, &mut late, in_flight, job),
                    Err(_) => closed = true,
                },
            }
        }
        while b.replies.len() < MAX_BATCH && !b.last {
            match rx.try_recv() {
                Ok(job) => queue(&mut db, &mut b, &mut late, in_flight, job),
                Err(_) => break,
            }
        }
        let work = b.open || b.alone || !late.is_empty();
        if !work || (in_flight && b.replies.len() < MAX_BATCH && !closed && !b.last) {
            continue;
        }
        if in_flight {
            if let Some(link) = &syncer {
                let _ = link.flushed.recv();
            }
            in_flight = false;
        }
        if !b.last {
            for (job, kind) in late.drain(..) {
                run(&mut db, &mut b, (job, kind));
            }
        }
        if std::mem::take(&mut b.alone) && !b.open {
            let h = hook_of(&hook);
            match h.as_ref().map_or(Ok(false), |h| h.flush_alone(db.as_mut())) {
                Ok(true) => {
                    for reply in b.replies.drain(..) {
                        reply(Ok(()));
                    }
                    continue;
                }
                // A transaction after all; the events wait in it.
                Ok(false) => match db.batch(begin) {
                    Ok(()) => b.open = true,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot begin a write transaction");
                        fail_alone(&mut b, h.as_deref(), e);
                        continue;
                    }
                },
                Err(e) => {
                    tracing::error!(error = %e, "the audit events could not be written");
                    fail_alone(&mut b, h.as_deref(), e);
                    continue;
                }
            }
        }
        if !b.open {
            continue;
        }
        b.alone = false;
        b.open = false;
        b.last = false;
        let h = hook_of(&hook);
        // A job ran without a savepoint: should the transaction have been
        // aborted after all, PostgreSQL would answer COMMIT with a silent
        // ROLLBACK; a statement first makes that an error (the audit
        // events' statement, when the batch has events).
        let unguarded = std::mem::take(&mut b.unguarded);
        let commit = h
            .as_ref()
            .map_or(Ok(false), |h| h.before_commit(db.as_mut()))
            // In one round trip: a failing statement skips the COMMIT.
            .and_then(|ran| db.batch(if unguarded && !ran { "SELECT 1; COMMIT" } else { "COMMIT" }))
            .map_err(|e| e.to_string());
        if std::mem::take(&mut b.data) {
            // Before any reply: a read that starts after its write was
            // answered sees the new generation and takes a new snapshot.
            vault_gen.fetch_add(1, std::sync::atomic::Ordering::Release);
        }
        if let Err(e) = &commit {
            tracing::error!(error = %e, "commit failed; the batch is rolled back");
            let _ = db.batch("ROLLBACK");
            if let Some(h) = &h {
                h.rolled_back();
            }
        }
        if let Some(h) = &h {
            h.finished();
        }
        match (&syncer, commit) {
            (Some(link), Ok(())) => {
                let batch = std::mem::replace(&mut b.replies, Vec::with_capacity(MAX_BATCH));
                match link.batches.send(batch) {
                    Ok(()) => in_flight = true,
                    Err(e) => {
                        for reply in e.into_inner() {
                            reply(Err("the syncer stopped".into()));
                        }
                    }
                }
            }
            (_, commit) => {
                for reply in b.replies.drain(..) {
                    reply(commit.clone());
                }
            }
        }
        if checkpointed.swap(false, std::sync::atomic::Ordering::AcqRel) {
            // The checkpoint thread has just copied the bulk of the WAL, but
            // under steady writes it never catches up with the last commit,
            // and SQLite restarts the WAL from its start only once every
            // frame is copied: the file would grow without bound. Between
            // batches no new frame can appear, so a checkpoint here finishes
            // the little left, and the next batch writes from the WAL's start.
            // Readers' snapshots would stop it short of the end (and a
            // snapshot taken before it ends would keep the WAL from
            // restarting): while it runs, reads wait at the gate and the
            // pooled readers have none.
            let gate = readers.as_ref().map(|(pool, gate)| {
                let g = gate.write().unwrap_or_else(|e| e.into_inner());
                pool.lock().unwrap_or_else(|e| e.into_inner()).iter_mut().for_each(Reader::end);
                g
            });
            if let Err(e) = db.batch("PRAGMA wal_checkpoint(PASSIVE);") {
                tracing::warn!(error = %e, "WAL checkpoint failed");
            }
            drop(gate);
        }
    }
}

/// A batch of events alone could not be written: the hook forgets them and
/// every job of the batch answers with the error.
fn fail_alone(b: &mut Batch, h: Option<&dyn TxHook>, e: StoreError) {
    if let Some(h) = h {
        h.rolled_back();
    }
    let msg = e.to_string();
    for reply in b.replies.drain(..) {
        reply(Err(msg.clone()));
    }
}

/// The open batch of a writer.
struct Batch {
    replies: Vec<Reply>,
    open: bool,
    /// It ran a job that may change vault data.
    data: bool,
    /// It ran a job that ends it (`Kind::Last`, `Kind::Alone`).
    last: bool,
    /// It ran a `Kind::Whole` job without a savepoint.
    unguarded: bool,
    /// It holds `Kind::Events` jobs run before any transaction was opened.
    alone: bool,
}

/// What all writers of a store share.
#[derive(Clone)]
struct Shared {
    hook: Hook,
    /// Bumped after each commit that changed vault data.
    vault_gen: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// A read-only SQLite connection for the reader pool.
fn sqlite_reader(location: &Location) -> Result<Box<dyn Db>, StoreError> {
    let Location::Sqlite(p) = location else {
        return Err(StoreError::Unavailable("the reader pool is for SQLite".into()));
    };
    let mut db: Box<dyn Db> = Box::new(sqlite::Sqlite::open(p, false)?);
    db.batch("PRAGMA query_only=1;")?;
    Ok(db)
}

/// SQLite's write-ahead log beside the database file.
fn wal_path(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push("-wal");
    PathBuf::from(p)
}

/// Makes committed batches durable: fsyncs the WAL file once per batch the
/// writer hands over, then answers the batch's jobs (or, if the flush fails,
/// answers each with the error: the outcome of those writes is then
/// unknown, as after a crash), then tells the writer it may commit again.
fn syncer_loop(wal: &Path, rx: crossbeam_channel::Receiver<Vec<Reply>>, done: crossbeam_channel::Sender<()>) {
    let mut file: Option<std::fs::File> = None;
    while let Ok(batch) = rx.recv() {
        let flushed = (|| -> std::io::Result<()> {
            if file.is_none() {
                let f = std::fs::File::open(wal)?;
                // The WAL file may be new: make its directory entry durable too.
                if let Some(dir) = wal.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::File::open(dir)?.sync_all()?;
                }
                file = Some(f);
            }
            file.as_ref().map_or(Ok(()), |f| f.sync_data())
        })()
        .map_err(|e| {
            tracing::error!(error = %e, "flushing the write-ahead log failed");
            format!("flushing the write-ahead log failed: {e}")
        });
        for reply in batch {
            reply(flushed.clone());
        }
        let _ = done.send(());
    }
}

/// Stands in for the database when a batch could not begin.
struct FailingDb(String);

impl Db for FailingDb {
    fn exec(&mut self, _: &'static str, _: &[db::Val]) -> Result<u64, StoreError> {
        Err(StoreError::Unavailable(self.0.clone()))
    }
    fn query(&mut self, _: &'static str, _: &[db::Val]) -> Result<Vec<db::Row>, StoreError> {
        Err(StoreError::Unavailable(self.0.clone()))
    }
    fn batch(&mut self, _: &str) -> Result<(), StoreError> {
        Err(StoreError::Unavailable(self.0.clone()))
    }
    fn scan(&mut self, _: &str, _: &mut dyn FnMut(db::Row) -> Result<(), StoreError>) -> Result<(), StoreError> {
        Err(StoreError::Unavailable(self.0.clone()))
    }
    fn insert_rows(&mut self, _: &str, _: &[String], _: &[Vec<db::Val>]) -> Result<(), StoreError> {
        Err(StoreError::Unavailable(self.0.clone()))
    }
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }
}

const SQLITE_MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("migrations/sqlite/0001_vault.sql")),
    (2, include_str!("migrations/sqlite/0002_audit.sql")),
    (3, include_str!("migrations/sqlite/0003_audit_time.sql")),
    (4, include_str!("migrations/sqlite/0004_audit_frontier.sql")),
    (5, include_str!("migrations/sqlite/0005_audit_subject_runs.sql")),
    (6, include_str!("migrations/sqlite/0006_identity.sql")),
    (7, include_str!("migrations/sqlite/0007_audit_lock.sql")),
    (8, include_str!("migrations/sqlite/0008_place_record.sql")),
    (9, include_str!("migrations/sqlite/0009_audit_append.sql")),
    (10, include_str!("migrations/sqlite/0010_subject_attributes.sql")),
    (11, include_str!("migrations/sqlite/0011_requests.sql")),
    (12, include_str!("migrations/sqlite/0012_rights.sql")),
    (13, include_str!("migrations/sqlite/0013_retention.sql")),
    (14, include_str!("migrations/sqlite/0014_erasure_journal.sql")),
    (15, include_str!("migrations/sqlite/0015_breaches.sql")),
    (16, include_str!("migrations/sqlite/0016_processors.sql")),
    (17, include_str!("migrations/sqlite/0017_staff_register.sql")),
    (18, include_str!("migrations/sqlite/0018_audit_push.sql")),
    (19, include_str!("migrations/sqlite/0019_staff_preferences.sql")),
    (20, include_str!("migrations/sqlite/0020_audit_tail_action.sql")),
    (21, include_str!("migrations/sqlite/0021_hot_path_keys.sql")),
    (22, include_str!("migrations/sqlite/0022_place_records.sql")),
    (23, include_str!("migrations/sqlite/0023_place_records_audited.sql")),
    (24, include_str!("migrations/sqlite/0024_subject_index_per_batch.sql")),
    (25, include_str!("migrations/sqlite/0025_place_records_alone.sql")),
    (26, include_str!("migrations/sqlite/0026_audit_hold.sql")),
    (27, include_str!("migrations/sqlite/0027_place_records_early.sql")),
];
const POSTGRES_MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("migrations/postgres/0001_vault.sql")),
    (2, include_str!("migrations/postgres/0002_audit.sql")),
    (3, include_str!("migrations/postgres/0003_audit_time.sql")),
    (4, include_str!("migrations/postgres/0004_audit_frontier.sql")),
    (5, include_str!("migrations/postgres/0005_audit_subject_runs.sql")),
    (6, include_str!("migrations/postgres/0006_identity.sql")),
    (7, include_str!("migrations/postgres/0007_audit_lock.sql")),
    (8, include_str!("migrations/postgres/0008_place_record.sql")),
    (9, include_str!("migrations/postgres/0009_audit_append.sql")),
    (10, include_str!("migrations/postgres/0010_subject_attributes.sql")),
    (11, include_str!("migrations/postgres/0011_requests.sql")),
    (12, include_str!("migrations/postgres/0012_rights.sql")),
    (13, include_str!("migrations/postgres/0013_retention.sql")),
    (14, include_str!("migrations/postgres/0014_erasure_journal.sql")),
    (15, include_str!("migrations/postgres/0015_breaches.sql")),
    (16, include_str!("migrations/postgres/0016_processors.sql")),
    (17, include_str!("migrations/postgres/0017_staff_register.sql")),
    (18, include_str!("migrations/postgres/0018_audit_push.sql")),
    (19, include_str!("migrations/postgres/0019_staff_preferences.sql")),
    (20, include_str!("migrations/postgres/0020_audit_tail_action.sql")),
    (21, include_str!("migrations/postgres/0021_hot_path_keys.sql")),
    (22, include_str!("migrations/postgres/0022_place_records.sql")),
    (23, include_str!("migrations/postgres/0023_place_records_audited.sql")),
    (24, include_str!("migrations/postgres/0024_subject_index_per_batch.sql")),
    (25, include_str!("migrations/postgres/0025_place_records_alone.sql")),
    (26, include_str!("migrations/postgres/0026_audit_hold.sql")),
    (27, include_str!("migrations/postgres/0027_place_records_early.sql")),
];

/// Applies the embedded migrations not yet applied, each in a transaction.
fn migrate(db: &mut dyn Db) -> Result<(), StoreError> {
    let dialect = db.dialect();
    // Only if missing: on PostgreSQL a role that may not create tables (the
    // application role next to an administrator who migrates) may still start.
    let exists = match dialect {
        Dialect::Sqlite => {
            !db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'varuh_migrations'", &[])?.is_empty()
        }
        Dialect::Postgres => !db
            .query(
                "SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'varuh_migrations'",
                &[],
            )?
            .is_empty(),
    };
    if !exists {
        db.batch(
            "CREATE TABLE IF NOT EXISTS varuh_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )?;
    }
    let list = match dialect {
        Dialect::Sqlite => SQLITE_MIGRATIONS,
        Dialect::Postgres => POSTGRES_MIGRATIONS,
    };
    for (version, sql) in list {
        db.batch(if dialect == Dialect::Sqlite { "BEGIN IMMEDIATE" } else { "BEGIN" })?;
        if dialect == Dialect::Postgres {
            // Several servers may start at once against one database.
            db.batch("SELECT pg_advisory_xact_lock(7261000)")?;
        }
        let done = db.query("SELECT 1 FROM varuh_migrations WHERE version = $1", &[(*version).into()])?;
        if done.is_empty() {
            if let Err(e) = db.batch(sql).and_then(|_| {
                db.exec(
                    "INSERT INTO varuh_migrations (version, applied_at) VALUES ($1, $2)",
                    &[(*version).into(), crate::clock::now_ms().into()],
                )
                .map(|_| ())
            }) {
                let _ = db.batch("ROLLBACK");
                return Err(e);
            }
        }
        db.batch("COMMIT")?;
    }
    Ok(())
}

/// The default embedded database inside a data directory.
pub fn default_sqlite(data_dir: &Path) -> PathBuf {
    data_dir.join("varuh.db")
}

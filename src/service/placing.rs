//! New records placed together (PostgreSQL). Creates that arrive while a
//! call placing others is at the database wait for it to come back and then
//! go together in one call (`queries::place_records_audited`): a share of
//! one statement and one round trip each, instead of one call each. The
//! same statement appends the events of the records it placed
//! (`log::Appender::push_with`), so a record and its event commit together
//! or not at all (AUD-1). It runs in autocommit when the writer has no
//! transaction open (`store::Kind::Alone`): one round trip per batch, the
//! trail's lock taken at its very end and released by the commit that ends
//! it; each create is answered once its batch is durable. While another
//! server appends to the trail, that commit does not wait for the disk
//! (`varuh_place_records_early`): the lock goes at once, and the call's
//! flush is awaited after it, before any answer.

use super::Vault;
use crate::audit::{self as log, Draft};
use crate::store::queries::{self, NewRecord, Placement};
use crate::store::{StoreError, WholeJobs, WriteJob};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// Largest number of records in one call.
const MAX_RECORDS: usize = 256;

/// Calls queued or at the database at once.
const MAX_CALLS: usize = 1;

type Answer = Result<(Placement, Option<Draft>), StoreError>;

struct Waiter {
    record: NewRecord,
    /// The create's event, appended if the record is placed.
    event: Option<(Draft, i64)>,
    tx: oneshot::Sender<Answer>,
}

/// The creates waiting for the next call, and whether a call is queued or
/// at the database.
pub(crate) struct Placing {
    pending: Mutex<Vec<Waiter>>,
    busy: AtomicUsize,
    jobs: WholeJobs,
    appender: Arc<Mutex<log::Appender>>,
    /// The appender's, read without its mutex (which the audit writer may
    /// hold across round trips).
    contention: Arc<log::Contention>,
}

impl Placing {
    pub(crate) fn new(jobs: WholeJobs, appender: Arc<Mutex<log::Appender>>) -> Arc<Self> {
        let contention = appender.lock().unwrap_or_else(|e| e.into_inner()).contention.clone();
        Arc::new(Placing { pending: Mutex::default(), busy: AtomicUsize::new(0), jobs, appender, contention })
    }

    /// Takes a call slot if one is free.
    fn claim(&self) -> bool {
        self.busy.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < MAX_CALLS).then_some(n + 1)).is_ok()
    }

    /// Queues the next call's job, or fails everything waiting.
    fn submit(self: &Arc<Self>) {
        let me = self.clone();
        if let Err(e) = self.jobs.submit(me.job()) {
            self.busy.fetch_sub(1, Ordering::AcqRel);
            let msg = e.to_string();
            for w in std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner())) {
                let _ = w.tx.send(Err(StoreError::Unavailable(msg.clone())));
            }
        }
    }

    /// The creates for one call: in arrival order, leaving for the next call
    /// any that shares an identifier with one taken (the function checks
    /// each record against the database only, not against the others).
    fn take(&self) -> Vec<Waiter> {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let mut seen = std::collections::HashSet::new();
        let mut taken = Vec::new();
        let mut left = Vec::new();
        for w in pending.drain(..) {
            let keys: Vec<_> = w.record.keys().map(|(t, k, h)| (t, k.to_owned(), h.to_vec())).collect();
            if taken.len() == MAX_RECORDS || keys.iter().any(|k| seen.contains(k)) {
                left.push(w);
            } else {
                seen.extend(keys);
                taken.push(w);
            }
        }
        *pending = left;
        taken
    }

    /// One call, on a writer thread: in autocommit, or in that writer's
    /// open transaction if it has one.
    fn job(self: Arc<Self>) -> WriteJob {
        Box::new(move |db| {
            let batch = self.take();
            let (mut records, mut rest) = (Vec::with_capacity(batch.len()), Vec::with_capacity(batch.len()));
            let (mut events, mut of) = (Vec::with_capacity(batch.len()), Vec::with_capacity(batch.len()));
            for (i, w) in batch.into_iter().enumerate() {
                records.push(w.record);
                if let Some(e) = &w.event {
                    events.push(e.clone());
                    of.push(i);
                }
                rest.push((w.event, w.tx));
            }
            // While another server appends, a call in autocommit lets the
            // trail's lock go before its disk flush and awaits the flush
            // after it, before anything is answered.
            let early = db.autocommit() && !events.is_empty() && self.contention.recent();
            // Never too far behind: one statement that appends whatever
            // the log's length (it may run in autocommit, with no second try).
            let mut placed = log::Appender::push_with(&self.appender, db, &events, |db, size, last, _, batch| {
                queries::place_records_audited(db, &records, &of, size, last, i64::MAX, batch, early)
            });
            if early && placed.is_ok() {
                match queries::audit_flushed(db) {
                    Ok(()) => log::Contention::count(&self.contention.early_commits),
                    Err(e) => placed = Err(e),
                }
            }
            // The next call may start (on another writer) while this one
            // commits.
            self.busy.fetch_sub(1, Ordering::AcqRel);
            let more = !self.pending.lock().unwrap_or_else(|e| e.into_inner()).is_empty();
            if more && self.claim() {
                self.submit();
            }
            let answers: Vec<Result<Placement, StoreError>> = match placed {
                Ok((a, _)) => a,
                Err(e) => {
                    let msg = e.to_string();
                    rest.iter().map(|_| Err(StoreError::Unavailable(msg.clone()))).collect()
                }
            };
            let reply: crate::store::Reply = Box::new(move |commit| {
                for (a, (event, tx)) in answers.into_iter().zip(rest) {
                    let _ = tx.send(match (&commit, a) {
                        (Err(e), Ok(Placement::Done)) => Err(StoreError::Unavailable(e.clone())),
                        (_, Ok(p)) => Ok((p, event.map(|(d, _)| d))),
                        (_, Err(e)) => Err(e),
                    });
                }
            });
            (true, reply)
        })
    }
}

impl Vault {
    /// Places a new record (`queries::place_record`) and, if it is placed,
    /// the current use case's event with it. Anything but `Done` writes
    /// nothing, no event either.
    pub(crate) async fn place(&self, record: NewRecord) -> Result<Placement, StoreError> {
        let Some(placing) = &self.placing else {
            let placed = self
                .write_recorded_whole(move |db, d| {
                    match queries::place_record(
                        db,
                        record.new_subject.as_ref(),
                        &record.row,
                        &record.idents,
                        &record.attrs,
                    )? {
                        Placement::Done => {}
                        Placement::Busy => return Err(StoreError::Busy),
                        Placement::Elsewhere(other) => return Err(StoreError::Elsewhere(other)),
                        Placement::Conflict => return Err(StoreError::Conflict),
                    }
                    d.record = Some(record.row.id);
                    d.subject = Some(record.row.subject_id);
                    Ok(())
                })
                .await;
            return match placed {
                Ok(()) => Ok(Placement::Done),
                Err(StoreError::Elsewhere(other)) => Ok(Placement::Elsewhere(other)),
                Err(StoreError::Busy) => Ok(Placement::Busy),
                Err(StoreError::Conflict) => Ok(Placement::Conflict),
                Err(e) => Err(e),
            };
        };
        let event = self.draft_to_record().map(|(mut d, now)| {
            d.record = Some(record.row.id);
            d.subject = Some(record.row.subject_id);
            (d, now)
        });
        let (tx, rx) = oneshot::channel();
        placing.pending.lock().unwrap_or_else(|e| e.into_inner()).push(Waiter { record, event, tx });
        if placing.claim() {
            placing.submit();
        }
        let (placement, event) = rx.await.map_err(|_| StoreError::Unavailable("the writer stopped".into()))??;
        if let (Placement::Done, Some(d)) = (&placement, event) {
            Self::recorded(d);
        }
        Ok(placement)
    }
}

//! Reads of one kind gathered into one statement (PostgreSQL). Requests
//! that arrive while a batch is at the database wait for it to come back
//! and then go together: each read then costs a share of one round trip and
//! one statement, as each audit event costs a share of one INSERT.

use super::db::Db;
use super::{Store, StoreError};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// The statement of a batch: one answer per key, in the keys' order.
pub(crate) type BatchQuery<K, V> = fn(&mut dyn Db, &[K]) -> Result<Vec<V>, StoreError>;

/// Largest number of keys in one statement.
const MAX_KEYS: usize = 256;

/// Batches at the database at once (each on its own reader thread).
/// Measured (BENCHMARKS.md): 1 gives the most reads; 2 and 4 make smaller
/// batches for the same load and lose 10% and 20%.
const MAX_DRAINS: usize = 1;

type Waiter<K, V> = (K, oneshot::Sender<Result<V, StoreError>>);

pub(crate) struct ReadBatcher<K, V> {
    pending: Mutex<Vec<Waiter<K, V>>>,
    /// Drains queued or running on reader threads.
    busy: AtomicUsize,
    query: BatchQuery<K, V>,
}

impl<K: Send + 'static, V: Send + 'static> ReadBatcher<K, V> {
    pub(crate) fn new(query: BatchQuery<K, V>) -> Arc<Self> {
        Arc::new(ReadBatcher { pending: Mutex::default(), busy: AtomicUsize::new(0), query })
    }

    /// Reads `key` in the next batch. Sees every change whose write was
    /// answered before the call (the batch's statement starts after it).
    pub(crate) async fn get(self: &Arc<Self>, store: &Store, key: K) -> Result<V, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).push((key, tx));
        if self.claim() {
            let me = self.clone();
            if let Err(e) = store.submit_read(Box::new(move |db| me.drain(db))) {
                self.busy.fetch_sub(1, Ordering::AcqRel);
                self.fail_all(&e.to_string());
            }
        }
        rx.await.map_err(|_| StoreError::Unavailable("the reader stopped".into()))?
    }

    /// On a reader thread: batches until nothing is waiting.
    fn drain(&self, db: &mut dyn Db) {
        loop {
            let batch: Vec<Waiter<K, V>> = {
                let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
                let n = p.len().min(MAX_KEYS);
                p.drain(..n).collect()
            };
            if batch.is_empty() {
                self.busy.fetch_sub(1, Ordering::AcqRel);
                // A key pushed after the take may have found every drain
                // busy and relies on one of them.
                let more = !self.pending.lock().unwrap_or_else(|e| e.into_inner()).is_empty();
                if more && self.claim() {
                    continue;
                }
                return;
            }
            let (keys, txs): (Vec<K>, Vec<_>) = batch.into_iter().unzip();
            match (self.query)(db, &keys) {
                Ok(vals) if vals.len() == txs.len() => {
                    for (tx, v) in txs.into_iter().zip(vals) {
                        let _ = tx.send(Ok(v));
                    }
                }
                Ok(_) => {
                    for tx in txs {
                        let _ = tx.send(Err(StoreError::Corrupt("a batched read answered the wrong count".into())));
                    }
                }
                Err(e) => {
                    let msg = e.to_string();
                    for tx in txs {
                        let _ = tx.send(Err(match &e {
                            StoreError::Unavailable(_) => StoreError::Unavailable(msg.clone()),
                            _ => StoreError::Db(msg.clone()),
                        }));
                    }
                }
            }
        }
    }

    /// Takes a drain slot if one is free.
    fn claim(&self) -> bool {
        self.busy.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < MAX_DRAINS).then_some(n + 1)).is_ok()
    }

    fn fail_all(&self, msg: &str) {
        for (_, tx) in std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner())) {
            let _ = tx.send(Err(StoreError::Unavailable(msg.to_string())));
        }
    }
}

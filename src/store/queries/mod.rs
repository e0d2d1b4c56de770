//! Every SQL statement varuh runs, written once for both dialects, as typed
//! functions over `&mut dyn Db`. Rows here hold sealed bytes and blind
//! indexes only; decryption happens in the service layer.
//! One file per capability; callers use `queries::name` for all of them.

mod audit;
mod backup;
mod identity;
mod import;
mod records;
mod registers;
mod requests;
mod retention;
mod rights;
mod tenancy;

pub use audit::*;
pub use backup::*;
pub use identity::*;
pub use import::*;
pub use records::*;
pub use registers::*;
pub use requests::*;
pub use retention::*;
pub use rights::*;
pub use tenancy::*;

use super::db::Db;
use super::StoreError;

/// Statements whose text depends on a count (rows of a multi-row INSERT,
/// alternatives of an OR): built once per count up to `N` and kept for the
/// life of the process (prepared statements are keyed by a 'static text).
pub(crate) struct Shapes<const N: usize> {
    texts: std::sync::OnceLock<Vec<&'static str>>,
    build: fn(usize) -> String,
}

impl<const N: usize> Shapes<N> {
    pub(crate) const fn new(build: fn(usize) -> String) -> Self {
        Shapes { texts: std::sync::OnceLock::new(), build }
    }
    /// The text for `n` (1..=N).
    pub(crate) fn get(&self, n: usize) -> &'static str {
        let texts = self.texts.get_or_init(|| (1..=N).map(|k| &*Box::leak((self.build)(k).into_boxed_str())).collect());
        texts[n.clamp(1, N) - 1]
    }
}

/// Whether the database answers and takes writes: `Ok(false)` when it is
/// read-only (a hot standby, a failed-over primary, or
/// `default_transaction_read_only`).
pub fn ping(db: &mut dyn Db) -> Result<bool, StoreError> {
    if db.dialect() == super::db::Dialect::Postgres {
        let r = db.query(
            "SELECT pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on' OR current_setting('default_transaction_read_only') = 'on'",
            &[],
        )?;
        return Ok(!r.first().map(|r| r.bool(0)).transpose()?.unwrap_or(true));
    }
    db.query("SELECT 1", &[])?;
    Ok(true)
}

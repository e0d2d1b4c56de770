//! Every SQL statement varuh runs, written once for both dialects, as typed
//! functions over `&mut dyn Db`. Rows here hold sealed bytes and blind
//! indexes only; decryption happens in the service layer.
//! One file per capability; callers use `queries::name` for all of them.

mod audit;
mod identity;
mod records;
mod tenancy;

pub use audit::*;
pub use identity::*;
pub use records::*;
pub use tenancy::*;

use super::db::Db;
use super::StoreError;

pub fn ping(db: &mut dyn Db) -> Result<(), StoreError> {
    db.query("SELECT 1", &[])?;
    Ok(())
}

//! The handlers, one file per capability: `identity` (sign-in, sessions,
//! staff), `tenancy` (tenants, collections), `records` (subjects and
//! records), `requests` (the data-subject request register), `audit` (the
//! trail), `system` (health).

pub mod approvals;
pub mod audit;
pub mod identity;
pub mod records;
pub mod requests;
pub mod system;
pub mod tenancy;

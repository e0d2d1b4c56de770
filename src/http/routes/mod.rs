//! The handlers, one file per capability: `identity` (sign-in, sessions,
//! staff), `tenancy` (tenants, collections), `records` (subjects and
//! records), `access_report` (Art. 15), `requests` (the data-subject request register), `rights`
//! (restriction, objection, consent, disclosures), `audit` (the
//! trail), `backup` (backups), `breaches` (the breach register), `registers` (processors), `system` (health).

pub mod access_report;
pub mod approvals;
pub mod audit;
pub mod backup;
pub mod breaches;
pub mod identity;
pub mod records;
pub mod registers;
pub mod requests;
pub mod retention;
pub mod rights;
pub mod system;
pub mod tenancy;

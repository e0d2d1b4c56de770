//! varuh: a personal-data vault that enforces the measures GDPR asks for.
//! See `docs/architecture.md` for the map: http → service → domain, crypto,
//! store; data flows one way.

pub mod audit;
pub mod backup;
pub mod clock;
pub mod config;
pub mod console;
pub mod crypto;
pub mod documents;
pub mod domain;
pub mod http;
pub mod load;
pub mod outbound;
pub mod service;
pub mod setup;
pub mod store;

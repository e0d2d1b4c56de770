//! The integration suite: one test binary, run through the HTTP API against
//! SQLite and, when `VARUH_TEST_PG_URL` is set (scripts/test.sh does it),
//! against PostgreSQL with the very same tests.

mod support;

mod access;
mod audit;
mod backups;
mod breaches;
mod browser;
mod cluster;
mod console;
mod crash;
mod examples;
mod eximitech;
mod ham;
mod identity;
mod keys;
mod matrix;
mod monitoring;
mod plaintext;
mod registers;
mod requests;
mod retention;
mod rights;
mod server;
mod subjects;
mod tenancy;
mod validation;
mod vault;
mod webdriver;

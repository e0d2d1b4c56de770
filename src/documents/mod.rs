//! The documents varuh hands out: a PDF a person can read (`pdf`), a zip
//! archive of JSON and CSV files (`archive`), and their protection for
//! delivery, encrypted to an `age` recipient or with a passphrase
//! (`protect`). Pure: bytes in memory in, bytes out; the service decides
//! what goes in and records who got it.

pub mod archive;
pub mod pdf;
pub mod protect;

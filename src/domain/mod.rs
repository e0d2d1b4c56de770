//! Pure rules of varuh: no I/O, no clocks, no keys. Everything here is
//! unit-tested on its own and called by the service layer.

pub mod access;
pub mod breach;
pub mod consent;
pub mod identifiers;
pub mod import;
pub mod limits;
pub mod lockout;
pub mod password;
pub mod policy;
pub mod processor;
pub mod requests;
pub mod schema;
pub mod settings;
pub mod staff_register;

/// A rule broken by input, naming the field at fault (a JSON-pointer-like
/// path such as `data.email` or `fields[2].category`). The message describes
/// the rule, never the value, so it is safe to log and to return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: String,
    pub message: String,
}

impl Invalid {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Invalid { field: field.into(), message: message.into() }
    }
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

pub use access::Role;

/// A calendar date, `YYYY-MM-DD`.
pub fn parse_date(field: &str, d: &str) -> Result<time::Date, Invalid> {
    let f = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(d, &f).map_err(|_| Invalid::new(field, "must be a date, YYYY-MM-DD"))
}

pub fn check_date(field: &str, d: &str) -> Result<(), Invalid> {
    parse_date(field, d).map(|_| ())
}

/// A name used in URLs and schemas: lower-case ASCII, digits, underscore.
pub fn check_name(field: &str, name: &str) -> Result<(), Invalid> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.as_bytes()[0].is_ascii_lowercase()
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Invalid::new(field, "must be 1-63 characters: a lower-case letter, then lower-case letters, digits or '_'"))
    }
}

//! Normalisation of subject identifiers before blind indexing (CONF-3):
//! the same person typed two ways must give the same index.
//! E-mail: trimmed and lower-cased. Phone: E.164 (`+` and 7–15 digits).
//! Anything else (customer numbers…): trimmed, case kept.

use super::Invalid;

pub const EMAIL: &str = "email";
pub const PHONE: &str = "phone";

/// Normalises `value` as an identifier of `kind`; the error names `field`.
pub fn normalise(kind: &str, value: &str, field: &str) -> Result<String, Invalid> {
    match kind {
        EMAIL => normalise_email(value).ok_or_else(|| Invalid::new(field, "is not an e-mail address")),
        PHONE => normalise_phone(value).ok_or_else(|| {
            Invalid::new(field, "is not a phone number in international form (+ country code, 7-15 digits)")
        }),
        _ => {
            let v = value.trim();
            if v.is_empty() || v.len() > 256 {
                Err(Invalid::new(field, "must be 1-256 characters"))
            } else {
                Ok(v.to_string())
            }
        }
    }
}

pub fn normalise_email(value: &str) -> Option<String> {
    let v = value.trim();
    if v.len() > 254 || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let (local, domain) = v.rsplit_once('@')?;
    if local.is_empty() || local.len() > 64 || local.contains('@') || domain.len() < 3 || !domain.contains('.') {
        return None;
    }
    if domain.starts_with('.') || domain.ends_with('.') || domain.contains("..") {
        return None;
    }
    Some(v.to_lowercase())
}

pub fn normalise_phone(value: &str) -> Option<String> {
    let v = value.trim();
    let rest = if let Some(r) = v.strip_prefix('+') { r } else { v.strip_prefix("00")? };
    let mut digits = String::with_capacity(16);
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' | '/' => {}
            _ => return None,
        }
    }
    if !(7..=15).contains(&digits.len()) || digits.starts_with('0') {
        return None;
    }
    Some(format!("+{digits}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_normalise_and_bad_ones_fail() {
        assert_eq!(normalise_email("  Ana.Novak@Example.SI ").as_deref(), Some("ana.novak@example.si"));
        for bad in ["", "ana", "ana@", "@x.si", "a b@x.si", "ana@localhost", "ana@x..si", "ana@.x.si"] {
            assert_eq!(normalise_email(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn phones_normalise_to_e164() {
        assert_eq!(normalise_phone("+386 41 123-456").as_deref(), Some("+38641123456"));
        assert_eq!(normalise_phone("00386 (41) 123 456").as_deref(), Some("+38641123456"));
        for bad in ["041 123 456", "+386a41", "+12", "+0123456789", "+1234567890123456"] {
            assert_eq!(normalise_phone(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn other_identifiers_are_trimmed_and_error_names_field() {
        assert_eq!(normalise("customer_number", " C-42 ", "x").unwrap(), "C-42");
        let e = normalise("email", "nope", "data.email").unwrap_err();
        assert_eq!(e.field, "data.email");
        assert!(!e.message.contains("nope"));
    }
}

//! Protected delivery of a document (2Mobile 2.1: documents are protected
//! with passwords; EximiTech: exports are protected): the bytes encrypted in
//! the `age` format, to an X25519 recipient (`age1…`) or with a passphrase
//! (scrypt), so the receiver opens them with the standard `age` tool.

use crate::domain::Invalid;
use std::io::Write;
use std::str::FromStr;

/// How a document is protected for delivery.
#[derive(Clone)]
pub enum Protect {
    /// An age X25519 recipient (`age1…`).
    Recipient(String),
    /// A passphrase the receiver is told by another channel.
    Passphrase(String),
}

/// Shortest passphrase accepted.
pub const MIN_PASSPHRASE: usize = 12;

impl Protect {
    /// Checks the recipient or passphrase; the error names `field`.
    pub fn check(&self, field: &str) -> Result<(), Invalid> {
        match self {
            Protect::Recipient(r) => age::x25519::Recipient::from_str(r.trim())
                .map(|_| ())
                .map_err(|_| Invalid::new(format!("{field}.age_recipient"), "is not an age X25519 recipient (age1…)")),
            Protect::Passphrase(p) if p.chars().count() < MIN_PASSPHRASE => Err(Invalid::new(
                format!("{field}.passphrase"),
                format!("must be at least {MIN_PASSPHRASE} characters"),
            )),
            Protect::Passphrase(_) => Ok(()),
        }
    }

    /// The bytes encrypted (an age file).
    pub fn seal(&self, plain: &[u8]) -> Result<Vec<u8>, String> {
        let enc = match self {
            Protect::Recipient(r) => {
                let r = age::x25519::Recipient::from_str(r.trim()).map_err(|e| e.to_string())?;
                age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient))
                    .map_err(|e| e.to_string())?
            }
            Protect::Passphrase(p) => age::Encryptor::with_user_passphrase(age::secrecy::SecretString::from(p.clone())),
        };
        let mut out = Vec::with_capacity(plain.len() + 256);
        let mut w = enc.wrap_output(&mut out).map_err(|e| e.to_string())?;
        w.write_all(plain).map_err(|e| e.to_string())?;
        w.finish().map_err(|e| e.to_string())?;
        Ok(out)
    }

    /// What the delivery is called in audit events (never the secret).
    pub fn kind(&self) -> &'static str {
        match self {
            Protect::Recipient(_) => "age-recipient",
            Protect::Passphrase(_) => "age-passphrase",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn sealed_documents_open_with_the_identity_or_the_passphrase_only() {
        let id = age::x25519::Identity::generate();
        let to = Protect::Recipient(id.to_public().to_string());
        to.check("protect").unwrap();
        let sealed = to.seal(b"Mojca Kos").unwrap();
        assert!(sealed.starts_with(b"age-encryption.org/v1"));
        assert!(memchr::memmem::find(&sealed, b"Mojca").is_none());
        let d = age::Decryptor::new(&sealed[..]).unwrap();
        let mut plain = Vec::new();
        d.decrypt(std::iter::once(&id as &dyn age::Identity)).unwrap().read_to_end(&mut plain).unwrap();
        assert_eq!(plain, b"Mojca Kos");
        let other = age::x25519::Identity::generate();
        assert!(age::Decryptor::new(&sealed[..])
            .unwrap()
            .decrypt(std::iter::once(&other as &dyn age::Identity))
            .is_err());

        assert_eq!(Protect::Recipient("age1nope".into()).check("protect").unwrap_err().field, "protect.age_recipient");
        assert_eq!(Protect::Passphrase("short".into()).check("protect").unwrap_err().field, "protect.passphrase");
    }
}

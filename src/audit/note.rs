//! Signed tree heads as C2SP checkpoints (tlog-checkpoint) in signed notes
//! (signed-note), so transparency-log tooling can read them:
//!
//! ```text
//! <origin>
//! <tree size>
//! <base64 root hash>
//!
//! — <key name> <base64(key id ‖ Ed25519 signature)>
//! ```
//!
//! The key id is the first 4 bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ public
//! key); the signature covers the three body lines with their newlines. The
//! verifier key is written `<name>+<hex key id>+<base64(0x01 ‖ public key)>`.

use super::merkle::Hash;
use crate::crypto::{verify_ed25519, AuditSigner};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};

/// A checkpoint's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    pub fn body(&self) -> String {
        format!("{}\n{}\n{}\n", self.origin, self.size, STANDARD.encode(self.root))
    }
}

/// A public key that checks checkpoints, with its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKey {
    pub name: String,
    pub public_key: [u8; 32],
}

fn key_id(name: &str, public_key: &[u8; 32]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n\x01");
    h.update(public_key);
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

impl VerifierKey {
    pub fn encode(&self) -> String {
        let id = key_id(&self.name, &self.public_key);
        let mut k = vec![1u8];
        k.extend_from_slice(&self.public_key);
        format!("{}+{}+{}", self.name, id.iter().map(|b| format!("{b:02x}")).collect::<String>(), STANDARD.encode(k))
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        // The name holds no '+'; the base64 key may.
        let mut parts = s.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err("a verifier key is <name>+<key id>+<key>".into());
        };
        let raw = STANDARD.decode(key).map_err(|_| "the key is not base64".to_string())?;
        if raw.len() != 33 || raw[0] != 1 {
            return Err("not an Ed25519 verifier key".into());
        }
        let public_key: [u8; 32] = raw[1..].try_into().map_err(|_| "bad key length".to_string())?;
        let vk = VerifierKey { name: name.to_string(), public_key };
        let want: String = key_id(name, &public_key).iter().map(|b| format!("{b:02x}")).collect();
        if want != id {
            return Err("the key id does not match the key".into());
        }
        Ok(vk)
    }
}

/// Signs a checkpoint: the whole signed note, ready to publish.
pub fn sign(c: &Checkpoint, name: &str, signer: &AuditSigner) -> String {
    sign_text(&c.body(), name, signer)
}

/// Signs any text (ending in a newline) as a C2SP signed note.
pub fn sign_text(body: &str, name: &str, signer: &AuditSigner) -> String {
    let pk = signer.public_key();
    let mut sig = key_id(name, &pk).to_vec();
    sig.extend_from_slice(&signer.sign(body.as_bytes()));
    format!("{body}\n\u{2014} {name} {}\n", STANDARD.encode(sig))
}

/// Opens a signed note: the checkpoint, if a signature by `key` verifies.
pub fn open(note: &str, key: &VerifierKey) -> Result<Checkpoint, String> {
    let body = open_text(note, key)?;
    let mut lines = body.lines();
    let origin = lines.next().filter(|l| !l.is_empty()).ok_or("no origin line")?.to_string();
    let size = lines.next().and_then(|l| l.parse::<u64>().ok()).ok_or("no tree size line")?;
    let root: Hash = lines
        .next()
        .and_then(|l| STANDARD.decode(l).ok())
        .and_then(|r| r.try_into().ok())
        .ok_or("no root hash line")?;
    Ok(Checkpoint { origin, size, root })
}

/// The signed text of a note, if a signature by `key` verifies.
pub fn open_text(note: &str, key: &VerifierKey) -> Result<String, String> {
    let (body, sigs) = note.split_once("\n\n").ok_or("not a signed note: no blank line before the signatures")?;
    let body = format!("{body}\n");
    let id = key_id(&key.name, &key.public_key);
    let mut verified = false;
    for line in sigs.lines() {
        let Some(rest) = line.strip_prefix("\u{2014} ") else {
            return Err("a signature line must start with an em dash".into());
        };
        let Some((name, sig)) = rest.split_once(' ') else {
            return Err("a signature line is: — name signature".into());
        };
        let raw = STANDARD.decode(sig).map_err(|_| "a signature is not base64".to_string())?;
        if name == key.name
            && raw.len() == 68
            && raw[..4] == id
            && verify_ed25519(&key.public_key, body.as_bytes(), &raw[4..])
        {
            verified = true;
        }
    }
    if !verified {
        return Err(format!("no valid signature by {}", key.name));
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::MasterKey;

    /// The example of the signed-note specification (c2sp.org/signed-note,
    /// golang.org/x/mod/sumdb/note): the same key id, encoding and
    /// signature bytes, so existing tooling reads varuh's notes.
    #[test]
    fn the_specification_example_opens_and_signs_byte_for_byte() {
        let key = VerifierKey::parse("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").unwrap();
        let text =
            "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
        let note = format!("{text}\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n");
        assert_eq!(open_text(&note, &key).unwrap(), text);
        assert!(open_text(&note.replace("cryptography", "cryptographY"), &key).is_err());
        assert_eq!(key.encode(), "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
        // The spec's private key is 0x01 ‖ seed, base64.
        let raw = STANDARD.decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz").unwrap();
        let signer = crate::crypto::AuditSigner::from_seed(raw[1..].try_into().unwrap());
        assert_eq!(signer.public_key(), key.public_key);
        assert_eq!(sign_text(text, "PeterNeumann", &signer), note);
    }

    #[test]
    fn checkpoints_sign_and_open_and_any_change_breaks_them() {
        let mk = MasterKey::parse(&"11".repeat(32)).unwrap();
        let signer = mk.audit_signer();
        let vk = VerifierKey { name: "varuh.example/audit".into(), public_key: signer.public_key() };
        assert_eq!(VerifierKey::parse(&vk.encode()).unwrap(), vk);
        let c = Checkpoint { origin: "varuh.example/audit".into(), size: 42, root: [7u8; 32] };
        let note = sign(&c, &vk.name, &signer);
        assert!(note.starts_with("varuh.example/audit\n42\nBwcH"), "{note}");
        assert!(note.contains("\n\n\u{2014} varuh.example/audit "));
        assert_eq!(open(&note, &vk).unwrap(), c);
        let forged = note.replacen("\n42\n", "\n41\n", 1);
        assert!(open(&forged, &vk).is_err());
        let other = VerifierKey {
            name: vk.name.clone(),
            public_key: MasterKey::parse(&"22".repeat(32)).unwrap().audit_signer().public_key(),
        };
        assert!(open(&note, &other).is_err());
        assert!(VerifierKey::parse("name+00000000+AQ==").is_err());
    }
}

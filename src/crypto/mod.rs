//! Cryptography for varuh: the key hierarchy, field sealing, blind indexes,
//! session tokens and password hashing. Small and boring on purpose.
//!
//! Key hierarchy (CONF-1): master key (file or environment, never in the
//! database) → per-tenant root key (random, stored wrapped by the master key)
//! → per-subject key (random, stored wrapped by the tenant's encryption key).
//! Record fields are sealed with XChaCha20-Poly1305 under the subject key with
//! tenant, collection, record and field bound in as associated data, so a
//! ciphertext copied to another row or field does not open. Erasing a subject
//! destroys its wrapped key: every copy of its fields becomes unreadable.
//!
//! Blind indexes (CONF-3) are HMAC-SHA-256 under a per-tenant index key
//! derived from the tenant root by HKDF, over a normalised identifier.
//! No primitive here is home-made: RustCrypto's AEAD, HMAC, HKDF, SHA-2 and
//! Argon2 do the work.

pub mod recovery;
pub mod totp;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::path::Path;
use uuid::Uuid;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

const NONCE_LEN: usize = 24;

/// Errors of the crypto layer. They never carry key material or plaintext.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("ciphertext does not open under this key and context")]
    Open,
    #[error("master key: {0}")]
    MasterKey(String),
    #[error("password hashing failed")]
    Hash,
}

/// 32 bytes of secret key material, wiped from memory on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Key([u8; 32]);

impl Key {
    pub fn random() -> Self {
        let mut k = [0u8; 32];
        OsRng.fill_bytes(&mut k);
        Key(k)
    }

    fn seal(&self, ad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let ct = cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext, aad: ad })
            .expect("XChaCha20-Poly1305 encryption cannot fail for in-memory buffers");
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    fn open(&self, ad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if sealed.len() < NONCE_LEN + 16 {
            return Err(CryptoError::Open);
        }
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: ad })
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::Open)
    }

    fn wrap_key(&self, ad: &[u8], key: &Key) -> Vec<u8> {
        self.seal(ad, &key.0)
    }

    fn unwrap_key(&self, ad: &[u8], wrapped: &[u8]) -> Result<Key, CryptoError> {
        let pt = self.open(ad, wrapped)?;
        let bytes: [u8; 32] = pt.as_slice().try_into().map_err(|_| CryptoError::Open)?;
        Ok(Key(bytes))
    }

    fn hkdf(&self, info: &[u8]) -> Key {
        let hk = hkdf::Hkdf::<Sha256>::new(None, &self.0);
        let mut out = [0u8; 32];
        hk.expand(info, &mut out).expect("32 bytes is a valid HKDF-SHA-256 length");
        Key(out)
    }

    fn hmac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes any key length");
        for p in parts {
            mac.update(&(p.len() as u32).to_be_bytes());
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    }
}

/// The root of the hierarchy. Loaded from the key file or `VARUH_MASTER_KEY`.
pub struct MasterKey(Key);

impl MasterKey {
    /// Parses a master key given as 64 hex digits (spaces between groups
    /// allowed, as on the recovery sheet) or standard base64 of 32 bytes.
    pub fn parse(text: &str) -> Result<Self, CryptoError> {
        let squeezed: Zeroizing<String> = Zeroizing::new(text.chars().filter(|c| !c.is_whitespace()).collect());
        let t = squeezed.as_str();
        let bytes = Zeroizing::new(if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32)
                .map(|i| {
                    u8::from_str_radix(&t[2 * i..2 * i + 2], 16).map_err(|_| CryptoError::MasterKey("not hex".into()))
                })
                .collect::<Result<Vec<u8>, _>>()?
        } else {
            STANDARD
                .decode(t)
                .map_err(|_| CryptoError::MasterKey("expected 64 hex digits or base64 of 32 bytes".into()))?
        });
        let arr: [u8; 32] =
            bytes.as_slice().try_into().map_err(|_| CryptoError::MasterKey("must be exactly 32 bytes".into()))?;
        Ok(MasterKey(Key(arr)))
    }

    /// Creates a new random master key file with mode 0600; refuses to overwrite.
    pub fn create_file(path: &Path) -> Result<Self, CryptoError> {
        use std::io::Write;
        let key = Key::random();
        let text = Zeroizing::new(STANDARD.encode(key.0));
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f =
            opts.open(path).map_err(|e| CryptoError::MasterKey(format!("cannot create {}: {e}", path.display())))?;
        f.write_all(text.as_bytes())
            .and_then(|_| f.write_all(b"\n"))
            .and_then(|_| f.sync_all())
            .map_err(|e| CryptoError::MasterKey(format!("cannot write {}: {e}", path.display())))?;
        Ok(MasterKey(key))
    }

    /// The key as its key file holds it (base64), for an export.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(self.0 .0))
    }

    /// The key as 64 hex digits in groups of four, for a printed sheet.
    pub fn to_hex_groups(&self) -> Zeroizing<String> {
        let hex: Zeroizing<String> = Zeroizing::new(self.0 .0.iter().map(|b| format!("{b:02x}")).collect());
        Zeroizing::new(
            hex.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" "),
        )
    }

    /// A fingerprint that names the key without revealing it: the first
    /// 8 bytes of SHA-256 over a label and the key, as hex.
    pub fn fingerprint(&self) -> String {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(b"varuh/master-key-fingerprint/v1\0");
        h.update(self.0 .0);
        h.finalize()[..8].iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn load_file(path: &Path) -> Result<Self, CryptoError> {
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| CryptoError::MasterKey(format!("cannot read {}: {e}", path.display())))?,
        );
        Self::parse(&text)
    }

    /// Makes a new tenant root key; returns it and its wrapped form for storage.
    pub fn new_tenant(&self, tenant_id: Uuid) -> (TenantKeys, Vec<u8>) {
        let root = Key::random();
        let wrapped = self.0.wrap_key(&tenant_ad(tenant_id), &root);
        (TenantKeys::derive(&root), wrapped)
    }

    pub fn open_tenant(&self, tenant_id: Uuid, wrapped: &[u8]) -> Result<TenantKeys, CryptoError> {
        let root = self.0.unwrap_key(&tenant_ad(tenant_id), wrapped)?;
        Ok(TenantKeys::derive(&root))
    }

    /// The Ed25519 key that signs audit tree heads: derived from the master
    /// key (so every server of one deployment signs alike), never stored.
    pub fn audit_signer(&self) -> AuditSigner {
        let seed = self.0.hkdf(b"varuh/audit-signing/v1");
        let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(&seed.0).expect("32 bytes is an Ed25519 seed");
        AuditSigner(pair)
    }

    /// Keys for system-wide secrets (staff names): derived, never stored.
    pub fn system(&self) -> TenantKeys {
        TenantKeys::derive(&self.0.hkdf(b"varuh/system/v1"))
    }
}

/// Signs audit checkpoints (Ed25519, through ring).
pub struct AuditSigner(ring::signature::Ed25519KeyPair);

impl AuditSigner {
    /// A signer from a raw Ed25519 seed (known-answer tests, key import).
    pub fn from_seed(seed: &[u8; 32]) -> AuditSigner {
        AuditSigner(ring::signature::Ed25519KeyPair::from_seed_unchecked(seed).expect("32 bytes is an Ed25519 seed"))
    }

    pub fn public_key(&self) -> [u8; 32] {
        use ring::signature::KeyPair;
        self.0.public_key().as_ref().try_into().expect("Ed25519 public keys are 32 bytes")
    }

    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.0.sign(msg).as_ref().try_into().expect("Ed25519 signatures are 64 bytes")
    }
}

/// Checks an Ed25519 signature.
pub fn verify_ed25519(public_key: &[u8; 32], msg: &[u8], signature: &[u8]) -> bool {
    ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, public_key).verify(msg, signature).is_ok()
}

fn tenant_ad(tenant_id: Uuid) -> Vec<u8> {
    let mut ad = b"varuh/tenant-key/v1\0".to_vec();
    ad.extend_from_slice(tenant_id.as_bytes());
    ad
}

/// A tenant's working keys, derived from its root key. Kept in memory only.
pub struct TenantKeys {
    enc: Key,
    index: Key,
}

impl TenantKeys {
    fn derive(root: &Key) -> Self {
        TenantKeys { enc: root.hkdf(b"varuh/tenant/enc/v1"), index: root.hkdf(b"varuh/tenant/index/v1") }
    }

    /// Blind index of a normalised identifier (see `domain::identifiers`).
    pub fn blind_index(&self, kind: &str, normalised: &str) -> [u8; 32] {
        self.index.hmac(&[b"varuh/blind/v1", kind.as_bytes(), normalised.as_bytes()])
    }

    pub fn new_subject_key(&self, tenant_id: Uuid, subject_id: Uuid) -> (SubjectKey, Vec<u8>) {
        let k = Key::random();
        let wrapped = self.enc.wrap_key(&subject_ad(tenant_id, subject_id), &k);
        (SubjectKey(k), wrapped)
    }

    pub fn open_subject_key(
        &self,
        tenant_id: Uuid,
        subject_id: Uuid,
        wrapped: &[u8],
    ) -> Result<SubjectKey, CryptoError> {
        self.enc.unwrap_key(&subject_ad(tenant_id, subject_id), wrapped).map(SubjectKey)
    }

    /// Seals a small secret that is not a subject's (e.g. a staff login name).
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Vec<u8> {
        self.enc.seal(context.as_bytes(), plaintext)
    }

    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        self.enc.open(context.as_bytes(), sealed)
    }
}

fn subject_ad(tenant_id: Uuid, subject_id: Uuid) -> Vec<u8> {
    let mut ad = b"varuh/subject-key/v1\0".to_vec();
    ad.extend_from_slice(tenant_id.as_bytes());
    ad.extend_from_slice(subject_id.as_bytes());
    ad
}

/// Where a sealed field lives; bound into its AEAD tag.
pub struct FieldContext<'a> {
    pub tenant: Uuid,
    pub collection: Uuid,
    pub record: Uuid,
    pub field: &'a str,
}

impl FieldContext<'_> {
    fn ad(&self) -> Vec<u8> {
        let mut ad = Vec::with_capacity(64 + self.field.len());
        ad.extend_from_slice(b"varuh/field/v1\0");
        ad.extend_from_slice(self.tenant.as_bytes());
        ad.extend_from_slice(self.collection.as_bytes());
        ad.extend_from_slice(self.record.as_bytes());
        ad.extend_from_slice(self.field.as_bytes());
        ad
    }
}

/// A data subject's key: every field of every record about them is sealed with it.
pub struct SubjectKey(Key);

impl SubjectKey {
    pub fn seal_field(&self, ctx: &FieldContext<'_>, plaintext: &[u8]) -> Vec<u8> {
        self.0.seal(&ctx.ad(), plaintext)
    }

    pub fn open_field(&self, ctx: &FieldContext<'_>, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        self.0.open(&ctx.ad(), sealed)
    }
}

/// A fresh bearer token (256 bits, URL-safe base64).
pub fn new_token() -> String {
    let mut b = [0u8; 32];
    OsRng.fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// The look-up key of a bearer token: tokens are stored only as this hash.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A random password for generated accounts: 20 characters, ~119 bits.
pub fn new_password() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut out = String::with_capacity(20);
    let mut b = [0u8; 1];
    while out.len() < 20 {
        OsRng.fill_bytes(&mut b);
        // Rejection sampling keeps the distribution uniform.
        if (b[0] as usize) < 256 - (256 % ALPHABET.len()) {
            out.push(ALPHABET[b[0] as usize % ALPHABET.len()] as char);
        }
    }
    out
}

static ARGON2: std::sync::OnceLock<argon2::Params> = std::sync::OnceLock::new();

/// Sets the Argon2id parameters of new password hashes (once, at start-up;
/// from the configuration). Without it: the `argon2` crate's defaults
/// (OWASP's m=19 MiB, t=2, p=1). Verification reads the parameters stored
/// in each hash, so old hashes keep working after a change.
pub fn set_argon2_params(memory_kib: u32, iterations: u32, parallelism: u32) -> Result<(), CryptoError> {
    let p = argon2::Params::new(memory_kib, iterations, parallelism, None).map_err(|_| CryptoError::Hash)?;
    let _ = ARGON2.set(p);
    Ok(())
}

fn argon2() -> Argon2<'static> {
    let p = ARGON2.get().cloned().unwrap_or_default();
    Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, p)
}

/// Argon2id with the configured parameters (default m=19 MiB, t=2, p=1).
pub fn hash_password(password: &str) -> Result<String, CryptoError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|_| CryptoError::Hash)
}

/// Constant-time verification (inside `argon2`).
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(h) => Argon2::default().verify_password(password.as_bytes(), &h).is_ok(),
        Err(_) => false,
    }
}

/// A hash that costs as much as a real verification, for unknown users, so
/// that response time does not reveal whether an account exists.
pub fn burn_password_check(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let phc = DUMMY.get_or_init(|| hash_password("varuh-dummy-password").unwrap_or_default());
    let _ = verify_password(password, phc);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_does_not_open_in_another_context() {
        let mk = MasterKey(Key::random());
        let t = Uuid::now_v7();
        let (tk, wrapped) = mk.new_tenant(t);
        let s = Uuid::now_v7();
        let (sk, wsk) = tk.new_subject_key(t, s);
        let ctx = FieldContext { tenant: t, collection: Uuid::now_v7(), record: Uuid::now_v7(), field: "email" };
        let sealed = sk.seal_field(&ctx, b"ana@example.com");
        assert_eq!(&*sk.open_field(&ctx, &sealed).unwrap(), b"ana@example.com");
        let other = FieldContext { field: "phone", ..ctx };
        assert!(sk.open_field(&other, &sealed).is_err());
        // The whole chain re-opens from the stored, wrapped forms.
        let tk2 = mk.open_tenant(t, &wrapped).unwrap();
        let sk2 = tk2.open_subject_key(t, s, &wsk).unwrap();
        let ctx = FieldContext { field: "email", ..other };
        assert_eq!(&*sk2.open_field(&ctx, &sealed).unwrap(), b"ana@example.com");
        // A wrapped subject key does not open for another subject id.
        assert!(tk2.open_subject_key(t, Uuid::now_v7(), &wsk).is_err());
        assert!(mk.open_tenant(Uuid::now_v7(), &wrapped).is_err());
    }

    #[test]
    fn blind_index_is_keyed_per_tenant() {
        let mk = MasterKey(Key::random());
        let (a, _) = mk.new_tenant(Uuid::now_v7());
        let (b, _) = mk.new_tenant(Uuid::now_v7());
        assert_eq!(a.blind_index("email", "x@y.si"), a.blind_index("email", "x@y.si"));
        assert_ne!(a.blind_index("email", "x@y.si"), b.blind_index("email", "x@y.si"));
        assert_ne!(a.blind_index("email", "x@y.si"), a.blind_index("phone", "x@y.si"));
    }

    #[test]
    fn master_key_parses_hex_and_base64_and_rejects_short() {
        let hex = "00".repeat(32);
        assert!(MasterKey::parse(&hex).is_ok());
        assert!(MasterKey::parse(&STANDARD.encode([7u8; 32])).is_ok());
        assert!(MasterKey::parse(&STANDARD.encode([7u8; 16])).is_err());
        assert!(MasterKey::parse("nonsense!").is_err());
    }

    #[test]
    fn passwords_verify_only_when_right() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct hors", &h));
        let p = new_password();
        assert_eq!(p.len(), 20);
    }
}

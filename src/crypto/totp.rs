//! TOTP second factor for staff sign-in (AUTH-4): RFC 6238 with the parameters
//! every authenticator app and `oathtool --totp` use by default — HMAC-SHA-1,
//! 6 digits, 30-second steps, 160-bit secrets.
//!
//! Design: the HOTP/TOTP arithmetic is `totp-rs` (built on RustCrypto's `hmac`
//! and `sha1`, the same `hmac` 0.12 the rest of the crate uses); nothing here
//! computes an HMAC or truncates one by hand. This module adds what a server
//! needs around it: a secret type that is wiped on drop and never printed,
//! strict parsing of what the user typed, a window of one step either side
//! (RFC 6238 §5.2), constant-time comparison, and replay refusal — `verify`
//! returns the matched time step, the caller stores it, and no step at or
//! before the stored one is ever accepted again (RFC 6238 §5.2: a code is
//! valid once only). The otpauth URI is built here rather than by `totp-rs`,
//! because its builder leaves out `algorithm`, `digits` and `period` when they
//! are the defaults; some apps want them spelled out. The QR code is rendered
//! as SVG by `qrcode` without its `image` feature.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use rand::rngs::OsRng;
use rand::RngCore;
use subtle::{ConditionallySelectable, ConstantTimeEq};
use totp_rs::{Algorithm, TOTP};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Secret length in bytes: 160 bits, the size RFC 4226 §4 recommends.
pub const SECRET_LEN: usize = 20;
/// Seconds per time step.
pub const STEP_SECONDS: i64 = 30;
/// Digits per code.
pub const DIGITS: usize = 6;

/// RFC 3986 unreserved characters stay as they are; everything else in the
/// issuer and account name is percent-encoded (a space becomes `%20`, not `+`).
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TotpError {
    #[error("a TOTP secret must be {SECRET_LEN} bytes, got {0}")]
    Length(usize),
}

/// A TOTP shared secret: 20 random bytes, wiped from memory on drop. Stored
/// sealed (it is as sensitive as a password); never logged.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct TotpSecret([u8; SECRET_LEN]);

impl TotpSecret {
    /// A fresh secret from the operating system's CSPRNG.
    pub fn generate() -> Self {
        let mut b = [0u8; SECRET_LEN];
        OsRng.fill_bytes(&mut b);
        TotpSecret(b)
    }

    /// The secret back from sealed storage; exactly 20 bytes.
    pub fn from_bytes(b: &[u8]) -> Result<Self, TotpError> {
        let arr: [u8; SECRET_LEN] = b.try_into().map_err(|_| TotpError::Length(b.len()))?;
        Ok(TotpSecret(arr))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// RFC 4648 base32, upper case, no padding (32 characters): for manual
    /// entry into an app, or `oathtool --totp -b`.
    pub fn base32(&self) -> String {
        self.engine().get_secret_base32()
    }

    /// `otpauth://totp/<issuer>:<account>?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30`
    /// (Google's Key URI format). Issuer and account are percent-encoded, so
    /// a colon inside either becomes `%3A` and cannot split the label.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        let issuer = utf8_percent_encode(issuer, URI_COMPONENT);
        let account = utf8_percent_encode(account, URI_COMPONENT);
        format!(
            "otpauth://totp/{issuer}:{account}?secret={}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
            self.base32()
        )
    }

    /// The time step (`unix_seconds / 30`) that `code` matches at `now_ms`,
    /// trying the current step and one either side. All three candidates are
    /// computed and compared in constant time. `None` if nothing matches, if
    /// `code` is not six digits (surrounding whitespace and one space between
    /// the two halves, "123 456", are allowed), or if the matched step is not
    /// later than `last_used_step` — each step is accepted once only, so a
    /// code seen over someone's shoulder cannot be replayed. The caller stores
    /// the returned step as the new `last_used_step`.
    pub fn verify(&self, code: &str, now_ms: i64, last_used_step: Option<i64>) -> Option<i64> {
        let typed = parse_code(code)?;
        let current = now_ms.div_euclid(STEP_SECONDS * 1000);
        let engine = self.engine();
        let mut matched = 0u64;
        let mut found = subtle::Choice::from(0);
        // Later steps last so that, in the (one in a million) case of two
        // steps sharing a code, the latest matching step wins.
        for step in [current - 1, current, current + 1] {
            let fresh = last_used_step.is_none_or(|last| step > last);
            if step < 0 || !fresh {
                continue;
            }
            let expected = engine.generate((step * STEP_SECONDS) as u64);
            let eq = expected.as_bytes().ct_eq(&typed[..]);
            matched.conditional_assign(&(step as u64), eq);
            found |= eq;
        }
        bool::from(found).then_some(matched as i64)
    }

    /// The code for the step containing `now_ms` (tests, tools, enrolment
    /// self-checks). Times before 1970 give the code of step 0.
    pub fn code_at(&self, now_ms: i64) -> String {
        let step = now_ms.div_euclid(STEP_SECONDS * 1000).max(0);
        self.engine().generate((step * STEP_SECONDS) as u64)
    }

    /// A `totp-rs` generator over a copy of the secret; `totp-rs` is built
    /// with its `zeroize` feature, so the copy is wiped when it is dropped.
    fn engine(&self) -> TOTP {
        TOTP::new_unchecked(Algorithm::SHA1, DIGITS, 1, STEP_SECONDS as u64, self.0.to_vec(), None, String::new())
    }
}

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

/// Six ASCII digits, after trimming and removing at most one space between
/// the third and fourth digit; anything else is `None`.
fn parse_code(code: &str) -> Option<[u8; DIGITS]> {
    let t = code.trim().as_bytes();
    let digits: Vec<u8> = match t.len() {
        6 => t.to_vec(),
        7 if t[3] == b' ' => t[..3].iter().chain(&t[4..]).copied().collect(),
        _ => return None,
    };
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    digits.try_into().ok()
}

/// The otpauth URI as an SVG QR code (error correction level M), for the
/// enrolment page. Should the text not fit in a QR code (several kilobytes:
/// only with absurd issuer or account names), the SVG says so instead, and
/// the user can still type in the base32 secret.
pub fn qr_svg(uri: &str) -> String {
    use qrcode::render::svg;
    use qrcode::{EcLevel, QrCode};
    match QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M) {
        Ok(code) => code.render::<svg::Color>().min_dimensions(256, 256).quiet_zone(true).build(),
        Err(_) => concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="256" height="64" viewBox="0 0 256 64">"#,
            r#"<text x="8" y="36" font-size="14">Too long for a QR code: enter the key by hand.</text></svg>"#
        )
        .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 column: the seed is the ASCII string
    /// "12345678901234567890" (20 bytes).
    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(b"12345678901234567890").unwrap()
    }

    const RFC_VECTORS: [(i64, &str); 6] = [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ];

    #[test]
    fn rfc6238_vectors_eight_digits_through_the_crate() {
        // The crate itself reproduces the 8-digit vectors of the RFC.
        let totp =
            TOTP::new_unchecked(Algorithm::SHA1, 8, 1, 30, b"12345678901234567890".to_vec(), None, String::new());
        for (t, want) in RFC_VECTORS {
            assert_eq!(totp.generate(t as u64), want, "t = {t}");
        }
    }

    #[test]
    fn rfc6238_vectors_six_digits() {
        // A 6-digit code is the same number modulo 10^6: the last six digits.
        let s = rfc_secret();
        for (t, want8) in RFC_VECTORS {
            let want = &want8[2..];
            assert_eq!(s.code_at(t * 1000), want, "t = {t}");
            assert_eq!(s.verify(want, t * 1000, None), Some(t / 30), "t = {t}");
        }
        assert_eq!(s.code_at(59_000), "287082");
    }

    #[test]
    fn drift_of_one_step_accepted_two_refused() {
        let s = TotpSecret::generate();
        let now = 1_700_000_000_000i64;
        let step = now / 30_000;
        for d in [-1i64, 0, 1] {
            let code = s.code_at(now + d * 30_000);
            assert_eq!(s.verify(&code, now, None), Some(step + d), "drift {d}");
        }
        for d in [-2i64, 2] {
            let code = s.code_at(now + d * 30_000);
            // Guard against the rare coincidence of equal codes in the window.
            let collides = (-1..=1).any(|e| s.code_at(now + e * 30_000) == code);
            if !collides {
                assert_eq!(s.verify(&code, now, None), None, "drift {d}");
            }
        }
    }

    #[test]
    fn replay_refused_later_step_accepted() {
        let s = rfc_secret();
        let now = 1_111_111_111_000i64;
        let code = s.code_at(now);
        let step = s.verify(&code, now, None).unwrap();
        assert_eq!(s.verify(&code, now, Some(step)), None);
        assert_eq!(s.verify(&code, now + 5_000, Some(step)), None);
        // The previous step's code is older than the last used one: refused too.
        assert_eq!(s.verify(&s.code_at(now - 30_000), now, Some(step)), None);
        let later = now + 30_000;
        assert_eq!(s.verify(&s.code_at(later), later, Some(step)), Some(step + 1));
    }

    #[test]
    fn formats() {
        let s = rfc_secret();
        let now = 59_000;
        assert_eq!(s.verify("287082", now, None), Some(1));
        assert_eq!(s.verify("  287082\n", now, None), Some(1));
        assert_eq!(s.verify("287 082", now, None), Some(1));
        for bad in [
            "",
            "28708",
            "2870820",
            "94287082",
            "28708a",
            "287-082",
            "28 7082",
            "287  082",
            "２８７０８２",
            "+287082",
            "287082x",
        ] {
            assert_eq!(s.verify(bad, now, None), None, "{bad:?}");
        }
    }

    #[test]
    fn bytes_round_trip_and_length() {
        let s = TotpSecret::generate();
        let t = TotpSecret::from_bytes(s.as_bytes()).unwrap();
        assert_eq!(s.as_bytes(), t.as_bytes());
        assert_eq!(TotpSecret::from_bytes(&[0; 16]).unwrap_err(), TotpError::Length(16));
        assert_ne!(TotpSecret::generate().as_bytes(), s.as_bytes());
    }

    #[test]
    fn base32_and_debug() {
        let s = rfc_secret();
        assert_eq!(s.base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let dbg = format!("{s:?}");
        assert!(!dbg.contains("GEZDG") && !dbg.contains("49, 50"), "{dbg}");
    }

    #[test]
    fn uri_parses_back() {
        let s = TotpSecret::generate();
        let uri = s.otpauth_uri("Varuh Example", "alice@example.org");
        assert!(uri.starts_with("otpauth://totp/Varuh%20Example:alice%40example.org?"), "{uri}");
        assert!(uri.contains(&format!("secret={}", s.base32())));
        assert!(uri.contains("issuer=Varuh%20Example"));
        assert!(uri.ends_with("&algorithm=SHA1&digits=6&period=30"));
        // An independent parser (totp-rs) reads back the same secret and names.
        let parsed = TOTP::from_url(&uri).unwrap();
        assert_eq!(parsed.secret, s.as_bytes());
        assert_eq!(parsed.issuer.as_deref(), Some("Varuh Example"));
        assert_eq!(parsed.account_name, "alice@example.org");
        assert_eq!((parsed.digits, parsed.step), (6, 30));
        // A colon in a name is encoded and cannot split the label.
        let odd = s.otpauth_uri("a:b", "c:d");
        assert!(odd.starts_with("otpauth://totp/a%3Ab:c%3Ad?"), "{odd}");
    }

    #[test]
    fn qr_is_svg() {
        let s = TotpSecret::generate();
        let svg = qr_svg(&s.otpauth_uri("varuh", "alice"));
        assert!(svg.starts_with("<?xml") || svg.starts_with("<svg"));
        assert!(svg.contains("<svg") && svg.trim_end().ends_with("</svg>"));
        let too_long = qr_svg(&"x".repeat(10_000));
        assert!(too_long.starts_with("<svg"));
    }
}

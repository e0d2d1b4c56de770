//! One-time recovery codes for the second factor (AUTH-4): shown to the user
//! once at enrolment, stored only as hashes, each usable once (the caller
//! deletes the hash that `find` matched).
//!
//! Design: a code is 16 characters from Crockford's base32 alphabet in four
//! groups (`k7m2-9xqa-p4tz-w8hn`), 80 bits from the OS CSPRNG. The alphabet
//! has no `i`, `l`, `o` or `u`; on input `o` is read as `0` and `i`/`l` as `1`,
//! case does not matter and spaces and dashes are ignored, so a code copied
//! from paper still works. Because the codes are long random values (like
//! bearer tokens) a fast hash, SHA-256 of the normalised code, is enough: no
//! salt or password hash is needed against guessing. 80 rather than 60 bits
//! because the hashes are unsalted: an attacker holding a stolen table of N
//! hashes searches all of them at once, so the margin must cover N.

use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

/// Crockford's base32 alphabet, lower case: 32 symbols, 5 bits each.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const GROUPS: usize = 4;
const GROUP_LEN: usize = 4;

/// How many codes a user receives at enrolment.
pub const DEFAULT_COUNT: usize = 10;

/// `n` fresh random codes, distinct, formatted `xxxx-xxxx-xxxx-xxxx` (80 bits each).
pub fn generate(n: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(n);
    while out.len() < n {
        let code = one_code();
        // A repeat is a 2^-80 event; refusing it keeps "distinct" a guarantee.
        if !out.contains(&code) {
            out.push(code);
        }
    }
    out
}

fn one_code() -> String {
    let mut bytes = [0u8; GROUPS * GROUP_LEN];
    OsRng.fill_bytes(&mut bytes);
    let mut s = String::with_capacity(GROUPS * (GROUP_LEN + 1));
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 && i % GROUP_LEN == 0 {
            s.push('-');
        }
        // 32 divides 256, so the low five bits are uniform.
        s.push(ALPHABET[(b & 31) as usize] as char);
    }
    bytes.fill(0);
    s
}

/// The normalised form: lower case, spaces and dashes removed, and the
/// look-alikes outside the alphabet mapped (`o` → `0`, `i`/`l` → `1`).
fn normalise(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_lowercase() {
            'o' => '0',
            'i' | 'l' => '1',
            other => other,
        })
        .collect()
}

/// SHA-256 of the normalised code: what is stored.
pub fn hash(code: &str) -> [u8; 32] {
    Sha256::digest(normalise(code).as_bytes()).into()
}

/// The index of the stored hash that `code` matches. Every stored hash is
/// compared, in constant time, with no early exit, so the timing says
/// nothing about which (or whether any) code matched.
pub fn find(code: &str, stored: &[[u8; 32]]) -> Option<usize> {
    let h = hash(code);
    let mut found = Choice::from(0);
    let mut index = 0u64;
    for (i, s) in stored.iter().enumerate() {
        let eq = s[..].ct_eq(&h[..]);
        index.conditional_assign(&(i as u64), eq & !found);
        found |= eq;
    }
    bool::from(found).then_some(index as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_distinct_well_formed() {
        let codes = generate(DEFAULT_COUNT);
        assert_eq!(codes.len(), 10);
        let set: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(set.len(), 10);
        for c in &codes {
            assert_eq!(c.len(), 19, "{c}");
            let groups: Vec<&str> = c.split('-').collect();
            assert_eq!(groups.len(), 4);
            assert!(groups.iter().all(|g| g.len() == 4 && g.bytes().all(|b| ALPHABET.contains(&b))), "{c}");
            // Normalising a generated code only drops the dashes.
            assert_eq!(normalise(c), c.replace('-', ""));
        }
        // Entropy: 16 symbols of 5 bits.
        const { assert!(GROUPS * GROUP_LEN * 5 >= 60) };
        assert!(generate(0).is_empty());
    }

    #[test]
    fn normalisation() {
        let h = hash("k7m2-9xqa-p4tz-w8h1");
        assert_eq!(hash("K7M2 9XQA P4TZ W8H1"), h);
        assert_eq!(hash(" k7m29xqap4tzw8h1 \n"), h);
        assert_eq!(hash("k7m2--9xqa-p4tz-w8hl"), h); // l read as 1
        assert_eq!(hash("k7m2-9xqa-p4tz-w8hI"), h); // I read as 1
        assert_eq!(hash("1o1o"), hash("1010"));
        assert_ne!(hash("k7m2-9xqa-p4tz-w8h2"), h);
        assert_eq!(h, <[u8; 32]>::from(Sha256::digest(b"k7m29xqap4tzw8h1")));
    }

    #[test]
    fn find_index_and_miss() {
        let codes = generate(10);
        let stored: Vec<[u8; 32]> = codes.iter().map(|c| hash(c)).collect();
        for (i, c) in codes.iter().enumerate() {
            assert_eq!(find(c, &stored), Some(i));
            assert_eq!(find(&c.to_uppercase().replace('-', " "), &stored), Some(i));
        }
        assert_eq!(find("0000-0000-0000-0000", &stored), None);
        assert_eq!(find("", &stored), None);
        assert_eq!(find(&codes[0], &[]), None);
        // Once the caller removes a used hash, the code no longer works.
        let mut remaining = stored.clone();
        remaining.remove(3);
        assert_eq!(find(&codes[3], &remaining), None);
        assert_eq!(find(&codes[4], &remaining), Some(3));
    }
}

//! Password rules of a tenant (AUTH-2): length, optional character classes,
//! optional expiry, history depth, the common-password blocklist and the
//! login-name rule, checked on every new password.
//!
//! Design: pure data and pure functions, no clock and no hashing. The service
//! layer passes the password as typed, the login name and the times in
//! milliseconds; it keeps the hashes (Argon2id) and checks history itself,
//! this module only carries the number. Every refusal names exactly one rule
//! and the policy key behind it, never the password. The defaults are the
//! recommended rules (NIST SP 800-63B, OWASP ASVS 5): long passwords, no
//! composition rules, no expiry, a blocklist; composition and expiry exist
//! only because seed companies promise them.
//!
//! Characters are Unicode scalar values (`char`); passwords are not
//! normalised (NFKC needs Unicode tables this crate does not carry), so the
//! same bytes must be typed to sign in. Control characters are refused
//! because they cannot be typed reliably and break logs and terminals.

use std::collections::HashSet;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::Invalid;

/// The shortest `min_length` a policy may set: the lowest any seed promises
/// (003 Art. 15); anything shorter is no measure at all.
pub const MIN_MIN_LENGTH: u32 = 6;
/// `max_length` must allow at least this many characters (NIST SP 800-63B,
/// ASVS 5: at least 64, so passphrases fit).
pub const MIN_MAX_LENGTH: u32 = 64;
/// The largest `max_length`: bounds the work one sign-in can cause.
pub const MAX_MAX_LENGTH: u32 = 1024;
/// The deepest history varuh keeps (each kept hash costs one Argon2
/// verification per password change).
pub const MAX_HISTORY: u32 = 24;
/// The longest expiry period a policy may set (ten years).
pub const MAX_AGE_DAYS_LIMIT: u32 = 3650;
/// Login names shorter than this are not looked for inside passwords: they
/// would refuse many good passwords by chance.
pub const MIN_USERNAME_CHECK: usize = 3;

const DAY_MS: i64 = 86_400_000;

/// The password part of a tenant's [`super::policy::Policy`] (`[password]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordPolicy {
    /// Fewest characters (`char`s) a password may have.
    pub min_length: u32,
    /// Most characters a password may have; at least 64.
    pub max_length: u32,
    /// At least one lower-case letter (Unicode `Lowercase`).
    pub require_lower: bool,
    /// At least one upper-case letter (Unicode `Uppercase`).
    pub require_upper: bool,
    /// At least one digit (Unicode numeric: `0-9` and other scripts' digits).
    pub require_digit: bool,
    /// At least one symbol: a character that is neither a letter, a digit,
    /// white space nor a control character (punctuation, `$`, `€`, emoji…).
    /// White space is allowed in passwords but does not count as a symbol:
    /// an invisible space is not what a "special character" rule promises.
    pub require_symbol: bool,
    /// Days after which a password must be changed; `None`: never.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_age_days: Option<u32>,
    /// How many earlier passwords may not be set again (0: no history).
    pub history: u32,
    /// Refuse passwords on the embedded common-password list.
    pub blocklist: bool,
    /// Refuse passwords that contain the login name (case-insensitive).
    pub refuse_username: bool,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy::recommended()
    }
}

impl PasswordPolicy {
    /// NIST SP 800-63B / OWASP ASVS 5: at least 12 characters, up to 128,
    /// no composition rules, no expiry, no history, blocklist on.
    pub fn recommended() -> Self {
        PasswordPolicy {
            min_length: 12,
            max_length: 128,
            require_lower: false,
            require_upper: false,
            require_digit: false,
            require_symbol: false,
            max_age_days: None,
            history: 0,
            blocklist: true,
            refuse_username: true,
        }
    }

    /// Checks that the rules themselves make sense; fields are named
    /// `password.<key>`.
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.min_length < MIN_MIN_LENGTH {
            return Err(Invalid::new(
                "password.min_length",
                format!("must be at least {MIN_MIN_LENGTH}: shorter passwords protect nothing"),
            ));
        }
        if self.max_length < MIN_MAX_LENGTH {
            return Err(Invalid::new(
                "password.max_length",
                format!("must be at least {MIN_MAX_LENGTH}, so that passphrases fit (NIST SP 800-63B)"),
            ));
        }
        if self.max_length > MAX_MAX_LENGTH {
            return Err(Invalid::new("password.max_length", format!("must be at most {MAX_MAX_LENGTH}")));
        }
        if self.max_length < self.min_length {
            return Err(Invalid::new("password.max_length", "must not be less than password.min_length"));
        }
        if let Some(days) = self.max_age_days {
            if days == 0 || days > MAX_AGE_DAYS_LIMIT {
                return Err(Invalid::new(
                    "password.max_age_days",
                    format!("must be 1-{MAX_AGE_DAYS_LIMIT} days, or left out for no expiry"),
                ));
            }
        }
        if self.history > MAX_HISTORY {
            return Err(Invalid::new("password.history", format!("must be at most {MAX_HISTORY}")));
        }
        Ok(())
    }

    /// Checks a new password; the refusal names exactly the rule that failed, e.g.
    /// `Invalid { field: "new_password", message: "must be at least 12 characters long (password.min_length)" }`.
    ///
    /// Order: control characters, minimum length, maximum length, lower,
    /// upper, digit, symbol, login name, blocklist; the first failing rule
    /// is reported.
    pub fn check(&self, field: &str, password: &str, username: &str) -> Result<(), Invalid> {
        if password.chars().any(char::is_control) {
            return Err(Invalid::new(field, "must not contain control characters"));
        }
        let length = password.chars().count();
        if length < self.min_length as usize {
            return Err(Invalid::new(
                field,
                format!("must be at least {} characters long (password.min_length)", self.min_length),
            ));
        }
        if length > self.max_length as usize {
            return Err(Invalid::new(
                field,
                format!("must be at most {} characters long (password.max_length)", self.max_length),
            ));
        }
        if self.require_lower && !password.chars().any(char::is_lowercase) {
            return Err(Invalid::new(field, "must contain a lower-case letter (password.require_lower)"));
        }
        if self.require_upper && !password.chars().any(char::is_uppercase) {
            return Err(Invalid::new(field, "must contain an upper-case letter (password.require_upper)"));
        }
        if self.require_digit && !password.chars().any(char::is_numeric) {
            return Err(Invalid::new(field, "must contain a digit (password.require_digit)"));
        }
        if self.require_symbol && !password.chars().any(is_symbol) {
            return Err(Invalid::new(
                field,
                "must contain a symbol, a character that is not a letter, digit or space (password.require_symbol)",
            ));
        }
        if self.refuse_username && contains_username(password, username) {
            return Err(Invalid::new(field, "must not contain the login name (password.refuse_username)"));
        }
        if self.blocklist && is_common(password) {
            return Err(Invalid::new(field, "must not be a commonly used password (password.blocklist)"));
        }
        Ok(())
    }

    /// Whether a password set at `changed_at_ms` must be changed at `now_ms`
    /// (both milliseconds since the Unix epoch). Never with no `max_age_days`;
    /// never when the clock reads earlier than the change.
    pub fn expired(&self, changed_at_ms: i64, now_ms: i64) -> bool {
        match self.max_age_days {
            None => false,
            Some(days) => {
                let age = now_ms.saturating_sub(changed_at_ms);
                age >= 0 && age >= i64::from(days).saturating_mul(DAY_MS)
            }
        }
    }

    /// A one-line human description of each rule in force (for
    /// `varuh policy show` and the TOMs statement).
    pub fn describe(&self) -> Vec<String> {
        let mut lines =
            vec![format!("Passwords have at least {} and at most {} characters.", self.min_length, self.max_length)];
        let classes: Vec<&str> = [
            (self.require_lower, "a lower-case letter"),
            (self.require_upper, "an upper-case letter"),
            (self.require_digit, "a digit"),
            (self.require_symbol, "a symbol"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, what)| *what)
        .collect();
        if !classes.is_empty() {
            lines.push(format!("Passwords must contain {}.", join_and(&classes)));
        }
        match self.max_age_days {
            Some(days) => lines.push(format!("Passwords must be changed every {days} days.")),
            None => lines.push("Passwords do not expire by age.".to_string()),
        }
        if self.history > 0 {
            lines.push(format!("None of a user's last {} passwords may be used again.", self.history));
        }
        if self.blocklist {
            lines.push(format!(
                "Passwords on a list of the {} most common passwords are refused.",
                thousands(common_count())
            ));
        }
        if self.refuse_username {
            lines.push("Passwords that contain the user's login name are refused.".to_string());
        }
        lines
    }
}

/// A symbol for `require_symbol`: not alphanumeric (Unicode-aware), not
/// white space, not a control character.
pub fn is_symbol(c: char) -> bool {
    !c.is_alphanumeric() && !c.is_whitespace() && !c.is_control()
}

/// Whether `password` contains the login name, or the local part of an
/// e-mail login name, ignoring case; names shorter than
/// [`MIN_USERNAME_CHECK`] characters are not looked for.
fn contains_username(password: &str, username: &str) -> bool {
    let password = password.to_lowercase();
    let username = username.trim().to_lowercase();
    let mut names = vec![username.as_str()];
    if let Some((local, _)) = username.rsplit_once('@') {
        names.push(local);
    }
    names.iter().any(|name| name.chars().count() >= MIN_USERNAME_CHECK && password.contains(name))
}

/// 10000 -> "10,000".
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

fn join_and(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} and {}", init.join(", "), last),
    }
}

static COMMON_LIST: &str = include_str!("common_passwords.txt");
static COMMON: OnceLock<HashSet<&'static str>> = OnceLock::new();

fn common_set() -> &'static HashSet<&'static str> {
    COMMON.get_or_init(|| COMMON_LIST.lines().map(str::trim).filter(|l| !l.is_empty()).collect())
}

/// How many passwords the embedded list holds.
pub fn common_count() -> usize {
    common_set().len()
}

/// Case-insensitive membership in the embedded common-password list (the
/// 10,000 most common passwords, lower-cased: see `common_passwords.LICENSE`).
pub fn is_common(password: &str) -> bool {
    common_set().contains(password.to_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::super::policy::Policy;
    use super::*;

    fn two_mobile() -> PasswordPolicy {
        Policy::from_toml(include_str!("../../examples/policies/2mobile.toml")).unwrap().password
    }

    fn ham() -> PasswordPolicy {
        Policy::from_toml(include_str!("../../examples/policies/ham.toml")).unwrap().password
    }

    fn refusal(policy: &PasswordPolicy, password: &str) -> String {
        policy.check("new_password", password, "ana.novak@example.com").unwrap_err().message
    }

    #[test]
    fn auth2_list_holds_at_least_10000_lower_case_entries() {
        assert!(common_count() >= 10_000, "{}", common_count());
        assert!(COMMON_LIST.lines().all(|l| l == l.to_lowercase() && !l.is_empty()));
    }

    #[test]
    fn auth2_recommended_is_nist_and_asvs() {
        let p = PasswordPolicy::recommended();
        p.validate().unwrap();
        assert!(p.min_length >= 12);
        assert!(p.max_length >= 64);
        assert!(!(p.require_lower || p.require_upper || p.require_digit || p.require_symbol));
        assert_eq!(p.max_age_days, None);
        assert!(p.blocklist);
        assert_eq!(PasswordPolicy::default(), p);
    }

    #[test]
    fn auth2_2mobile_refuses_nine_characters_without_symbol() {
        let p = two_mobile();
        let e = p.check("new_password", "Abcdefg12", "ana").unwrap_err();
        assert_eq!(e.field, "new_password");
        assert!(e.message.contains("password.require_symbol"), "{}", e.message);
        assert!(!e.message.contains("Abcdefg12"));
    }

    #[test]
    fn auth2_2mobile_accepts_compliant_password() {
        let p = two_mobile();
        p.check("new_password", "Tr7!vLq9w", "ana").unwrap();
        p.check("new_password", "Tr7!vLq9wXžČ€", "ana").unwrap();
    }

    #[test]
    fn auth2_2mobile_refusals_name_each_rule_in_order() {
        let p = two_mobile();
        assert!(refusal(&p, "Ab1!efgh").contains("password.min_length"), "8 characters");
        assert!(refusal(&p, "ABCDEFG1!").contains("password.require_lower"));
        assert!(refusal(&p, "abcdefg1!").contains("password.require_upper"));
        assert!(refusal(&p, "Abcdefgh!").contains("password.require_digit"));
        assert!(refusal(&p, "Ana.Novak1!").contains("password.refuse_username"));
    }

    #[test]
    fn auth2_2mobile_expires_after_90_days() {
        let p = two_mobile();
        let t0 = 1_700_000_000_000_i64;
        assert!(p.expired(t0, t0 + 91 * DAY_MS));
        assert!(!p.expired(t0, t0 + 89 * DAY_MS));
        assert!(p.expired(t0, t0 + 90 * DAY_MS));
        assert!(!p.expired(t0, t0 - DAY_MS), "a clock reading before the change never expires");
        assert!(!PasswordPolicy::recommended().expired(0, i64::MAX));
    }

    #[test]
    fn auth2_blocklist_is_case_insensitive() {
        assert!(is_common("password123"));
        assert!(is_common("PassWord123"));
        assert!(is_common("QWERTY123456"));
        assert!(!is_common("correct horse battery staple 7"));
        let p = PasswordPolicy::recommended();
        let e = p.check("new_password", "Qwerty123456", "ana").unwrap_err();
        assert!(e.message.contains("password.blocklist"), "{}", e.message);
        assert!(refusal(&p, "1Q2W3E4R5T6Y").contains("password.blocklist"));
        p.check("new_password", "lantern-orbit-meadow", "ana").unwrap();
    }

    #[test]
    fn auth2_ham_blocklist_after_composition() {
        let p = ham();
        assert!(refusal(&p, "abc12").contains("password.min_length"));
        assert!(refusal(&p, "abcdef1").contains("password.require_symbol"));
        assert!(refusal(&p, "abc!def").contains("password.require_digit"));
        assert!(refusal(&p, "SASHA_007").contains("password.blocklist"));
        p.check("new_password", "kava#7", "ana").unwrap();
    }

    #[test]
    fn auth2_blocklist_off_accepts_common() {
        let p = PasswordPolicy { blocklist: false, ..PasswordPolicy::recommended() };
        p.check("new_password", "qwerty123456", "ana").unwrap();
    }

    #[test]
    fn auth2_max_length_counts_characters() {
        let p = PasswordPolicy::recommended();
        let ok: String = "ž".repeat(128);
        p.check("new_password", &ok, "ana").unwrap();
        let long: String = "ž".repeat(129);
        let e = p.check("new_password", &long, "ana").unwrap_err();
        assert_eq!(e.message, "must be at most 128 characters long (password.max_length)");
        let e = p.check("new_password", "short", "ana").unwrap_err();
        assert_eq!(e.message, "must be at least 12 characters long (password.min_length)");
        let p = PasswordPolicy { max_length: 64, ..PasswordPolicy::recommended() };
        assert!(refusal(&p, &"x7".repeat(33)).contains("password.max_length"));
    }

    #[test]
    fn auth2_control_characters_are_refused() {
        let p = PasswordPolicy::recommended();
        let e = p.check("new_password", "lantern\u{0}orbit-meadow", "ana").unwrap_err();
        assert_eq!(e.message, "must not contain control characters");
        assert!(refusal(&p, "lantern\norbit-meadow").contains("control"));
        p.check("new_password", "lantern orbit meadow", "ana").unwrap();
    }

    #[test]
    fn symbols_are_unicode_aware() {
        assert!(is_symbol('!') && is_symbol('€') && is_symbol('_') && is_symbol('😀'));
        assert!(!is_symbol('a') && !is_symbol('Ž') && !is_symbol('7') && !is_symbol(' ') && !is_symbol('中'));
        let p = PasswordPolicy { require_symbol: true, ..PasswordPolicy::recommended() };
        assert!(refusal(&p, "lantern orbit meadow").contains("password.require_symbol"));
        p.check("new_password", "lanternorbitmeadow€", "ana").unwrap();
    }

    #[test]
    fn username_rule_ignores_case_and_short_names() {
        let p = PasswordPolicy::recommended();
        assert!(p.check("pw", "my-NOVAK-lantern", "Novak").is_err());
        assert!(p.check("pw", "my-ana.novak-lantern", "ana.novak@example.com").is_err());
        p.check("pw", "banana-lantern-orbit", "an").unwrap();
        let off = PasswordPolicy { refuse_username: false, ..p };
        off.check("pw", "my-NOVAK-lantern", "novak").unwrap();
    }

    #[test]
    fn validate_names_the_key() {
        let bad = |p: PasswordPolicy| p.validate().unwrap_err().field;
        let r = PasswordPolicy::recommended;
        assert_eq!(bad(PasswordPolicy { min_length: 5, ..r() }), "password.min_length");
        assert_eq!(bad(PasswordPolicy { max_length: 63, ..r() }), "password.max_length");
        assert_eq!(bad(PasswordPolicy { max_length: 2000, ..r() }), "password.max_length");
        assert_eq!(bad(PasswordPolicy { min_length: 100, max_length: 80, ..r() }), "password.max_length");
        assert_eq!(bad(PasswordPolicy { max_age_days: Some(0), ..r() }), "password.max_age_days");
        assert_eq!(bad(PasswordPolicy { history: 25, ..r() }), "password.history");
    }

    #[test]
    fn describe_lists_rules_in_force() {
        let lines = two_mobile().describe();
        assert!(lines.iter().any(|l| l.contains("at least 9")));
        assert!(lines.iter().any(|l| l.contains("a lower-case letter, an upper-case letter, a digit and a symbol")));
        assert!(lines.iter().any(|l| l.contains("every 90 days")));
        let rec = PasswordPolicy::recommended().describe();
        assert!(rec.iter().all(|l| !l.contains("must contain")));
        assert!(rec.iter().any(|l| l.contains("do not expire")));
        assert!(rec.iter().any(|l| l.contains("10,000 most common")));
        assert_eq!(
            (thousands(7), thousands(1234), thousands(1_234_567)),
            ("7".into(), "1,234".into(), "1,234,567".into())
        );
    }
}

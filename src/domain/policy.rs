//! A tenant's security policy (AUTH-2..6, ACC-3): password rules, second
//! factor, session limits, lockout, four-eyes operations, allowed networks
//! and the dormant-account threshold, as one TOML document.
//!
//! Design: pure data with pure decision functions; no I/O and no clock:
//! callers pass times in milliseconds since the Unix epoch and addresses as
//! `IpAddr`. Every section and key has a default, the recommended policy
//! (NIST SP 800-63B, OWASP ASVS 5), so a file states only what it changes;
//! unknown keys are refused so a typo cannot silently switch a measure off.
//! Errors name the key path (`session.idle_minutes`) and describe the rule,
//! never the value, like every [`Invalid`]. Networks are parsed and matched
//! here with std only (prefix comparison on the address bits).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::password::PasswordPolicy;
use super::Invalid;

/// Actions that can be put under the four-eyes principle (ACC-3). A name not
/// in this list is refused rather than silently never matched.
pub const FOUR_EYES_OPERATIONS: &[&str] = &["subject.erase", "records.export", "grants.change", "policy.change"];

/// Most entries one network list may hold.
pub const MAX_NETWORKS: usize = 256;

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// A tenant's security policy. `Policy::default()` is
/// [`Policy::recommended()`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    pub password: PasswordPolicy,
    pub mfa: MfaPolicy,
    pub session: SessionPolicy,
    pub lockout: LockoutPolicy,
    pub four_eyes: FourEyesPolicy,
    pub networks: NetworkPolicy,
    pub review: ReviewPolicy,
    /// Free text: whose policy this is and which seed sections it implements.
    pub description: String,
}

/// Who must present a second factor (TOTP) at sign-in (AUTH-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MfaRequired {
    All,
    Administrators,
    Optional,
}

/// `[mfa]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MfaPolicy {
    pub required: MfaRequired,
}

/// `[session]`: idle and absolute limits of a signed-in session (AUTH-6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionPolicy {
    /// A session with no request for this long has ended.
    pub idle_minutes: u32,
    /// A session this old has ended, active or not.
    pub absolute_hours: u32,
}

/// `[lockout]`: what repeated failures lead to (AUTH-5). Only the settings:
/// counting and locking are `super::lockout`'s. Every `max_failures`
/// failures in a row make one lockout; the n-th temporary lockout lasts
/// `min(n × wait_increment_seconds, max_wait_seconds)`; after
/// `permanent_after` temporary lockouts the next one lasts until an
/// administrator unlocks the account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LockoutPolicy {
    /// Failures in a row that make one lockout (1-100: NIST SP 800-63B
    /// allows at most 100 consecutive failures).
    pub max_failures: u32,
    /// Wait of the first lockout; the n-th waits n times as long. 0 only
    /// with `permanent_after`.
    pub wait_increment_seconds: u32,
    /// Ceiling of a temporary lockout.
    pub max_wait_seconds: u32,
    /// A failure this long after the previous one starts the count again.
    pub failure_reset_seconds: u32,
    /// Temporary lockouts before a permanent one (`Some(0)`: the first
    /// lockout is permanent); `None`: never permanent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permanent_after: Option<u32>,
    /// Sign-in attempts allowed per source address per minute, whatever
    /// account they name.
    pub source_attempts_per_minute: u32,
}

/// `[four_eyes]`: operations that need a second person's approval (ACC-3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FourEyesPolicy {
    /// Names from [`FOUR_EYES_OPERATIONS`].
    pub operations: Vec<String>,
    /// A pending approval request lapses after this long.
    pub approval_hours: u32,
}

/// `[networks]`: where staff may sign in from and API keys may be used from.
/// Entries are CIDR networks (`10.0.0.0/8`, `2001:db8::/32`) or bare
/// addresses (`/32` or `/128`); an empty list allows any address.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkPolicy {
    pub sign_in: Vec<String>,
    pub api_keys: Vec<String>,
}

/// `[review]`: the periodic access review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReviewPolicy {
    /// An account not signed in for this many days is flagged dormant.
    pub dormant_days: u32,
    /// Unusual bulk reads (AVL-4): one account reading the data of more
    /// than this many distinct subjects within `bulk_read_minutes` raises
    /// an alert (0: never).
    pub bulk_read_subjects: u32,
    pub bulk_read_minutes: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy::recommended()
    }
}

impl Policy {
    /// The recommended policy, after NIST SP 800-63B and OWASP ASVS 5:
    /// passwords of 12 to 128 characters checked against a blocklist, a
    /// second factor for everyone, 15-minute idle and 12-hour absolute
    /// sessions, growing lockouts and a per-address rate limit, four eyes on
    /// erasure, export, grant and policy changes, dormant after 90 days.
    ///
    /// Composition rules and expiry are off on purpose: both guidelines
    /// advise against them, because they push people to predictable patterns
    /// (`Summer2024!`, then `Autumn2024!`) and written-down passwords without
    /// making guessing harder; length, the blocklist and a second factor do.
    /// Passwords are changed when there is reason to think one is known
    /// (AUTH-8), not by the calendar.
    pub fn recommended() -> Self {
        Policy {
            password: PasswordPolicy::recommended(),
            mfa: MfaPolicy::default(),
            session: SessionPolicy::default(),
            lockout: LockoutPolicy::default(),
            four_eyes: FourEyesPolicy::default(),
            networks: NetworkPolicy::default(),
            review: ReviewPolicy::default(),
            description: "varuh recommended policy: NIST SP 800-63B and OWASP ASVS 5 \
                          (no composition rules, no expiry, blocklist, second factor for everyone)"
                .to_string(),
        }
    }

    /// Reads a policy from TOML and validates it. A syntax error, an unknown
    /// key or a value of the wrong type gives an [`Invalid`] naming the key
    /// path (`password.min_length`; `policy` when no key can be named).
    pub fn from_toml(text: &str) -> Result<Policy, Invalid> {
        let table: toml::Table = toml::from_str(text).map_err(|e| syntax_error(text, &e))?;
        if let Some(invalid) = locate_error(&table) {
            return Err(invalid);
        }
        let policy: Policy =
            toml::Value::Table(table).try_into().map_err(|e| Invalid::new("policy", value_message(e.message())))?;
        policy.validate()?;
        Ok(policy)
    }

    /// The policy as TOML that [`Policy::from_toml`] reads back unchanged.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a policy always serialises: only strings, integers, booleans and tables")
    }

    /// Checks that the policy makes sense; fields are named `section.key`.
    pub fn validate(&self) -> Result<(), Invalid> {
        self.password.validate()?;
        self.session.validate()?;
        self.lockout.validate()?;
        self.four_eyes.validate()?;
        self.networks.validate()?;
        self.review.validate()?;
        if self.description.chars().count() > 4000 {
            return Err(Invalid::new("description", "must be at most 4000 characters"));
        }
        Ok(())
    }

    /// One line per measure in force, for `varuh policy show` and the TOMs
    /// statement.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = self.password.describe();
        lines.push(
            match self.mfa.required {
                MfaRequired::All => "Every user must confirm sign-in with a second factor (TOTP).",
                MfaRequired::Administrators => "Administrators must confirm sign-in with a second factor (TOTP).",
                MfaRequired::Optional => "A second factor (TOTP) is offered to every user but not required.",
            }
            .to_string(),
        );
        let s = &self.session;
        lines.push(format!(
            "A session ends after {} without activity and {} after sign-in.",
            human_seconds(u64::from(s.idle_minutes) * 60),
            human_seconds(u64::from(s.absolute_hours) * 3600)
        ));
        lines.extend(self.lockout.describe());
        let f = &self.four_eyes;
        if f.operations.is_empty() {
            lines.push("No operation needs a second person's approval.".to_string());
        } else {
            lines.push(format!(
                "A second person must approve: {}; a request not approved within {} lapses.",
                f.operations.join(", "),
                human_seconds(u64::from(f.approval_hours) * 3600)
            ));
        }
        for (list, what) in [(&self.networks.sign_in, "Staff sign-in"), (&self.networks.api_keys, "API keys")] {
            if list.is_empty() {
                lines.push(format!("{what}: allowed from any network."));
            } else {
                lines.push(format!("{what}: allowed only from {}.", list.join(", ")));
            }
        }
        lines.push(format!(
            "Accounts not signed in for {} days are flagged as dormant in the access review.",
            self.review.dormant_days
        ));
        lines.push(match self.review.bulk_read_subjects {
            0 => "Bulk reads raise no alert.".to_string(),
            n => format!(
                "An account reading more than {n} subjects within {} minutes raises an alert.",
                self.review.bulk_read_minutes
            ),
        });
        lines
    }
}

impl MfaRequired {
    /// Whether a user (an administrator or not) must present a second factor.
    pub fn required_for(self, administrator: bool) -> bool {
        match self {
            MfaRequired::All => true,
            MfaRequired::Administrators => administrator,
            MfaRequired::Optional => false,
        }
    }
}

impl Default for MfaPolicy {
    fn default() -> Self {
        MfaPolicy { required: MfaRequired::All }
    }
}

impl MfaPolicy {
    /// See [`MfaRequired::required_for`].
    pub fn required_for(&self, administrator: bool) -> bool {
        self.required.required_for(administrator)
    }
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy { idle_minutes: 15, absolute_hours: 12 }
    }
}

impl SessionPolicy {
    /// Checks the limits; fields are `session.<key>`.
    pub fn validate(&self) -> Result<(), Invalid> {
        if !(1..=1440).contains(&self.idle_minutes) {
            return Err(Invalid::new("session.idle_minutes", "must be 1-1440 minutes"));
        }
        if !(1..=720).contains(&self.absolute_hours) {
            return Err(Invalid::new("session.absolute_hours", "must be 1-720 hours"));
        }
        if u64::from(self.idle_minutes) > u64::from(self.absolute_hours) * 60 {
            return Err(Invalid::new("session.idle_minutes", "must not be longer than session.absolute_hours"));
        }
        Ok(())
    }

    /// Whether a session started at `started_ms` and last used at
    /// `last_active_ms` has ended at `now_ms` (idle or absolute limit).
    pub fn ended(&self, started_ms: i64, last_active_ms: i64, now_ms: i64) -> bool {
        now_ms.saturating_sub(last_active_ms) >= i64::from(self.idle_minutes) * MINUTE_MS
            || now_ms.saturating_sub(started_ms) >= i64::from(self.absolute_hours) * HOUR_MS
    }
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        LockoutPolicy {
            max_failures: 5,
            wait_increment_seconds: 30,
            max_wait_seconds: 900,
            failure_reset_seconds: 43_200,
            permanent_after: None,
            source_attempts_per_minute: 20,
        }
    }
}

impl LockoutPolicy {
    /// Refuses settings under which nothing would ever be locked or limited,
    /// or that are out of any sensible range; fields are `lockout.<key>`.
    pub fn validate(&self) -> Result<(), Invalid> {
        if !(1..=100).contains(&self.max_failures) {
            return Err(Invalid::new("lockout.max_failures", "must be 1-100 (NIST SP 800-63B allows at most 100)"));
        }
        if self.wait_increment_seconds > 86_400 {
            return Err(Invalid::new("lockout.wait_increment_seconds", "must be at most 86400 seconds"));
        }
        if self.wait_increment_seconds == 0 && self.permanent_after.is_none() {
            return Err(Invalid::new(
                "lockout.wait_increment_seconds",
                "must be at least 1 unless permanent_after is set",
            ));
        }
        if self.max_wait_seconds < self.wait_increment_seconds || self.max_wait_seconds > 86_400 {
            return Err(Invalid::new(
                "lockout.max_wait_seconds",
                "must be at least lockout.wait_increment_seconds and at most 86400 seconds",
            ));
        }
        if !(1..=2_592_000).contains(&self.failure_reset_seconds) {
            return Err(Invalid::new("lockout.failure_reset_seconds", "must be 1-2592000 seconds (30 days)"));
        }
        if !(1..=10_000).contains(&self.source_attempts_per_minute) {
            return Err(Invalid::new("lockout.source_attempts_per_minute", "must be 1-10000"));
        }
        Ok(())
    }

    /// One line per lockout rule in force.
    pub fn describe(&self) -> Vec<String> {
        let n = self.max_failures;
        let mut lines = Vec::new();
        match (self.permanent_after, self.wait_increment_seconds) {
            (Some(0), _) => {
                lines.push(format!("{n} failed sign-ins in a row lock the account until an administrator unlocks it."))
            }
            (Some(k), 0) => lines.push(format!(
                "Every {n} failed sign-ins in a row count as one lockout; after {k} of them the next locks the \
                 account until an administrator unlocks it."
            )),
            (permanent, increment) => {
                lines.push(format!(
                    "Every {n} failed sign-ins in a row lock the account: for {} the first time, {} longer each \
                     further time, at most {}.",
                    human_seconds(u64::from(increment)),
                    human_seconds(u64::from(increment)),
                    human_seconds(u64::from(self.max_wait_seconds))
                ));
                if let Some(k) = permanent {
                    lines.push(format!(
                        "After {k} such lockouts the next one lasts until an administrator unlocks the account."
                    ));
                }
            }
        }
        lines.push(format!(
            "A failure more than {} after the previous one starts the count again.",
            human_seconds(u64::from(self.failure_reset_seconds))
        ));
        lines.push(format!("One address may attempt at most {} sign-ins a minute.", self.source_attempts_per_minute));
        lines
    }
}

impl Default for FourEyesPolicy {
    fn default() -> Self {
        FourEyesPolicy { operations: FOUR_EYES_OPERATIONS.iter().map(|s| s.to_string()).collect(), approval_hours: 24 }
    }
}

impl FourEyesPolicy {
    /// Checks the operation names and the approval period; fields are
    /// `four_eyes.<key>`.
    pub fn validate(&self) -> Result<(), Invalid> {
        for (i, op) in self.operations.iter().enumerate() {
            let field = format!("four_eyes.operations[{i}]");
            if !FOUR_EYES_OPERATIONS.contains(&op.as_str()) {
                return Err(Invalid::new(field, format!("must be one of: {}", FOUR_EYES_OPERATIONS.join(", "))));
            }
            if self.operations[..i].contains(op) {
                return Err(Invalid::new(field, "must not repeat an operation listed before"));
            }
        }
        if !(1..=720).contains(&self.approval_hours) {
            return Err(Invalid::new("four_eyes.approval_hours", "must be 1-720 hours"));
        }
        Ok(())
    }

    /// Whether `action` (e.g. `subject.erase`) needs a second person's approval.
    pub fn requires_approval(&self, action: &str) -> bool {
        self.operations.iter().any(|op| op == action)
    }

    /// Whether an approval requested at `requested_ms` has lapsed at `now_ms`.
    pub fn approval_expired(&self, requested_ms: i64, now_ms: i64) -> bool {
        now_ms.saturating_sub(requested_ms) >= i64::from(self.approval_hours) * HOUR_MS
    }
}

impl NetworkPolicy {
    /// Checks that every entry parses; fields are `networks.<key>[<index>]`.
    pub fn validate(&self) -> Result<(), Invalid> {
        for (list, key) in [(&self.sign_in, "networks.sign_in"), (&self.api_keys, "networks.api_keys")] {
            if list.len() > MAX_NETWORKS {
                return Err(Invalid::new(key, format!("must list at most {MAX_NETWORKS} networks")));
            }
            for (i, entry) in list.iter().enumerate() {
                if parse_network(entry).is_none() {
                    return Err(Invalid::new(
                        format!("{key}[{i}]"),
                        "must be an IP address or a CIDR network such as 10.0.0.0/8 or 2001:db8::/32, \
                         with no address bits set past the prefix",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Whether staff may sign in from `ip`: yes with an empty list; with a
    /// list, only from an address inside one of its networks (an unknown
    /// source, `None`, is refused).
    pub fn allows_sign_in(&self, ip: Option<IpAddr>) -> bool {
        allows(&self.sign_in, ip)
    }

    /// Whether an API key may be used from `ip`; same rule as sign-in.
    pub fn allows_api_key(&self, ip: Option<IpAddr>) -> bool {
        allows(&self.api_keys, ip)
    }
}

fn allows(list: &[String], ip: Option<IpAddr>) -> bool {
    if list.is_empty() {
        return true;
    }
    match ip {
        None => false,
        Some(ip) => list.iter().filter_map(|s| parse_network(s)).any(|n| n.contains(ip)),
    }
}

impl Default for ReviewPolicy {
    fn default() -> Self {
        ReviewPolicy { dormant_days: 90, bulk_read_subjects: 1_000, bulk_read_minutes: 60 }
    }
}

impl ReviewPolicy {
    /// Checks the dormancy period; the field is `review.dormant_days`.
    pub fn validate(&self) -> Result<(), Invalid> {
        if !(1..=3650).contains(&self.dormant_days) {
            return Err(Invalid::new("review.dormant_days", "must be 1-3650 days"));
        }
        if !(1..=1440).contains(&self.bulk_read_minutes) {
            return Err(Invalid::new("review.bulk_read_minutes", "must be 1-1440 minutes"));
        }
        if self.bulk_read_subjects > 10_000_000 {
            return Err(Invalid::new("review.bulk_read_subjects", "must be 0 (off) to 10000000"));
        }
        Ok(())
    }

    /// Whether an account last signed in at `last_sign_in_ms` (or created
    /// then, if it never signed in) is dormant at `now_ms`.
    pub fn is_dormant(&self, last_sign_in_ms: i64, now_ms: i64) -> bool {
        now_ms.saturating_sub(last_sign_in_ms) >= i64::from(self.dormant_days) * DAY_MS
    }
}

/// An IPv4 or IPv6 network: an address with its prefix length, no address
/// bits set past the prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

/// Parses `10.0.0.0/8`, `2001:db8::/32` or a bare address (`192.168.1.7`
/// = `/32`, `2001:db8::1` = `/128`). Refuses surrounding spaces, a prefix
/// longer than the address, and bits set past the prefix (`192.168.1.7/24`
/// is ambiguous: write `192.168.1.0/24` or `192.168.1.7`).
pub fn parse_network(s: &str) -> Option<Network> {
    let (addr, prefix) = match s.split_once('/') {
        Some((addr, prefix)) => (addr, Some(prefix)),
        None => (s, None),
    };
    let addr: IpAddr = addr.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => max,
        Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => p.parse::<u8>().ok()?,
        Some(_) => return None,
    };
    if prefix > max {
        return None;
    }
    let network = Network { addr, prefix };
    (network.first() == addr).then_some(network)
}

impl Network {
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// The address with every bit past the prefix cleared.
    fn first(&self) -> IpAddr {
        match self.addr {
            IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask32(self.prefix))),
            IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask128(self.prefix))),
        }
    }

    /// Whether `ip` lies in this network. An IPv4-mapped IPv6 address
    /// (`::ffff:10.1.2.3`, as a dual-stack socket reports IPv4 peers) is
    /// matched as the IPv4 address it carries, and an IPv4 address against
    /// an IPv6 network as its mapped form.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => same_prefix32(net, ip, self.prefix),
            (IpAddr::V4(net), IpAddr::V6(ip)) => {
                ip.to_ipv4_mapped().is_some_and(|ip| same_prefix32(net, ip, self.prefix))
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => same_prefix128(net, ip, self.prefix),
            (IpAddr::V6(net), IpAddr::V4(ip)) => same_prefix128(net, ip.to_ipv6_mapped(), self.prefix),
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

fn mask32(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix))
    }
}

fn mask128(prefix: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(prefix))
    }
}

fn same_prefix32(net: Ipv4Addr, ip: Ipv4Addr, prefix: u8) -> bool {
    (u32::from(net) ^ u32::from(ip)) & mask32(prefix) == 0
}

fn same_prefix128(net: Ipv6Addr, ip: Ipv6Addr, prefix: u8) -> bool {
    (u128::from(net) ^ u128::from(ip)) & mask128(prefix) == 0
}

/// "30 seconds", "15 minutes", "12 hours", "2 days": the largest whole unit.
fn human_seconds(seconds: u64) -> String {
    let (n, unit) = match seconds {
        s if s > 0 && s % 86_400 == 0 => (s / 86_400, "day"),
        s if s > 0 && s % 3600 == 0 => (s / 3600, "hour"),
        s if s > 0 && s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

// ---- naming the key at fault in a TOML document ----

/// Finds the first key (in key order) whose value cannot be read, by
/// deserialising each key alone: every field has a default, so a one-key
/// table fails exactly when that key is unknown or its value is wrong.
fn locate_error(table: &toml::Table) -> Option<Invalid> {
    table.iter().find_map(|(key, value)| match (key.as_str(), value) {
        ("password", toml::Value::Table(t)) => first_error::<PasswordPolicy>(key, t),
        ("mfa", toml::Value::Table(t)) => first_error::<MfaPolicy>(key, t),
        ("session", toml::Value::Table(t)) => first_error::<SessionPolicy>(key, t),
        ("lockout", toml::Value::Table(t)) => first_error::<LockoutPolicy>(key, t),
        ("four_eyes", toml::Value::Table(t)) => first_error::<FourEyesPolicy>(key, t),
        ("networks", toml::Value::Table(t)) => first_error::<NetworkPolicy>(key, t),
        ("review", toml::Value::Table(t)) => first_error::<ReviewPolicy>(key, t),
        _ => key_error::<Policy>(key, key, value),
    })
}

fn first_error<T: DeserializeOwned>(section: &str, table: &toml::Table) -> Option<Invalid> {
    table.iter().find_map(|(key, value)| key_error::<T>(&format!("{section}.{key}"), key, value))
}

fn key_error<T: DeserializeOwned>(path: &str, key: &str, value: &toml::Value) -> Option<Invalid> {
    let mut one = toml::Table::new();
    one.insert(key.to_string(), value.clone());
    toml::Value::Table(one).try_into::<T>().err().map(|e| Invalid::new(path, value_message(e.message())))
}

/// Turns a serde message into a rule. Only the part after the last
/// ", expected " is used: serde puts the offending value before it and the
/// expected type (from the Rust type, never from the input) after it.
fn value_message(raw: &str) -> String {
    let expected = raw.rsplit_once(", expected ").map(|(_, e)| e.trim());
    if raw.starts_with("unknown field") {
        return match expected {
            Some(e) => format!("is not a known setting (expected {e})"),
            None => "is not a known setting".to_string(),
        };
    }
    match expected {
        Some("u32") => "must be a whole number from 0 to 4294967295".to_string(),
        Some("a boolean") => "must be true or false".to_string(),
        Some("a string") => "must be a string".to_string(),
        Some("a sequence") => "must be an array of strings".to_string(),
        Some(e) if e.starts_with("one of ") => format!("must be {e}"),
        Some(e) if e.starts_with("struct ") => "must be a table of settings".to_string(),
        _ => "has a value of the wrong type".to_string(),
    }
}

/// A syntax error, named by the key on the line where parsing stopped (or
/// its section), with toml's description of what it expected, which names
/// grammar tokens, never the input.
fn syntax_error(text: &str, e: &toml::de::Error) -> Invalid {
    let at = e.span().map_or(0, |s| s.start);
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let reason = e.message().lines().next().unwrap_or("").trim();
    let message = if reason.is_empty() {
        format!("is not valid TOML (line {line})")
    } else {
        format!("is not valid TOML (line {line}: {reason})")
    };
    Invalid::new(key_path_at(text, line), message)
}

fn key_path_at(text: &str, line: usize) -> String {
    let bare = |k: &str| !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let mut section: Option<String> = None;
    let mut key: Option<String> = None;
    for (i, raw) in text.lines().take(line).enumerate() {
        let l = raw.trim();
        if let Some(rest) = l.strip_prefix('[') {
            let name = rest.trim_start_matches('[').split(']').next().unwrap_or("").trim();
            section = bare(name).then(|| name.to_string());
        } else if i + 1 == line {
            key = l.split_once('=').map(|(k, _)| k.trim()).filter(|k| bare(k)).map(str::to_string);
        }
    }
    match (section, key) {
        (Some(s), Some(k)) => format!("{s}.{k}"),
        (Some(s), None) => s,
        (None, Some(k)) => k,
        (None, None) => "policy".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_MOBILE: &str = include_str!("../../examples/policies/2mobile.toml");
    const AWS: &str = include_str!("../../examples/policies/aws-processor.toml");
    const HAM: &str = include_str!("../../examples/policies/ham.toml");
    const EXIMITECH: &str = include_str!("../../examples/policies/eximitech.toml");
    const RECOMMENDED: &str = include_str!("../../examples/policies/recommended.toml");
    const SEEDS: [(&str, &str); 5] = [
        ("2mobile", TWO_MOBILE),
        ("aws-processor", AWS),
        ("ham", HAM),
        ("eximitech", EXIMITECH),
        ("recommended", RECOMMENDED),
    ];

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn net(s: &str) -> Network {
        parse_network(s).unwrap_or_else(|| panic!("{s} should parse"))
    }

    fn toml_error(text: &str) -> Invalid {
        Policy::from_toml(text).unwrap_err()
    }

    #[test]
    fn reg5_every_seed_policy_loads_validates_and_round_trips() {
        for (name, text) in SEEDS {
            let p = Policy::from_toml(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            p.validate().unwrap();
            assert!(!p.description.is_empty(), "{name}");
            assert_eq!(Policy::from_toml(&p.to_toml()).unwrap(), p, "{name}");
            assert!(p.describe().len() >= 8, "{name}");
        }
    }

    #[test]
    fn recommended_file_is_the_recommended_policy() {
        let p = Policy::recommended();
        p.validate().unwrap();
        assert!(p.password.max_length >= 64);
        assert_eq!(Policy::from_toml(RECOMMENDED).unwrap(), p);
        assert_eq!(Policy::default(), p);
        assert_eq!(Policy::from_toml("").unwrap(), p, "an empty file is the recommended policy");
        assert_eq!(Policy::from_toml(&p.to_toml()).unwrap(), p);
    }

    #[test]
    fn seed_values() {
        let m = Policy::from_toml(TWO_MOBILE).unwrap();
        assert_eq!(m.password.min_length, 9);
        assert!(m.password.require_lower && m.password.require_upper);
        assert!(m.password.require_digit && m.password.require_symbol);
        assert_eq!(m.password.max_age_days, Some(90));
        assert_eq!(m.mfa.required, MfaRequired::All);
        assert_eq!(m.session.idle_minutes, 3);

        let a = Policy::from_toml(AWS).unwrap();
        assert_eq!(a.password.min_length, 12);
        assert_eq!(a.mfa.required, MfaRequired::Administrators);
        assert!(a.mfa.required_for(true) && !a.mfa.required_for(false));
        assert_eq!(a.session.idle_minutes, 15);
        for op in FOUR_EYES_OPERATIONS {
            assert!(a.four_eyes.requires_approval(op), "{op}");
        }

        let h = Policy::from_toml(HAM).unwrap();
        assert_eq!(h.password.min_length, 6);
        assert!(h.password.require_digit && h.password.require_symbol);
        assert!(!h.password.require_upper);
        assert!(h.password.history >= 5);
        assert_eq!(h.password.max_age_days, None);
        assert!(!h.networks.sign_in.is_empty());
        assert!(h.networks.allows_sign_in(Some(ip("192.168.3.4"))));
        assert!(!h.networks.allows_sign_in(Some(ip("203.0.113.9"))));
    }

    #[test]
    fn unknown_keys_are_named() {
        let e = toml_error("[password]\nmin_len = 12\n");
        assert_eq!(e.field, "password.min_len");
        assert!(e.message.starts_with("is not a known setting"), "{}", e.message);
        assert_eq!(toml_error("[passwords]\nmin_length = 12\n").field, "passwords");
        assert_eq!(toml_error("colour = \"red\"\n").field, "colour");
        assert_eq!(toml_error("[lockout]\nmax_failure = 3\n").field, "lockout.max_failure");
    }

    #[test]
    fn wrong_types_are_named_without_the_value() {
        let e = toml_error("[password]\nmin_length = \"twelve\"\n");
        assert_eq!(e.field, "password.min_length");
        assert_eq!(e.message, "must be a whole number from 0 to 4294967295");
        let e = toml_error("[password]\nmin_length = -7\n");
        assert_eq!(e.field, "password.min_length");
        assert!(!e.message.contains("-7"));
        let e = toml_error("[mfa]\nrequired = \"everyone\"\n");
        assert_eq!(e.field, "mfa.required");
        assert!(e.message.contains("`administrators`") && !e.message.contains("everyone"), "{}", e.message);
        let e = toml_error("[password]\nblocklist = \"yes\"\n");
        assert_eq!((e.field.as_str(), e.message.as_str()), ("password.blocklist", "must be true or false"));
        let e = toml_error("[networks]\nsign_in = \"10.0.0.0/8\"\n");
        assert_eq!(e.field, "networks.sign_in");
        assert!(!e.message.contains("10.0.0.0"));
        let e = toml_error("[networks]\nsign_in = [10]\n");
        assert_eq!(e.field, "networks.sign_in");
        assert_eq!(toml_error("password = 5\n").field, "password");
        assert_eq!(toml_error("description = 5\n").field, "description");
    }

    #[test]
    fn syntax_errors_are_named_without_the_value() {
        let e = toml_error("[session]\nidle_minutes = 3\nabsolute_hours = = secret\n");
        assert_eq!(e.field, "session.absolute_hours");
        assert!(e.message.starts_with("is not valid TOML (line 3"), "{}", e.message);
        assert!(!e.message.contains("secret"));
        let e = toml_error("[session\nidle_minutes = 3\n");
        assert!(e.message.starts_with("is not valid TOML (line 1"), "{}", e.message);
        let e = toml_error("description = \"unterminated hunter2\n");
        assert_eq!(e.field, "description");
        assert!(!e.message.contains("hunter2"));
    }

    #[test]
    fn from_toml_validates() {
        let e = toml_error("[session]\nidle_minutes = 30\nabsolute_hours = 0\n");
        assert_eq!(e.field, "session.absolute_hours");
        let e = toml_error("[password]\nmax_length = 32\n");
        assert_eq!(e.field, "password.max_length");
    }

    #[test]
    fn validate_names_the_key() {
        let r = Policy::recommended;
        let field = |p: Policy| p.validate().unwrap_err().field;
        let mut p = r();
        p.session = SessionPolicy { idle_minutes: 800, absolute_hours: 12 };
        assert_eq!(field(p), "session.idle_minutes");
        let mut p = r();
        p.session.idle_minutes = 0;
        assert_eq!(field(p), "session.idle_minutes");
        let mut p = r();
        p.four_eyes.approval_hours = 0;
        assert_eq!(field(p), "four_eyes.approval_hours");
        let mut p = r();
        p.four_eyes.operations.push("subject.delete".into());
        assert_eq!(field(p), "four_eyes.operations[4]");
        let mut p = r();
        p.four_eyes.operations.push("subject.erase".into());
        assert_eq!(field(p), "four_eyes.operations[4]");
        let mut p = r();
        p.networks.api_keys = vec!["10.0.0.0/8".into(), "10.0.0.1/8".into()];
        assert_eq!(field(p), "networks.api_keys[1]");
        let mut p = r();
        p.lockout.max_failures = 0;
        assert_eq!(field(p), "lockout.max_failures");
        let mut p = r();
        p.lockout.max_wait_seconds = 10;
        assert_eq!(field(p), "lockout.max_wait_seconds");
        let mut p = r();
        p.lockout.failure_reset_seconds = 0;
        assert_eq!(field(p), "lockout.failure_reset_seconds");
        let mut p = r();
        p.lockout.source_attempts_per_minute = 0;
        assert_eq!(field(p), "lockout.source_attempts_per_minute");
        let mut p = r();
        p.review.dormant_days = 0;
        assert_eq!(field(p), "review.dormant_days");
        let mut p = r();
        p.password.min_length = 3;
        assert_eq!(field(p), "password.min_length");
    }

    #[test]
    fn networks_v4() {
        let n = net("10.0.0.0/8");
        assert!(n.contains(ip("10.255.1.2")));
        assert!(!n.contains(ip("11.0.0.1")));
        let n = net("192.168.1.7");
        assert_eq!(n.prefix(), 32);
        assert!(n.contains(ip("192.168.1.7")));
        assert!(!n.contains(ip("192.168.1.8")));
        assert!(net("0.0.0.0/0").contains(ip("203.0.113.5")));
        assert!(net("172.16.0.0/12").contains(ip("172.31.255.255")));
        assert!(!net("172.16.0.0/12").contains(ip("172.32.0.0")));
        assert_eq!(net("10.0.0.0/8").to_string(), "10.0.0.0/8");
    }

    #[test]
    fn networks_v6() {
        let n = net("2001:db8::/32");
        assert!(n.contains(ip("2001:db8:ffff::1")));
        assert!(!n.contains(ip("2001:db9::1")));
        assert!(!n.contains(ip("10.0.0.1")));
        let n = net("2001:db8::1");
        assert_eq!(n.prefix(), 128);
        assert!(n.contains(ip("2001:db8::1")) && !n.contains(ip("2001:db8::2")));
        assert!(net("::/0").contains(ip("fe80::1")));
        assert!(net("2001:db8:0:8000::/49").contains(ip("2001:db8:0:ffff::1")));
        assert!(!net("2001:db8:0:8000::/49").contains(ip("2001:db8:0:7fff::1")));
    }

    #[test]
    fn networks_v4_mapped() {
        let n = net("10.0.0.0/8");
        assert!(n.contains(ip("::ffff:10.1.2.3")));
        assert!(!n.contains(ip("::ffff:11.1.2.3")));
        assert!(!n.contains(ip("::10.1.2.3")), "IPv4-compatible (deprecated) is not mapped");
        let mapped = net("::ffff:10.0.0.0/104");
        assert!(mapped.contains(ip("10.9.9.9")));
        assert!(mapped.contains(ip("::ffff:10.9.9.9")));
        assert!(!mapped.contains(ip("11.9.9.9")));
    }

    #[test]
    fn networks_refused() {
        for bad in [
            "",
            "abc",
            "10.0.0.0/",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.1/8",
            " 10.0.0.0/8",
            "10.0.0.0/8 ",
            "10.0.0.0/+8",
            "10.0.0.0/0008",
            "010.0.0.0/8",
            "10.0.0/8",
            "2001:db8::1/32",
            "fe80::1%eth0",
            "10.0.0.0/8/8",
        ] {
            assert!(parse_network(bad).is_none(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn network_policy_allows() {
        let open = NetworkPolicy::default();
        assert!(open.allows_sign_in(None));
        assert!(open.allows_api_key(Some(ip("203.0.113.1"))));
        let p = NetworkPolicy { sign_in: vec!["10.0.0.0/8".into(), "2001:db8::/32".into()], api_keys: vec![] };
        assert!(p.allows_sign_in(Some(ip("10.1.1.1"))));
        assert!(p.allows_sign_in(Some(ip("::ffff:10.1.1.1"))));
        assert!(p.allows_sign_in(Some(ip("2001:db8::5"))));
        assert!(!p.allows_sign_in(Some(ip("192.168.1.1"))));
        assert!(!p.allows_sign_in(None), "unknown source with a list is refused");
        assert!(p.allows_api_key(None));
    }

    #[test]
    fn auth5_lockout_settings() {
        let l = LockoutPolicy::default();
        l.validate().unwrap();
        let field = |p: LockoutPolicy| p.validate().unwrap_err().field;
        assert_eq!(field(LockoutPolicy { wait_increment_seconds: 0, ..l.clone() }), "lockout.wait_increment_seconds");
        LockoutPolicy { wait_increment_seconds: 0, permanent_after: Some(3), ..l.clone() }.validate().unwrap();
        LockoutPolicy { permanent_after: Some(0), ..l.clone() }.validate().unwrap();
        assert_eq!(field(LockoutPolicy { max_failures: 101, ..l.clone() }), "lockout.max_failures");
        assert_eq!(field(LockoutPolicy { failure_reset_seconds: 0, ..l.clone() }), "lockout.failure_reset_seconds");
        let d = l.describe();
        assert!(d[0].contains("Every 5 failed sign-ins") && d[0].contains("30 seconds") && d[0].contains("15 minutes"));
        assert!(d.iter().all(|x| !x.contains("administrator")), "never permanent by default");
        let p = LockoutPolicy { permanent_after: Some(0), ..l.clone() };
        assert!(p.describe()[0].contains("until an administrator unlocks it"));
        let p = LockoutPolicy { permanent_after: Some(3), ..l };
        assert!(p.describe()[1].contains("After 3 such lockouts"));
    }

    #[test]
    fn auth6_session_idle_and_absolute() {
        let s = Policy::from_toml(TWO_MOBILE).unwrap().session;
        let t = 1_700_000_000_000_i64;
        assert!(!s.ended(t, t, t + 2 * MINUTE_MS));
        assert!(s.ended(t, t, t + 3 * MINUTE_MS));
        assert!(!s.ended(t, t + 11 * HOUR_MS, t + 11 * HOUR_MS + MINUTE_MS));
        assert!(s.ended(t, t + 12 * HOUR_MS, t + 12 * HOUR_MS + MINUTE_MS), "absolute limit");
    }

    #[test]
    fn acc3_four_eyes_and_review() {
        let p = Policy::recommended();
        assert!(p.four_eyes.requires_approval("subject.erase"));
        assert!(!p.four_eyes.requires_approval("records.read"));
        assert!(!p.four_eyes.approval_expired(0, 24 * HOUR_MS - 1));
        assert!(p.four_eyes.approval_expired(0, 24 * HOUR_MS));
        assert!(p.review.is_dormant(0, 90 * DAY_MS));
        assert!(!p.review.is_dormant(0, 89 * DAY_MS));
        assert!(MfaRequired::All.required_for(false));
        assert!(!MfaRequired::Optional.required_for(true));
    }

    #[test]
    fn human_durations() {
        assert_eq!(human_seconds(30), "30 seconds");
        assert_eq!(human_seconds(900), "15 minutes");
        assert_eq!(human_seconds(43_200), "12 hours");
        assert_eq!(human_seconds(86_400), "1 day");
        assert_eq!(human_seconds(90), "90 seconds");
    }
}

//! Brute-force detection for staff sign-in (AUTH-5): per-account lockout with
//! a growing wait, optional permanent lockout, and a per-source-address rate
//! limit. Pure logic: no I/O and no clock — callers pass `now_ms` (Unix time
//! in milliseconds) and store [`Attempts`] themselves.
//!
//! Design: one [`Attempts`] per (account, factor). Password, TOTP and
//! recovery-code failures are kept apart by the caller, so guessing one
//! factor cannot lock another. Every `max_failures` failures make one lockout
//! of `min(wait_increment × n, max_wait)` for the n-th lockout; after
//! `permanent_after` temporary lockouts the next one is permanent, until an
//! administrator unlocks. Attempts refused at the gate are not checked and not
//! counted, so nobody can keep an account locked longer by hammering it.
//!
//! The model is Keycloak's brute-force detector; these of its known faults are
//! avoided:
//! - The failure-reset timer also cleared the count of temporary lockouts, so
//!   "permanent after N lockouts" never arrived for a patient attacker
//!   (keycloak#28821). Here the timer resets only `failures`; `lockouts`
//!   survives it and survives success too (see [`Attempts::succeeded`]).
//! - Permanent lockout depended on the temporary-lockout settings: with a wait
//!   increment of 0 lockouts were not counted and nobody was ever disabled
//!   (keycloak#30969). Here every lockout counts, whatever the wait.
//! - The reset cleared the last-failure time just after setting it, so only the
//!   first reset worked and spaced-out failures piled up (keycloak#46634). Here
//!   the time is recorded after the reset.
//! - Large wait settings overflowed 32-bit arithmetic and disabled lockout
//!   (keycloak#30939). Here all arithmetic is 64-bit and saturating.
//! - A refresh of an existing session reset the counters mid-attack
//!   (keycloak#49960). Here only `succeeded`, which the caller invokes after
//!   this very factor verified, resets anything, and never an active lock.
//! - A distinct "account locked" answer lets anyone find out which accounts
//!   exist by locking them, and an answer that differs when the password is
//!   right during a lockout tells the attacker the password (KEYCLOAK-2585,
//!   keycloak#20651). [`Attempts::gate`] is therefore asked *before* the
//!   credential is checked; on `Locked` the caller must not check it, must
//!   answer exactly as for a wrong credential, and should spend the same time
//!   (for example a dummy password hash). Unknown accounts must be answered
//!   the same way too.
//!
//! [`SourceLimiter`] caps attempts per source address with a sliding
//! one-minute window (two fixed windows, the previous one weighted by how much
//! of it still overlaps the last 60 s): constant memory per address, no burst
//! of 2N at a window edge. IPv6 sources are counted per /64, since one host
//! usually holds a whole /64.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;

pub use super::policy::LockoutPolicy;

/// Failure record of one factor of one account.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Attempts {
    /// Failures since the last lockout, success or reset.
    pub failures: u32,
    pub last_failure_ms: Option<i64>,
    /// Temporary lockouts so far; cleared only by an administrator.
    pub lockouts: u32,
    pub locked_until_ms: Option<i64>,
    pub permanent: bool,
}

/// Whether an attempt may be checked at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    Open,
    /// `until_ms: None` is a permanent lockout.
    Locked {
        until_ms: Option<i64>,
    },
}

impl Attempts {
    /// Ask before checking the credential. On `Locked`, do not check it and
    /// answer as for a wrong one (see the module documentation).
    pub fn gate(&self, _p: &LockoutPolicy, now_ms: i64) -> Gate {
        if self.permanent {
            return Gate::Locked { until_ms: None };
        }
        match self.locked_until_ms {
            Some(until) if now_ms < until => Gate::Locked { until_ms: Some(until) },
            _ => Gate::Open,
        }
    }

    /// Counts a failed check. A failure more than `failure_reset_seconds`
    /// after the previous one starts the count from zero. The
    /// `max_failures`-th failure locks: for `min(wait_increment × n,
    /// max_wait)` at the n-th lockout, or permanently once `permanent_after`
    /// temporary lockouts have passed. Ignored while locked: such attempts
    /// are refused at the gate and never checked.
    pub fn failed(&mut self, p: &LockoutPolicy, now_ms: i64) {
        if self.gate(p, now_ms) != Gate::Open {
            return;
        }
        if let Some(last) = self.last_failure_ms {
            // A clock that went backwards gives a negative gap: no reset.
            if now_ms.saturating_sub(last) > i64::from(p.failure_reset_seconds) * 1000 {
                self.failures = 0;
            }
        }
        self.failures = self.failures.saturating_add(1);
        self.last_failure_ms = Some(now_ms);
        if self.failures < p.max_failures {
            return;
        }
        self.failures = 0;
        if p.permanent_after.is_some_and(|n| self.lockouts >= n) {
            self.permanent = true;
            self.locked_until_ms = None;
        } else {
            self.lockouts = self.lockouts.saturating_add(1);
            let wait_s = u64::from(p.wait_increment_seconds)
                .saturating_mul(u64::from(self.lockouts))
                .min(u64::from(p.max_wait_seconds));
            // wait_s <= u32::MAX, so wait_s * 1000 fits an i64.
            self.locked_until_ms = Some(now_ms.saturating_add(wait_s as i64 * 1000));
        }
    }

    /// A successful check of this factor: the failure count starts again.
    ///
    /// Unlike Keycloak, the lockout count is kept. `permanent_after` is then
    /// a hard budget — at most `(permanent_after + 1) × max_failures` guesses
    /// against this factor until an administrator looks — and the growing
    /// wait keeps growing. Were it reset, the legitimate user signing in
    /// between an attacker's rounds would renew the attacker's budget each
    /// time, and permanent lockout would never come. An active lock is left
    /// alone (a success cannot happen behind a closed gate).
    pub fn succeeded(&mut self) {
        self.failures = 0;
        self.last_failure_ms = None;
    }

    /// Administrator unlock: everything cleared, lockout count included.
    pub fn unlock(&mut self) {
        *self = Attempts::default();
    }
}

/// Default bound on tracked source addresses.
pub const MAX_SOURCES: usize = 100_000;
const MINUTE_MS: i64 = 60_000;

/// Attempts of one source in the current and the previous fixed minute.
#[derive(Debug, Clone, Copy)]
struct Window {
    minute: i64,
    current: u32,
    previous: u32,
}

#[derive(Debug)]
struct Sources {
    map: HashMap<IpAddr, Window>,
    pruned_minute: i64,
}

/// In-memory per-source rate limit of sign-in attempts, shared by all
/// requests of one server. Memory is bounded: past `MAX_SOURCES` addresses,
/// entries idle for over a minute are pruned (at most once a minute); if the
/// map is still full of live entries, new sources are let through untracked
/// rather than refusing everyone — the per-account lockout still holds.
#[derive(Debug)]
pub struct SourceLimiter {
    sources: Mutex<Sources>,
    max_sources: usize,
}

impl Default for SourceLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl SourceLimiter {
    pub fn new() -> Self {
        Self::with_max_sources(MAX_SOURCES)
    }

    fn with_max_sources(max_sources: usize) -> Self {
        SourceLimiter { sources: Mutex::new(Sources { map: HashMap::new(), pruned_minute: i64::MIN }), max_sources }
    }

    /// Whether one more attempt from `source` is allowed; an allowed attempt
    /// is counted, a refused one is not. At most `per_minute` in any 60 s
    /// (estimated; 0 allows none).
    pub fn allow(&self, source: IpAddr, per_minute: u32, now_ms: i64) -> bool {
        let key = source_key(source);
        let minute = now_ms.div_euclid(MINUTE_MS);
        // The state stays consistent even if a holder panicked: keep using it.
        let mut s = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        if s.map.len() >= self.max_sources && !s.map.contains_key(&key) {
            if s.pruned_minute < minute {
                s.map.retain(|_, w| w.minute >= minute - 1);
                s.pruned_minute = minute;
            }
            if s.map.len() >= self.max_sources {
                return true;
            }
        }
        let w = s.map.entry(key).or_insert(Window { minute, current: 0, previous: 0 });
        if minute > w.minute {
            w.previous = if minute == w.minute + 1 { w.current } else { 0 };
            w.current = 0;
            w.minute = minute;
        }
        // Time into the current minute; 0 (the previous minute counted in
        // full) if the clock stepped back into an earlier minute.
        let elapsed = if minute == w.minute { now_ms.rem_euclid(MINUTE_MS) as u64 } else { 0 };
        let minute_ms = MINUTE_MS as u64;
        let weighted = u64::from(w.current) * minute_ms + u64::from(w.previous) * (minute_ms - elapsed);
        if weighted < u64::from(per_minute) * minute_ms {
            w.current = w.current.saturating_add(1);
            true
        } else {
            false
        }
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.sources.lock().unwrap().map.len()
    }
}

/// IPv4 (also IPv4-mapped IPv6) per address, other IPv6 per /64.
fn source_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_040_000; // the start of a minute

    fn policy() -> LockoutPolicy {
        LockoutPolicy::default()
    }

    fn fail_n(a: &mut Attempts, p: &LockoutPolicy, n: u32, now: i64) {
        for _ in 0..n {
            assert_eq!(a.gate(p, now), Gate::Open);
            a.failed(p, now);
        }
    }

    #[test]
    fn default_policy_and_serde() {
        let p = policy();
        assert_eq!((p.max_failures, p.wait_increment_seconds, p.max_wait_seconds), (5, 30, 900));
        assert_eq!((p.failure_reset_seconds, p.permanent_after, p.source_attempts_per_minute), (43_200, None, 20));
        assert!(p.validate().is_ok());
        let q: LockoutPolicy = serde_json::from_str(r#"{"max_failures": 3}"#).unwrap();
        assert_eq!(q, LockoutPolicy { max_failures: 3, ..policy() });
        assert!(serde_json::from_str::<LockoutPolicy>(r#"{"max_failure": 3}"#).is_err());
        assert!(LockoutPolicy { max_failures: 0, ..policy() }.validate().is_err());
        assert!(LockoutPolicy { wait_increment_seconds: 0, ..policy() }.validate().is_err());
        assert!(LockoutPolicy { wait_increment_seconds: 0, permanent_after: Some(0), ..policy() }.validate().is_ok());
        let a =
            Attempts { failures: 2, last_failure_ms: Some(T0), lockouts: 1, locked_until_ms: None, permanent: false };
        let back: Attempts = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert_eq!(back, a);
    }

    #[test]
    fn growing_wait_capped() {
        let p = LockoutPolicy { max_wait_seconds: 100, ..policy() };
        let mut a = Attempts::default();
        let mut now = T0;
        for (n, wait_s) in [(1, 30), (2, 60), (3, 90), (4, 100), (5, 100)] {
            fail_n(&mut a, &p, 4, now);
            assert_eq!(a.gate(&p, now), Gate::Open);
            a.failed(&p, now);
            let until = now + wait_s * 1000;
            assert_eq!(a.gate(&p, now), Gate::Locked { until_ms: Some(until) }, "lockout {n}");
            assert_eq!(a.lockouts, n as u32);
            // Attempts during the lockout are not counted and do not extend it.
            a.failed(&p, until - 1);
            assert_eq!(a.gate(&p, until - 1), Gate::Locked { until_ms: Some(until) });
            assert_eq!(a.gate(&p, until), Gate::Open);
            assert_eq!(a.failures, 0);
            now = until;
        }
    }

    #[test]
    fn failures_reset_after_quiet_period() {
        let p = policy();
        let mut a = Attempts::default();
        fail_n(&mut a, &p, 4, T0);
        let reset = i64::from(p.failure_reset_seconds) * 1000;
        // Exactly at the reset time the count still stands...
        a.failed(&p, T0 + reset);
        assert!(matches!(a.gate(&p, T0 + reset), Gate::Locked { .. }));
        let mut b = Attempts::default();
        fail_n(&mut b, &p, 4, T0);
        // ...past it the count starts again, and keeps resetting each time
        // (the timer runs from the last failure, which survives the reset).
        let mut now = T0;
        for _ in 0..10 {
            now += reset + 1;
            b.failed(&p, now);
            assert_eq!(b.failures, 1);
            assert_eq!(b.gate(&p, now), Gate::Open);
        }
        assert_eq!(b.lockouts, 0);
    }

    #[test]
    fn reset_timer_does_not_forget_lockouts() {
        let p = LockoutPolicy { permanent_after: Some(2), ..policy() };
        let mut a = Attempts::default();
        let mut now = T0;
        for _ in 0..2 {
            fail_n(&mut a, &p, 5, now);
            now += 10 * i64::from(p.failure_reset_seconds) * 1000;
        }
        assert_eq!(a.lockouts, 2);
        fail_n(&mut a, &p, 5, now);
        assert!(a.permanent);
    }

    #[test]
    fn permanent_after_n_lockouts() {
        let p = LockoutPolicy { permanent_after: Some(2), ..policy() };
        let mut a = Attempts::default();
        let mut now = T0;
        for n in 1..=2 {
            fail_n(&mut a, &p, 5, now);
            let Gate::Locked { until_ms: Some(until) } = a.gate(&p, now) else { panic!("lockout {n} not temporary") };
            // A success between rounds resets failures but not the lockout count.
            now = until;
            a.succeeded();
            assert_eq!(a.lockouts, n);
        }
        fail_n(&mut a, &p, 5, now);
        assert_eq!(a.gate(&p, now), Gate::Locked { until_ms: None });
        assert_eq!(a.gate(&p, i64::MAX), Gate::Locked { until_ms: None });
        a.succeeded();
        assert_eq!(a.gate(&p, now), Gate::Locked { until_ms: None });
        a.unlock();
        assert_eq!(a, Attempts::default());
        assert_eq!(a.gate(&p, now), Gate::Open);
    }

    #[test]
    fn permanent_at_once_even_without_wait() {
        // keycloak#30969: a zero wait increment must not disable permanent lockout.
        let p = LockoutPolicy { wait_increment_seconds: 0, permanent_after: Some(0), ..policy() };
        let mut a = Attempts::default();
        fail_n(&mut a, &p, 5, T0);
        assert_eq!(a.gate(&p, T0), Gate::Locked { until_ms: None });
    }

    #[test]
    fn success_resets_failures() {
        let p = policy();
        let mut a = Attempts::default();
        fail_n(&mut a, &p, 4, T0);
        a.succeeded();
        fail_n(&mut a, &p, 4, T0 + 1);
        assert_eq!(a.gate(&p, T0 + 1), Gate::Open);
        // An active lock survives a success.
        a.failed(&p, T0 + 1);
        a.succeeded();
        assert!(matches!(a.gate(&p, T0 + 2), Gate::Locked { .. }));
    }

    #[test]
    fn unlock_clears_temporary_lock() {
        let p = policy();
        let mut a = Attempts::default();
        fail_n(&mut a, &p, 5, T0);
        assert!(matches!(a.gate(&p, T0), Gate::Locked { .. }));
        a.unlock();
        assert_eq!(a.gate(&p, T0), Gate::Open);
        assert_eq!(a, Attempts::default());
    }

    #[test]
    fn factors_are_independent() {
        let p = policy();
        let (mut password, mut totp) = (Attempts::default(), Attempts::default());
        fail_n(&mut totp, &p, 5, T0);
        assert!(matches!(totp.gate(&p, T0), Gate::Locked { .. }));
        assert_eq!(password.gate(&p, T0), Gate::Open);
        password.failed(&p, T0);
        assert_eq!(password.failures, 1);
        assert_eq!(totp.failures, 0);
    }

    #[test]
    fn huge_settings_do_not_overflow() {
        // keycloak#30939: very long waits must still lock.
        let p = LockoutPolicy { wait_increment_seconds: u32::MAX, max_wait_seconds: u32::MAX, ..policy() };
        let mut a = Attempts { lockouts: u32::MAX - 1, ..Attempts::default() };
        fail_n(&mut a, &p, 5, T0);
        assert_eq!(a.gate(&p, T0), Gate::Locked { until_ms: Some(T0 + i64::from(u32::MAX) * 1000) });
        let mut b = Attempts::default();
        fail_n(&mut b, &p, 5, i64::MAX - 10);
        assert_eq!(b.gate(&p, i64::MAX - 10), Gate::Locked { until_ms: Some(i64::MAX) });
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn limiter_n_per_minute() {
        let l = SourceLimiter::new();
        let a = ip("192.0.2.1");
        for i in 0..20 {
            assert!(l.allow(a, 20, T0 + i * 100), "attempt {i}");
        }
        assert!(!l.allow(a, 20, T0 + 2_100));
        assert!(!l.allow(a, 20, T0 + 59_999));
        // Another address is unaffected.
        assert!(l.allow(ip("192.0.2.2"), 20, T0 + 2_100));
        // Sliding: a minute after the burst the previous minute still weighs
        // fully; half-way into the next minute half of it has slid out.
        assert!(!l.allow(a, 20, T0 + 60_000));
        let allowed = (0..20).filter(|_| l.allow(a, 20, T0 + 90_000)).count();
        assert_eq!(allowed, 10);
        // Two quiet minutes later the window has passed entirely.
        let later = T0 + 240_000;
        assert_eq!((0..25).filter(|_| l.allow(a, 20, later)).count(), 20);
    }

    #[test]
    fn limiter_zero_and_clock_skew() {
        let l = SourceLimiter::default();
        assert!(!l.allow(ip("192.0.2.1"), 0, T0));
        let a = ip("192.0.2.3");
        assert!(l.allow(a, 1, T0 + 60_000));
        // A clock stepping back does not open a fresh window.
        assert!(!l.allow(a, 1, T0 + 59_000));
    }

    #[test]
    fn limiter_ipv6_per_64_and_mapped_v4() {
        let l = SourceLimiter::new();
        assert!(l.allow(ip("2001:db8::1"), 2, T0));
        assert!(l.allow(ip("2001:db8::ffff:2"), 2, T0));
        assert!(!l.allow(ip("2001:db8::3"), 2, T0));
        assert!(l.allow(ip("2001:db8:0:1::1"), 2, T0));
        assert!(l.allow(ip("198.51.100.7"), 1, T0));
        assert!(!l.allow(ip("::ffff:198.51.100.7"), 1, T0));
    }

    #[test]
    fn limiter_memory_bounded() {
        let l = SourceLimiter::with_max_sources(100);
        for i in 0..100u32 {
            assert!(l.allow(IpAddr::from(i.to_be_bytes()), 1, T0));
        }
        assert_eq!(l.tracked(), 100);
        // Full of live entries: a new source passes untracked.
        assert!(l.allow(ip("203.0.113.9"), 1, T0 + 1));
        assert!(l.allow(ip("203.0.113.9"), 1, T0 + 2));
        assert_eq!(l.tracked(), 100);
        // Tracked sources are still limited.
        assert!(!l.allow(IpAddr::from(5u32.to_be_bytes()), 1, T0 + 3));
        // Two minutes on, the idle entries are pruned.
        assert!(l.allow(ip("203.0.113.9"), 1, T0 + 120_000));
        assert_eq!(l.tracked(), 1);
    }
}

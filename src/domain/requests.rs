//! Data-subject requests (DSR-1, Art. 12): their kinds, their states and
//! the moves between them, and their deadlines. One month from receipt,
//! counted as calendar months (Art. 12(3); the same day next month, or the
//! last day of that month when it has no such day), extendable by up to two
//! further months with a reason, the subject told within the first month.

use super::Invalid;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The right exercised (Art. 15-18, 20, 21).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    Access,
    Rectification,
    Erasure,
    Restriction,
    Portability,
    Objection,
}

/// Where a request stands: received → verified → in_progress → done, or
/// refused (with a reason) from any open state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    Received,
    Verified,
    InProgress,
    Done,
    Refused,
}

impl RequestKind {
    pub fn name(self) -> &'static str {
        match self {
            RequestKind::Access => "access",
            RequestKind::Rectification => "rectification",
            RequestKind::Erasure => "erasure",
            RequestKind::Restriction => "restriction",
            RequestKind::Portability => "portability",
            RequestKind::Objection => "objection",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.into())).ok()
    }
}

impl RequestState {
    pub fn name(self) -> &'static str {
        match self {
            RequestState::Received => "received",
            RequestState::Verified => "verified",
            RequestState::InProgress => "in_progress",
            RequestState::Done => "done",
            RequestState::Refused => "refused",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.into())).ok()
    }
    pub fn is_open(self) -> bool {
        !matches!(self, RequestState::Done | RequestState::Refused)
    }
}

/// A move of a request's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    Verify,
    Start,
    Complete,
    Refuse,
}

/// The state after `m`, or why it may not happen. Nothing is done on an
/// unverified request: it may only be verified or refused.
pub fn next(state: RequestState, m: Move) -> Result<RequestState, &'static str> {
    use RequestState::*;
    match (state, m) {
        (Done | Refused, _) => Err("the request is closed"),
        (Received, Move::Verify) => Ok(Verified),
        (_, Move::Verify) => Err("the requester's identity is already verified"),
        (Received, Move::Start | Move::Complete) => {
            Err("the requester's identity is not verified yet: verify it first")
        }
        (Verified, Move::Start) => Ok(InProgress),
        (InProgress, Move::Start) => Err("the request is already in progress"),
        (Verified | InProgress, Move::Complete) => Ok(Done),
        (_, Move::Refuse) => Ok(Refused),
    }
}

/// `ms` plus `months` calendar months (UTC): the same day and time of day,
/// or the last day of the month when it has no such day.
pub fn add_months(ms: i64, months: u32) -> i64 {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let total = t.year() as i64 * 12 + (u8::from(t.month()) as i64 - 1) + months as i64;
    let (year, month0) = (total.div_euclid(12) as i32, total.rem_euclid(12) as u8);
    let month = time::Month::try_from(month0 + 1).unwrap_or(time::Month::January);
    let day = t.day().min(month.length(year));
    let Ok(date) = time::Date::from_calendar_date(year, month, day) else { return ms };
    let at = time::PrimitiveDateTime::new(date, t.time()).assume_utc();
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(ms)
}

/// The due date of a request received at `received_ms`, extended by
/// `extension_months` (0-2).
pub fn due(received_ms: i64, extension_months: u32) -> i64 {
    add_months(received_ms, 1 + extension_months)
}

/// Checks an extension: 1 or 2 further months, a reason, asked before the
/// first month runs out, and the subject told (Art. 12(3)).
pub fn check_extension(
    months: u32,
    reason: &str,
    already: u32,
    received_ms: i64,
    now_ms: i64,
    subject_informed: bool,
) -> Result<(), Invalid> {
    if !(1..=2).contains(&months) || already + months > 2 {
        return Err(Invalid::new("months", "must be 1 or 2: at most two further months in all (Art. 12(3))"));
    }
    if reason.trim().is_empty() || reason.len() > 2000 {
        return Err(Invalid::new("reason", "must give the reason for the extension (1-2000 characters)"));
    }
    if !subject_informed {
        return Err(Invalid::new(
            "subject_informed",
            "must be true: the subject is told of the extension and its reasons within the first month",
        ));
    }
    if now_ms > due(received_ms, 0) {
        return Err(Invalid::new("months", "cannot extend after the first month has run out (Art. 12(3))"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> i64 {
        crate::clock::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn a_month_is_a_calendar_month() {
        for (from, months, to) in [
            ("2027-01-31T10:00:00Z", 1, "2027-02-28T10:00:00Z"),
            ("2028-01-31T10:00:00Z", 1, "2028-02-29T10:00:00Z"),
            ("2027-03-15T23:59:59Z", 1, "2027-04-15T23:59:59Z"),
            ("2027-03-31T08:00:00Z", 1, "2027-04-30T08:00:00Z"),
            ("2027-03-31T08:00:00Z", 3, "2027-06-30T08:00:00Z"),
            ("2027-11-30T12:00:00Z", 3, "2028-02-29T12:00:00Z"),
            ("2026-12-31T00:00:00Z", 1, "2027-01-31T00:00:00Z"),
            ("2026-12-01T09:30:00Z", 2, "2027-02-01T09:30:00Z"),
        ] {
            assert_eq!(crate::clock::rfc3339(add_months(at(from), months)), to, "{from} + {months}");
        }
    }

    #[test]
    fn states_move_only_forward_and_never_unverified() {
        use Move::*;
        use RequestState::*;
        assert_eq!(next(Received, Verify), Ok(Verified));
        assert!(next(Received, Start).is_err());
        assert!(next(Received, Complete).is_err());
        assert_eq!(next(Received, Refuse), Ok(Refused));
        assert_eq!(next(Verified, Start), Ok(InProgress));
        assert_eq!(next(Verified, Complete), Ok(Done));
        assert_eq!(next(InProgress, Complete), Ok(Done));
        assert!(next(Verified, Verify).is_err());
        for closed in [Done, Refused] {
            for m in [Verify, Start, Complete, Refuse] {
                assert!(next(closed, m).is_err());
            }
        }
    }

    #[test]
    fn extensions_are_bounded_reasoned_and_early() {
        let r = at("2027-01-31T10:00:00Z");
        let early = at("2027-02-10T10:00:00Z");
        assert!(check_extension(2, "complex request", 0, r, early, true).is_ok());
        assert_eq!(check_extension(3, "x", 0, r, early, true).unwrap_err().field, "months");
        assert_eq!(check_extension(2, "x", 1, r, early, true).unwrap_err().field, "months");
        assert_eq!(check_extension(1, " ", 0, r, early, true).unwrap_err().field, "reason");
        assert_eq!(check_extension(1, "x", 0, r, early, false).unwrap_err().field, "subject_informed");
        assert_eq!(check_extension(1, "x", 0, r, at("2027-03-01T00:00:00Z"), true).unwrap_err().field, "months");
        assert_eq!(crate::clock::rfc3339(due(r, 2)), "2027-04-30T10:00:00Z");
    }
}

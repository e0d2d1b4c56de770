//! The staff register (REG-3): one entry per person who handles personal
//! data — the confidentiality statement's date, the trainings, the start
//! and end of work, the offboarding checklist — and what is due of each
//! (`dues`): the statement on the first day, the first training within
//! the tenant's days of starting (2Mobile: 7), a training again every
//! tenant's months (yearly by default), the offboarding checklist on the
//! last day. Dates are calendar dates (UTC), `YYYY-MM-DD`.

use super::{parse_date, Invalid};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::Date;
use utoipa::ToSchema;
use uuid::Uuid;

/// The seeds' offboarding checklist (2Mobile 1.2.11, 002 §2.2).
pub const OFFBOARDING_ITEMS: &[&str] =
    &["access_card_returned", "keys_returned", "accounts_closed", "devices_returned"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Training {
    /// YYYY-MM-DD
    pub on: String,
    pub topic: String,
}

/// A person in the register (their name is sealed with the tenant's key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffEntry {
    pub name: String,
    #[serde(default)]
    pub position: String,
    /// The first day of work, YYYY-MM-DD.
    pub started_on: String,
    /// The last day of work, if they left or are leaving.
    #[serde(default)]
    pub left_on: Option<String>,
    /// The day the confidentiality statement was signed.
    #[serde(default)]
    pub confidentiality_signed: Option<String>,
    #[serde(default)]
    pub trainings: Vec<Training>,
    /// The person's varuh account, if they have one: its offboarding
    /// records count towards the checklist.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub account: Option<Uuid>,
    /// Checklist items done outside varuh (item → YYYY-MM-DD).
    #[serde(default)]
    pub offboarding: BTreeMap<String, String>,
}

/// What is due of a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DueKind {
    Confidentiality,
    FirstTraining,
    Training,
    Offboarding,
}

impl DueKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DueKind::Confidentiality => "confidentiality",
            DueKind::FirstTraining => "first_training",
            DueKind::Training => "training",
            DueKind::Offboarding => "offboarding",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DueState {
    /// The day has passed.
    Overdue,
    /// Today or within the horizon asked for.
    Due,
    /// Later.
    Scheduled,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Due {
    pub kind: DueKind,
    /// YYYY-MM-DD
    pub due_on: String,
    pub state: DueState,
}

/// The register's rules of a tenant.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub training_within_days: u32,
    pub training_every_months: u32,
    /// Dues this many days ahead count as due.
    pub horizon_days: u32,
}

fn text(field: &str, v: &str, max: usize) -> Result<(), Invalid> {
    if v.len() > max || v.chars().any(|c| c.is_control()) {
        return Err(Invalid::new(field, format!("must be at most {max} bytes of text")));
    }
    Ok(())
}

impl StaffEntry {
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.name.trim().is_empty() {
            return Err(Invalid::new("name", "must name the person"));
        }
        text("name", &self.name, 200)?;
        text("position", &self.position, 200)?;
        let start = parse_date("started_on", &self.started_on)?;
        if let Some(l) = &self.left_on {
            if parse_date("left_on", l)? < start {
                return Err(Invalid::new("left_on", "must not be before started_on"));
            }
        }
        if let Some(c) = &self.confidentiality_signed {
            parse_date("confidentiality_signed", c)?;
        }
        if self.trainings.len() > 200 {
            return Err(Invalid::new("trainings", "at most 200 trainings"));
        }
        for (i, t) in self.trainings.iter().enumerate() {
            parse_date(&format!("trainings[{i}].on"), &t.on)?;
            if t.topic.trim().is_empty() {
                return Err(Invalid::new(format!("trainings[{i}].topic"), "must name the training"));
            }
            text(&format!("trainings[{i}].topic"), &t.topic, 300)?;
        }
        for (item, on) in &self.offboarding {
            if !OFFBOARDING_ITEMS.contains(&item.as_str()) {
                return Err(Invalid::new("offboarding", format!("items must be of {}", OFFBOARDING_ITEMS.join(", "))));
            }
            parse_date(&format!("offboarding.{item}"), on)?;
        }
        Ok(())
    }

    /// Whether the person has left by `today`.
    pub fn has_left(&self, today: Date) -> bool {
        self.left_on.as_deref().and_then(|d| parse_date("", d).ok()).is_some_and(|d| d <= today)
    }

    /// The offboarding items still open, given those the account's records hold.
    pub fn offboarding_open(&self, done_on_account: &[String]) -> Vec<&'static str> {
        OFFBOARDING_ITEMS
            .iter()
            .copied()
            .filter(|i| !self.offboarding.contains_key(*i) && !done_on_account.iter().any(|d| d == i))
            .collect()
    }
}

/// `d` plus `months` calendar months, the last day of the month when it has no such day.
pub fn add_months(d: Date, months: u32) -> Date {
    let total = i64::from(d.year()) * 12 + i64::from(u8::from(d.month())) - 1 + i64::from(months);
    let (year, month0) = (total.div_euclid(12) as i32, total.rem_euclid(12) as u8);
    let month = time::Month::try_from(month0 + 1).unwrap_or(time::Month::January);
    Date::from_calendar_date(year, month, d.day().min(month.length(year))).unwrap_or(d)
}

pub fn date_text(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// What is due of a person on `today`: for someone working, the statement
/// (from the first day) and the next training (the first within the
/// tenant's days of starting, then every tenant's months after the last);
/// for a leaver, the checklist items still open (from the last day).
/// A stored entry is valid, so its dates parse.
pub fn dues(e: &StaffEntry, done_on_account: &[String], rules: Rules, today: Date) -> Vec<Due> {
    let day = |s: &str| parse_date("", s).unwrap_or(today);
    let state = |on: Date| {
        if on < today {
            DueState::Overdue
        } else if on <= today + time::Duration::days(i64::from(rules.horizon_days)) {
            DueState::Due
        } else {
            DueState::Scheduled
        }
    };
    let due = |kind, on: Date| Due { kind, due_on: date_text(on), state: state(on) };
    let mut out = Vec::new();
    if let Some(l) = e.left_on.as_deref().filter(|_| !e.offboarding_open(done_on_account).is_empty()) {
        out.push(due(DueKind::Offboarding, day(l)));
    }
    if e.has_left(today) {
        return out;
    }
    let start = day(&e.started_on);
    if e.confidentiality_signed.is_none() {
        out.push(due(DueKind::Confidentiality, start));
    }
    match e.trainings.iter().map(|t| day(&t.on)).max() {
        None => {
            out.push(due(DueKind::FirstTraining, start + time::Duration::days(i64::from(rules.training_within_days))))
        }
        Some(last) => out.push(due(DueKind::Training, add_months(last, rules.training_every_months))),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        parse_date("", s).unwrap()
    }

    fn entry() -> StaffEntry {
        StaffEntry {
            name: "Ana Novak".into(),
            position: "administrator".into(),
            started_on: "2026-02-27".into(),
            left_on: None,
            confidentiality_signed: Some("2026-02-27".into()),
            trainings: vec![],
            account: None,
            offboarding: BTreeMap::new(),
        }
    }

    const RULES: Rules = Rules { training_within_days: 7, training_every_months: 12, horizon_days: 0 };

    #[test]
    fn new_staff_are_trained_within_the_tenants_days_across_a_month_end() {
        let e = entry();
        // Started 27 February 2026 (not a leap year): 7 days later is 6 March.
        let on_day = dues(&e, &[], RULES, d("2026-03-06"));
        assert_eq!(
            on_day,
            vec![Due { kind: DueKind::FirstTraining, due_on: "2026-03-06".into(), state: DueState::Due }]
        );
        assert_eq!(dues(&e, &[], RULES, d("2026-03-07"))[0].state, DueState::Overdue);
        assert_eq!(dues(&e, &[], RULES, d("2026-03-05"))[0].state, DueState::Scheduled);
        // In a leap year the same start is due on 5 March.
        let leap = StaffEntry { started_on: "2028-02-27".into(), ..entry() };
        assert_eq!(dues(&leap, &[], RULES, d("2028-03-01"))[0].due_on, "2028-03-05");
    }

    #[test]
    fn everyone_is_trained_again_after_the_tenants_months_from_the_last_training() {
        let mut e = entry();
        e.trainings = vec![
            Training { on: "2024-02-29".into(), topic: "GDPR".into() },
            Training { on: "2023-01-10".into(), topic: "GDPR".into() },
        ];
        let x = dues(&e, &[], RULES, d("2025-01-01"));
        // A year after 29 February is the last day of February.
        assert_eq!(x, vec![Due { kind: DueKind::Training, due_on: "2025-02-28".into(), state: DueState::Scheduled }]);
        let soon = Rules { horizon_days: 60, ..RULES };
        assert_eq!(dues(&e, &[], soon, d("2025-01-01"))[0].state, DueState::Due);
        assert_eq!(dues(&e, &[], RULES, d("2025-03-01"))[0].state, DueState::Overdue);
    }

    #[test]
    fn an_unsigned_statement_is_due_from_the_first_day() {
        let e = StaffEntry { confidentiality_signed: None, ..entry() };
        let x = dues(&e, &[], RULES, d("2026-02-28"));
        assert_eq!(x[0], Due { kind: DueKind::Confidentiality, due_on: "2026-02-27".into(), state: DueState::Overdue });
    }

    #[test]
    fn a_leaver_owes_only_the_open_checklist_items_and_the_accounts_records_count() {
        let mut e = entry();
        e.left_on = Some("2026-05-29".into()); // a Friday
        e.offboarding.insert("keys_returned".into(), "2026-05-29".into());
        assert_eq!(e.offboarding_open(&[]), vec!["access_card_returned", "accounts_closed", "devices_returned"]);
        let x = dues(&e, &["accounts_closed".into()], RULES, d("2026-06-01"));
        assert_eq!(x, vec![Due { kind: DueKind::Offboarding, due_on: "2026-05-29".into(), state: DueState::Overdue }]);
        let all: Vec<String> = OFFBOARDING_ITEMS.iter().map(|s| s.to_string()).collect();
        assert!(dues(&e, &all, RULES, d("2026-06-01")).is_empty(), "a finished checklist owes nothing");
        // Before the last day the training is still owed, and the checklist is listed ahead.
        let before = dues(&e, &[], RULES, d("2026-03-01"));
        assert_eq!(
            before.iter().map(|d| d.kind).collect::<Vec<_>>(),
            vec![DueKind::Offboarding, DueKind::FirstTraining]
        );
    }

    #[test]
    fn bad_entries_name_the_field() {
        let cases = [
            (StaffEntry { name: " ".into(), ..entry() }, "name"),
            (StaffEntry { started_on: "2026-02-30".into(), ..entry() }, "started_on"),
            (StaffEntry { left_on: Some("2026-01-01".into()), ..entry() }, "left_on"),
            (StaffEntry { confidentiality_signed: Some("yesterday".into()), ..entry() }, "confidentiality_signed"),
            (
                StaffEntry { trainings: vec![Training { on: "2026-03-01".into(), topic: "".into() }], ..entry() },
                "trainings[0].topic",
            ),
            (
                StaffEntry { offboarding: [("badge".to_string(), "2026-03-01".to_string())].into(), ..entry() },
                "offboarding",
            ),
        ];
        for (e, field) in cases {
            assert_eq!(e.validate().unwrap_err().field, field);
        }
        assert!(entry().validate().is_ok());
    }
}

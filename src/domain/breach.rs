//! Personal-data breaches (BRE-1, BRE-2), pure: what a breach record holds
//! and how it is checked, and its clocks — the processor's notice to its
//! controller (the hours the contract promises), the supervisory authority
//! (72 hours from awareness, Art. 33(1), through weekends and holidays)
//! and the data subjects (Art. 34: without undue delay when the risk is
//! high, the decision and its rationale recorded). All times are UTC
//! milliseconds; no I/O.

use super::Invalid;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub const HOUR_MS: i64 = 3_600_000;
/// Art. 33(1): the supervisory authority within 72 hours of awareness.
pub const AUTHORITY_HOURS: i64 = 72;
/// The processor's notice to its controller when the tenant's settings
/// name no contract figure (2Mobile promises 24 hours).
pub const DEFAULT_CONTROLLER_HOURS: u32 = 24;
const MAX_TEXT: usize = 20_000;
const MAX_LIST: usize = 50;

/// EximiTech's three kinds (and the Article 29 Working Party's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BreachKind {
    /// Unauthorised or accidental disclosure of, or access to, personal data.
    Confidentiality,
    /// Unauthorised or accidental alteration of personal data.
    Integrity,
    /// Accidental or unauthorised loss of access to, or destruction of, personal data.
    Availability,
}

impl BreachKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BreachKind::Confidentiality => "confidentiality",
            BreachKind::Integrity => "integrity",
            BreachKind::Availability => "availability",
        }
    }
    pub fn parse(s: &str) -> Option<BreachKind> {
        [BreachKind::Confidentiality, BreachKind::Integrity, BreachKind::Availability]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// The assessed risk to the rights and freedoms of natural persons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    /// Unlikely to result in a risk: documented, no notification (Art. 33(1), 33(5)).
    Unlikely,
    /// A risk: the supervisory authority is notified.
    Risk,
    /// A high risk: the data subjects are told as well (Art. 34).
    High,
}

impl Risk {
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Unlikely => "unlikely",
            Risk::Risk => "risk",
            Risk::High => "high",
        }
    }
    pub fn parse(s: &str) -> Option<Risk> {
        [Risk::Unlikely, Risk::Risk, Risk::High].into_iter().find(|k| k.as_str() == s)
    }
}

/// Who found the breach: the tenant as controller, or the one running
/// varuh for it as its processor (whose clock to the controller then runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FoundBy {
    Controller,
    Processor,
}

impl FoundBy {
    pub fn as_str(self) -> &'static str {
        match self {
            FoundBy::Controller => "controller",
            FoundBy::Processor => "processor",
        }
    }
    pub fn parse(s: &str) -> Option<FoundBy> {
        [FoundBy::Controller, FoundBy::Processor].into_iter().find(|k| k.as_str() == s)
    }
}

/// Who a notification goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// The processor's notice to its controller (Art. 33(2)).
    Controller,
    /// The supervisory authority (Art. 33(1)).
    Authority,
    /// The data subjects (Art. 34).
    Subjects,
}

impl Audience {
    pub const ALL: [Audience; 3] = [Audience::Controller, Audience::Authority, Audience::Subjects];
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Controller => "controller",
            Audience::Authority => "authority",
            Audience::Subjects => "subjects",
        }
    }
    pub fn parse(s: &str) -> Option<Audience> {
        Audience::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Art. 33(4): information may be provided in phases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Initial,
    FollowUp,
    Final,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Initial => "initial",
            Phase::FollowUp => "follow_up",
            Phase::Final => "final",
        }
    }
    pub fn parse(s: &str) -> Option<Phase> {
        [Phase::Initial, Phase::FollowUp, Phase::Final].into_iter().find(|k| k.as_str() == s)
    }
}

/// The Art. 34 decision on telling the data subjects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectsDecision {
    /// Whether the subjects are told.
    pub notify: bool,
    /// Why (for "no" with a high risk: an Art. 34(3) ground, e.g. the data
    /// were encrypted and the key not compromised).
    pub rationale: String,
}

/// What a breach record says (everything but its clocks and notifications).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BreachDetails {
    pub kinds: Vec<BreachKind>,
    /// When it happened (or began), if known.
    #[serde(default)]
    pub occurred_at: Option<i64>,
    /// When the organisation became reasonably certain that a breach
    /// occurred: the clocks start here.
    pub aware_at: i64,
    #[serde(default)]
    pub contained_at: Option<i64>,
    pub found_by: FoundBy,
    /// What happened.
    pub description: String,
    #[serde(default)]
    pub subject_categories: Vec<String>,
    #[serde(default)]
    pub data_categories: Vec<String>,
    /// Approximate numbers (Art. 33(3)(a)).
    #[serde(default)]
    pub subjects_approx: Option<u64>,
    #[serde(default)]
    pub records_approx: Option<u64>,
    /// Likely consequences (Art. 33(3)(c)).
    #[serde(default)]
    pub consequences: String,
    /// Measures taken, and proposed, to address it and mitigate its
    /// possible adverse effects (Art. 33(3)(d)).
    #[serde(default)]
    pub measures_taken: String,
    #[serde(default)]
    pub measures_proposed: String,
    pub risk: Risk,
    pub risk_rationale: String,
    /// The DPO or other contact point (Art. 33(3)(b)); the tenant's DPO
    /// e-mail when left out.
    #[serde(default)]
    pub contact: String,
    #[serde(default)]
    pub subjects_decision: Option<SubjectsDecision>,
    /// Why the authority's notification came (or comes) after 72 hours
    /// (Art. 33(1)).
    #[serde(default)]
    pub late_reason: Option<String>,
    /// Closed: nothing is left to do.
    #[serde(default)]
    pub closed: bool,
}

fn text(field: &str, v: &str, required: bool) -> Result<(), Invalid> {
    if required && v.trim().is_empty() {
        return Err(Invalid::new(field, "must not be empty"));
    }
    if v.len() > MAX_TEXT {
        return Err(Invalid::new(field, format!("must be at most {MAX_TEXT} bytes")));
    }
    Ok(())
}

impl BreachDetails {
    /// Checks a breach as recorded at `now`.
    pub fn validate(&self, now: i64) -> Result<(), Invalid> {
        if self.kinds.is_empty() {
            return Err(Invalid::new("kinds", "must name at least one of confidentiality, integrity, availability"));
        }
        for (i, k) in self.kinds.iter().enumerate() {
            if self.kinds[..i].contains(k) {
                return Err(Invalid::new(format!("kinds[{i}]"), "is named twice"));
            }
        }
        if self.aware_at > now + 60_000 {
            return Err(Invalid::new("aware_at", "must not be in the future"));
        }
        if let Some(o) = self.occurred_at {
            if o > self.aware_at {
                return Err(Invalid::new("occurred_at", "must not be after aware_at"));
            }
        }
        if let Some(c) = self.contained_at {
            if self.occurred_at.is_some_and(|o| c < o) {
                return Err(Invalid::new("contained_at", "must not be before occurred_at"));
            }
            if c > now + 60_000 {
                return Err(Invalid::new("contained_at", "must not be in the future"));
            }
        }
        text("description", &self.description, true)?;
        text("risk_rationale", &self.risk_rationale, true)?;
        for (f, v) in [
            ("consequences", &self.consequences),
            ("measures_taken", &self.measures_taken),
            ("measures_proposed", &self.measures_proposed),
            ("contact", &self.contact),
        ] {
            text(f, v, false)?;
        }
        for (f, list) in [("subject_categories", &self.subject_categories), ("data_categories", &self.data_categories)]
        {
            if list.len() > MAX_LIST {
                return Err(Invalid::new(f, format!("at most {MAX_LIST} categories")));
            }
            for (i, c) in list.iter().enumerate() {
                if c.trim().is_empty() || c.len() > 200 {
                    return Err(Invalid::new(format!("{f}[{i}]"), "must be 1-200 bytes"));
                }
            }
        }
        if let Some(d) = &self.subjects_decision {
            text("subjects_decision.rationale", &d.rationale, true)?;
        }
        if let Some(r) = &self.late_reason {
            text("late_reason", r, true)?;
        }
        Ok(())
    }
}

/// Where a clock stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClockState {
    /// Running: not yet notified, not yet due.
    Running,
    /// Past due and not notified.
    Overdue,
    /// Notified in time.
    Met,
    /// Notified after the due time (the reasons are owed, Art. 33(1)).
    Late,
    /// Nothing is owed (no processor, a risk judged unlikely, subjects not
    /// to be told).
    NotRequired,
    /// A decision is owed first (Art. 34: a high risk, no decision yet).
    DecisionDue,
}

/// One clock of a breach.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Clock {
    pub audience: Audience,
    /// The due time (UTC ms); none for "without undue delay" with no hour
    /// count (the subjects).
    pub due_at: Option<i64>,
    /// The first notification to this audience.
    pub notified_at: Option<i64>,
    pub state: ClockState,
}

/// The hours from awareness to a clock's due time: the processor's
/// contract hours, Art. 33(1)'s 72, none for the subjects.
fn hours(audience: Audience, controller_hours: u32) -> Option<i64> {
    match audience {
        Audience::Controller => Some(i64::from(controller_hours)),
        Audience::Authority => Some(AUTHORITY_HOURS),
        Audience::Subjects => None,
    }
}

/// The clocks of a breach at `now`, given the first notification made to
/// each audience. The authority's clock starts at the controller's
/// awareness: when the processor found it, that is its notice to the
/// controller (or, until then, the processor's own awareness — the
/// stricter reading). Counted in plain UTC hours: weekends and holidays
/// count.
pub fn clocks(d: &BreachDetails, controller_hours: u32, notified: &[(Audience, i64)], now: i64) -> Vec<Clock> {
    let first = |a: Audience| notified.iter().filter(|n| n.0 == a).map(|n| n.1).min();
    let mut out = Vec::new();
    for audience in Audience::ALL {
        let notified_at = first(audience);
        let required = match audience {
            Audience::Controller => d.found_by == FoundBy::Processor,
            Audience::Authority => d.risk != Risk::Unlikely,
            Audience::Subjects => d.risk == Risk::High && d.subjects_decision.as_ref().is_none_or(|s| s.notify),
        };
        let start = match audience {
            Audience::Authority if d.found_by == FoundBy::Processor => {
                first(Audience::Controller).unwrap_or(d.aware_at).max(d.aware_at)
            }
            _ => d.aware_at,
        };
        let due_at = hours(audience, controller_hours).map(|h| start + h * HOUR_MS);
        let state = if !required && notified_at.is_none() {
            ClockState::NotRequired
        } else if audience == Audience::Subjects && d.subjects_decision.is_none() && notified_at.is_none() {
            ClockState::DecisionDue
        } else {
            match (notified_at, due_at) {
                (Some(n), Some(due)) if n > due => ClockState::Late,
                (Some(_), _) => ClockState::Met,
                (None, Some(due)) if now > due => ClockState::Overdue,
                (None, _) => ClockState::Running,
            }
        };
        out.push(Clock { audience, due_at, notified_at, state });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Milliseconds of a UTC time written as RFC 3339.
    fn at(s: &str) -> i64 {
        crate::clock::parse_rfc3339(s).unwrap()
    }

    fn breach(aware: &str, found_by: FoundBy, risk: Risk) -> BreachDetails {
        BreachDetails {
            kinds: vec![BreachKind::Confidentiality],
            occurred_at: None,
            aware_at: at(aware),
            contained_at: None,
            found_by,
            description: "a laptop was stolen".into(),
            subject_categories: vec![],
            data_categories: vec![],
            subjects_approx: None,
            records_approx: None,
            consequences: String::new(),
            measures_taken: String::new(),
            measures_proposed: String::new(),
            risk,
            risk_rationale: "unencrypted disk".into(),
            contact: String::new(),
            subjects_decision: None,
            late_reason: None,
            closed: false,
        }
    }

    fn clock(cs: &[Clock], a: Audience) -> &Clock {
        cs.iter().find(|c| c.audience == a).unwrap()
    }

    #[test]
    fn seventy_two_hours_run_through_the_weekend_from_a_friday_evening() {
        let d = breach("2027-01-08T18:30:00Z", FoundBy::Controller, Risk::Risk); // a Friday
        let cs = clocks(&d, 24, &[], at("2027-01-09T12:00:00Z"));
        let a = clock(&cs, Audience::Authority);
        assert_eq!(a.due_at, Some(at("2027-01-11T18:30:00Z")), "Monday 18:30, not Wednesday");
        assert_eq!(a.state, ClockState::Running);
        assert_eq!(clock(&cs, Audience::Controller).state, ClockState::NotRequired);
        assert_eq!(clock(&cs, Audience::Subjects).state, ClockState::NotRequired);
        // One millisecond past due: overdue; exactly at due: still running.
        let due = a.due_at.unwrap();
        assert_eq!(clock(&clocks(&d, 24, &[], due), Audience::Authority).state, ClockState::Running);
        assert_eq!(clock(&clocks(&d, 24, &[], due + 1), Audience::Authority).state, ClockState::Overdue);
        // Notified at due: met; after: late.
        let met = clocks(&d, 24, &[(Audience::Authority, due)], due + 10);
        assert_eq!(clock(&met, Audience::Authority).state, ClockState::Met);
        let late = clocks(&d, 24, &[(Audience::Authority, due + 1)], due + 10);
        assert_eq!(clock(&late, Audience::Authority).state, ClockState::Late);
    }

    #[test]
    fn month_ends_and_leap_days_are_plain_hours_in_utc() {
        let d = breach("2028-02-27T23:00:00Z", FoundBy::Controller, Risk::Risk);
        let cs = clocks(&d, 24, &[], 0);
        assert_eq!(clock(&cs, Audience::Authority).due_at, Some(at("2028-03-01T23:00:00Z")), "29 February counts");
        let d = breach("2027-02-27T23:00:00Z", FoundBy::Controller, Risk::Risk);
        assert_eq!(clock(&clocks(&d, 24, &[], 0), Audience::Authority).due_at, Some(at("2027-03-02T23:00:00Z")));
        let d = breach("2026-12-31T22:15:00Z", FoundBy::Processor, Risk::Risk);
        let cs = clocks(&d, 24, &[], 0);
        assert_eq!(clock(&cs, Audience::Controller).due_at, Some(at("2027-01-01T22:15:00Z")), "over the year's end");
        // A daylight-saving night changes nothing: UTC hours.
        let d = breach("2027-03-27T12:00:00Z", FoundBy::Controller, Risk::Risk);
        assert_eq!(clock(&clocks(&d, 24, &[], 0), Audience::Authority).due_at, Some(at("2027-03-30T12:00:00Z")));
    }

    #[test]
    fn a_processor_has_its_contract_hours_and_the_authority_clock_starts_at_the_controller() {
        let d = breach("2027-05-03T08:00:00Z", FoundBy::Processor, Risk::High);
        let cs = clocks(&d, 24, &[], at("2027-05-04T08:00:01Z"));
        let c = clock(&cs, Audience::Controller);
        assert_eq!((c.due_at, c.state), (Some(at("2027-05-04T08:00:00Z")), ClockState::Overdue));
        // The controller told after 10 hours: the authority's 72 hours start then.
        let told = at("2027-05-03T18:00:00Z");
        let cs = clocks(&d, 24, &[(Audience::Controller, told)], told + 1);
        assert_eq!(clock(&cs, Audience::Controller).state, ClockState::Met);
        assert_eq!(clock(&cs, Audience::Authority).due_at, Some(told + 72 * HOUR_MS));
        // High risk and no decision: the subjects' decision is owed.
        assert_eq!(clock(&cs, Audience::Subjects).state, ClockState::DecisionDue);
        let mut d2 = d.clone();
        d2.subjects_decision = Some(SubjectsDecision { notify: false, rationale: "encrypted, key safe".into() });
        assert_eq!(clock(&clocks(&d2, 24, &[], told), Audience::Subjects).state, ClockState::NotRequired);
        d2.subjects_decision = Some(SubjectsDecision { notify: true, rationale: "passwords leaked".into() });
        let s = clock(&clocks(&d2, 24, &[], told), Audience::Subjects).clone();
        assert_eq!((s.due_at, s.state), (None, ClockState::Running), "without undue delay: no hour count");
    }

    #[test]
    fn an_unlikely_risk_owes_the_authority_nothing() {
        let d = breach("2027-05-03T08:00:00Z", FoundBy::Controller, Risk::Unlikely);
        let cs = clocks(&d, 24, &[], at("2027-06-03T08:00:00Z"));
        assert!(cs.iter().all(|c| c.state == ClockState::NotRequired), "{cs:?}");
    }

    #[test]
    fn bad_breaches_are_refused_with_the_field_named() {
        let now = at("2027-05-03T08:00:00Z");
        let ok = breach("2027-05-03T07:00:00Z", FoundBy::Controller, Risk::Risk);
        assert!(ok.validate(now).is_ok());
        let mut b = ok.clone();
        b.kinds.clear();
        assert_eq!(b.validate(now).unwrap_err().field, "kinds");
        let mut b = ok.clone();
        b.aware_at = now + HOUR_MS;
        assert_eq!(b.validate(now).unwrap_err().field, "aware_at");
        let mut b = ok.clone();
        b.occurred_at = Some(ok.aware_at + 1);
        assert_eq!(b.validate(now).unwrap_err().field, "occurred_at");
        let mut b = ok.clone();
        b.description = " ".into();
        assert_eq!(b.validate(now).unwrap_err().field, "description");
        let mut b = ok;
        b.kinds = vec![BreachKind::Integrity, BreachKind::Integrity];
        assert_eq!(b.validate(now).unwrap_err().field, "kinds[1]");
    }
}

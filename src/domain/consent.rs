//! "May I?" (CONS-2) as a rule: whether purpose P may be applied to a
//! subject now, from the facts the service gathers — the collections that
//! serve P and their legal bases, which of them hold the subject's
//! records, the subject's current consent for P, and its restrictions and
//! objections. No record of consent means no, for a consent-based purpose.
//! Pure: no I/O.

use super::limits::{self, Limit};
use super::schema::{CollectionDef, LegalBasis};

/// The subject's current consent event for the purpose.
#[derive(Debug, Clone, Copy)]
pub struct Current {
    pub given: bool,
    pub at: i64,
    pub expires_at: Option<i64>,
}

/// What the answer rests on.
pub struct Facts<'a> {
    pub purpose: &'a str,
    /// The tenant's collections that list the purpose.
    pub serving: &'a [&'a CollectionDef],
    /// Of those, whether each holds a record of the subject (same order).
    pub holds_records: &'a [bool],
    /// A notice is on file for the purpose (consent can be asked for it).
    pub has_notice: bool,
    pub consent: Option<Current>,
    pub limits: &'a [Limit],
    pub now: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Allowed on this legal basis (`Consent`: by the current consent).
    Allowed(LegalBasis),
    /// Not allowed, and why (no value in it).
    Denied(String),
}

/// The answer for one subject.
pub fn decide(f: &Facts<'_>) -> Verdict {
    // A restriction or objection wins over every basis.
    for c in f.serving {
        if let Err(b) = limits::check(f.limits, c, Some(f.purpose)) {
            return Verdict::Denied(b.why);
        }
    }
    // A basis other than consent covers the purpose where the subject has records under it.
    if let Some((c, _)) =
        f.serving.iter().zip(f.holds_records).find(|(c, holds)| **holds && c.legal_basis != LegalBasis::Consent)
    {
        return Verdict::Allowed(c.legal_basis);
    }
    let by_consent = f.has_notice || f.serving.iter().any(|c| c.legal_basis == LegalBasis::Consent);
    if !by_consent {
        return Verdict::Denied(format!(
            "the subject has no record in a collection whose legal basis covers {}",
            f.purpose
        ));
    }
    match f.consent {
        None => Verdict::Denied(format!("no consent is recorded for {}", f.purpose)),
        Some(c) if !c.given => {
            Verdict::Denied(format!("consent for {} was withdrawn at {}", f.purpose, crate::clock::rfc3339(c.at)))
        }
        Some(Current { expires_at: Some(e), .. }) if e <= f.now => {
            Verdict::Denied(format!("consent for {} expired at {}", f.purpose, crate::clock::rfc3339(e)))
        }
        Some(_) => Verdict::Allowed(LegalBasis::Consent),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::limits::LimitKind;
    use serde_json::json;

    fn collection(basis: &str, purposes: &[&str], dm: &[&str]) -> CollectionDef {
        serde_json::from_value(json!({
            "name": "c", "purposes": purposes, "direct_marketing": dm, "legal_basis": basis,
            "subject_categories": ["customers"], "source": "the subject", "retention": {"kind": "permanent"},
            "fields": [{"name": "email", "type": "email", "category": "contact", "identifier": true}]
        }))
        .unwrap()
    }

    fn facts<'a>(
        serving: &'a [&'a CollectionDef],
        holds: &'a [bool],
        consent: Option<Current>,
        limits: &'a [Limit],
    ) -> Facts<'a> {
        Facts { purpose: "newsletter", serving, holds_records: holds, has_notice: true, consent, limits, now: 1_000 }
    }

    #[test]
    fn a_consent_purpose_needs_a_current_unexpired_consent() {
        let news = collection("consent", &["newsletter"], &["newsletter"]);
        let s = [&news];
        assert!(matches!(decide(&facts(&s, &[false], None, &[])), Verdict::Denied(r) if r.contains("no consent")));
        let given = Current { given: true, at: 10, expires_at: None };
        assert_eq!(decide(&facts(&s, &[false], Some(given), &[])), Verdict::Allowed(LegalBasis::Consent));
        let withdrawn = Current { given: false, at: 20, expires_at: None };
        assert!(
            matches!(decide(&facts(&s, &[true], Some(withdrawn), &[])), Verdict::Denied(r) if r.contains("withdrawn"))
        );
        let expired = Current { given: true, at: 10, expires_at: Some(1_000) };
        assert!(matches!(decide(&facts(&s, &[true], Some(expired), &[])), Verdict::Denied(r) if r.contains("expired")));
        // An objection to direct marketing beats the consent.
        let dm = [Limit { kind: LimitKind::Objection, purposes: vec![], direct_marketing: true }];
        assert!(
            matches!(decide(&facts(&s, &[true], Some(given), &dm)), Verdict::Denied(r) if r.contains("direct marketing"))
        );
    }

    #[test]
    fn another_basis_covers_the_purpose_only_where_the_subject_has_records() {
        let orders = collection("contract", &["newsletter"], &[]);
        let s = [&orders];
        assert_eq!(decide(&facts(&s, &[true], None, &[])), Verdict::Allowed(LegalBasis::Contract));
        let mut f = facts(&s, &[false], None, &[]);
        f.has_notice = false;
        assert!(matches!(decide(&f), Verdict::Denied(r) if r.contains("no record")));
    }
}

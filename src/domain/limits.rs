//! Restriction (Art. 18) and objection (Art. 21) of processing, as rules:
//! which purpose of which collection a subject's active limits block.
//! Reads and exports state the purpose they serve (a collection's purposes
//! are the vocabulary); a subject with a limit is read only for a purpose
//! the limits leave open. Storage, the subject's own access report and
//! `legal_claims` (Art. 17(3)(e), 18(2)) are never blocked. Pure: no I/O.

use super::schema::CollectionDef;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The purpose of processing for the establishment, exercise or defence
/// of legal claims: open under every restriction and objection.
pub const LEGAL_CLAIMS: &str = "legal_claims";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LimitKind {
    /// Art. 18: the data is only stored; no purpose (or only those named) may use it.
    Restriction,
    /// Art. 21: the subject objects to the named purposes, or to direct marketing.
    Objection,
}

impl LimitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LimitKind::Restriction => "restriction",
            LimitKind::Objection => "objection",
        }
    }
    pub fn parse(s: &str) -> Option<LimitKind> {
        [LimitKind::Restriction, LimitKind::Objection].into_iter().find(|k| k.as_str() == s)
    }
}

/// An active limit of a subject's processing.
#[derive(Debug, Clone)]
pub struct Limit {
    pub kind: LimitKind,
    /// The purposes limited; for a restriction, none means every purpose.
    pub purposes: Vec<String>,
    /// An objection to direct marketing: every purpose a collection marks
    /// as direct marketing.
    pub direct_marketing: bool,
}

/// Why a read is refused: the limit's kind and what it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    pub kind: LimitKind,
    pub why: String,
}

impl Limit {
    /// Whether this limit blocks `purpose` (`None`: the read did not say)
    /// of a record of collection `c`.
    pub fn blocks(&self, c: &CollectionDef, purpose: Option<&str>) -> bool {
        let Some(p) = purpose else {
            return true;
        };
        if p == LEGAL_CLAIMS {
            return false;
        }
        match self.kind {
            LimitKind::Restriction => self.purposes.is_empty() || self.purposes.iter().any(|q| q == p),
            LimitKind::Objection => {
                self.purposes.iter().any(|q| q == p) || (self.direct_marketing && c.is_direct_marketing(p))
            }
        }
    }

    fn describe(&self) -> String {
        match (self.kind, self.purposes.is_empty(), self.direct_marketing) {
            (LimitKind::Restriction, true, _) => {
                "processing of this subject's data is restricted (Art. 18)".to_string()
            }
            (LimitKind::Restriction, false, _) => {
                format!("processing for {} is restricted (Art. 18)", self.purposes.join(", "))
            }
            (LimitKind::Objection, _, true) if self.purposes.is_empty() => {
                "the subject objected to direct marketing (Art. 21(2))".to_string()
            }
            (LimitKind::Objection, _, dm) => format!(
                "the subject objected to processing for {}{} (Art. 21)",
                self.purposes.join(", "),
                if dm { " and to direct marketing" } else { "" }
            ),
        }
    }
}

/// The first of `limits` that blocks the read, if any.
pub fn check(limits: &[Limit], c: &CollectionDef, purpose: Option<&str>) -> Result<(), Blocked> {
    match limits.iter().find(|l| l.blocks(c, purpose)) {
        None => Ok(()),
        Some(l) => {
            let mut why = l.describe();
            if purpose.is_none() {
                why.push_str("; state the purpose of this read (?purpose=)");
            }
            Err(Blocked { kind: l.kind, why })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shop() -> CollectionDef {
        serde_json::from_value(json!({
            "name": "customers", "purposes": ["orders", "newsletter", "profiling"], "direct_marketing": ["newsletter", "profiling"],
            "legal_basis": "contract", "subject_categories": ["customers"], "source": "the subject",
            "retention": {"kind": "permanent"},
            "fields": [{"name": "email", "type": "email", "category": "contact", "identifier": true}]
        }))
        .unwrap()
    }

    fn limit(kind: LimitKind, purposes: &[&str], dm: bool) -> Limit {
        Limit { kind, purposes: purposes.iter().map(|s| s.to_string()).collect(), direct_marketing: dm }
    }

    #[test]
    fn a_restriction_blocks_every_purpose_but_legal_claims() {
        let c = shop();
        let all = [limit(LimitKind::Restriction, &[], false)];
        for p in ["orders", "newsletter"] {
            assert_eq!(check(&all, &c, Some(p)).unwrap_err().kind, LimitKind::Restriction);
        }
        assert!(check(&all, &c, Some(LEGAL_CLAIMS)).is_ok());
        assert!(check(&all, &c, None).unwrap_err().why.contains("state the purpose"));
        let some = [limit(LimitKind::Restriction, &["orders"], false)];
        assert!(check(&some, &c, Some("orders")).is_err());
        assert!(check(&some, &c, Some("newsletter")).is_ok());
    }

    #[test]
    fn an_objection_to_direct_marketing_blocks_every_marketing_purpose_at_once() {
        let c = shop();
        let dm = [limit(LimitKind::Objection, &[], true)];
        assert!(check(&dm, &c, Some("newsletter")).is_err());
        assert!(check(&dm, &c, Some("profiling")).is_err());
        assert!(check(&dm, &c, Some("orders")).is_ok());
        let one = [limit(LimitKind::Objection, &["orders"], false)];
        assert!(check(&one, &c, Some("orders")).unwrap_err().why.contains("orders"));
        assert!(check(&one, &c, Some("newsletter")).is_ok());
        assert!(check(&[], &c, None).is_ok(), "no limit: a read need not say its purpose");
    }
}

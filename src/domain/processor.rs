//! The processor register (REG-2), pure: what an entry holds — a processor
//! or a sub-processor (engaged by which processor), its service, the data
//! categories it handles, where (country, and the transfer's safeguard
//! outside the EEA), the data-processing agreement's date and the next
//! review, its security measures and contact — and how it is checked.

use super::Invalid;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProcessorRole {
    Processor,
    SubProcessor,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessorEntry {
    /// As the collections name it (`processors` in a collection's definition).
    pub name: String,
    #[schema(inline)]
    pub role: ProcessorRole,
    /// For a sub-processor: the processor that engages it (by name).
    #[serde(default)]
    pub engaged_by: Option<String>,
    /// What it does for the tenant (e-mail delivery, hosting, payroll).
    pub service: String,
    #[serde(default)]
    pub data_categories: Vec<String>,
    /// Where it processes the data: ISO 3166 country codes.
    #[serde(default)]
    pub locations: Vec<String>,
    /// For a location outside the EEA: the Art. 46 safeguard (SCCs, an
    /// adequacy decision, BCRs).
    #[serde(default)]
    pub transfer_safeguard: Option<String>,
    /// When the data-processing agreement (Art. 28(3)) was signed (YYYY-MM-DD).
    #[serde(default)]
    pub dpa_signed: Option<String>,
    /// When the entry is next reviewed (YYYY-MM-DD).
    #[serde(default)]
    pub review_due: Option<String>,
    #[serde(default)]
    pub security_measures: String,
    #[serde(default)]
    pub contact: String,
}

/// EEA countries (EU and Iceland, Liechtenstein, Norway): no transfer safeguard needed.
const EEA: &[&str] = &[
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT",
    "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
];

pub fn is_eea(country: &str) -> bool {
    EEA.contains(&country)
}

fn date(field: &str, v: &Option<String>) -> Result<(), Invalid> {
    v.as_deref().map_or(Ok(()), |d| super::check_date(field, d))
}

impl ProcessorEntry {
    pub fn validate(&self) -> Result<(), Invalid> {
        let name = self.name.trim();
        if name.is_empty() || name.len() > 200 || name != self.name {
            return Err(Invalid::new("name", "must be 1-200 bytes without surrounding spaces"));
        }
        match (self.role, &self.engaged_by) {
            (ProcessorRole::SubProcessor, None) => {
                return Err(Invalid::new("engaged_by", "a sub-processor names the processor that engages it"))
            }
            (ProcessorRole::Processor, Some(_)) => {
                return Err(Invalid::new("engaged_by", "only a sub-processor is engaged by another processor"))
            }
            (_, Some(p)) if p == &self.name => return Err(Invalid::new("engaged_by", "must name another processor")),
            _ => {}
        }
        if self.service.trim().is_empty() || self.service.len() > 2000 {
            return Err(Invalid::new("service", "must say what it does (1-2000 bytes)"));
        }
        for (i, c) in self.locations.iter().enumerate() {
            if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(Invalid::new(format!("locations[{i}]"), "must be an ISO 3166 country code (SI, DE, US)"));
            }
        }
        if self.locations.iter().any(|c| !is_eea(c))
            && self.transfer_safeguard.as_deref().is_none_or(|s| s.trim().is_empty())
        {
            return Err(Invalid::new(
                "transfer_safeguard",
                "a location outside the EEA needs its transfer safeguard (Art. 46: SCCs, adequacy, BCRs)",
            ));
        }
        date("dpa_signed", &self.dpa_signed)?;
        date("review_due", &self.review_due)?;
        for (f, v) in [("security_measures", &self.security_measures), ("contact", &self.contact)] {
            if v.len() > 20_000 {
                return Err(Invalid::new(f, "must be at most 20000 bytes"));
            }
        }
        for (i, c) in self.data_categories.iter().enumerate() {
            if c.trim().is_empty() || c.len() > 200 {
                return Err(Invalid::new(format!("data_categories[{i}]"), "must be 1-200 bytes"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailerlite() -> ProcessorEntry {
        ProcessorEntry {
            name: "MailerLite".into(),
            role: ProcessorRole::Processor,
            engaged_by: None,
            service: "newsletter delivery".into(),
            data_categories: vec!["contact".into()],
            locations: vec!["LT".into()],
            transfer_safeguard: None,
            dpa_signed: Some("2024-03-01".into()),
            review_due: Some("2027-03-01".into()),
            security_measures: "ISO 27001".into(),
            contact: "privacy@mailerlite.com".into(),
        }
    }

    #[test]
    fn entries_are_checked_with_the_field_named() {
        assert!(mailerlite().validate().is_ok());
        let mut p = mailerlite();
        p.locations = vec!["US".into()];
        assert_eq!(p.validate().unwrap_err().field, "transfer_safeguard", "outside the EEA");
        p.transfer_safeguard = Some("standard contractual clauses (2021/914)".into());
        assert!(p.validate().is_ok());
        let mut p = mailerlite();
        p.role = ProcessorRole::SubProcessor;
        assert_eq!(p.validate().unwrap_err().field, "engaged_by");
        let mut p = mailerlite();
        p.dpa_signed = Some("1 March 2024".into());
        assert_eq!(p.validate().unwrap_err().field, "dpa_signed");
        let mut p = mailerlite();
        p.locations = vec!["lt".into()];
        assert_eq!(p.validate().unwrap_err().field, "locations[0]");
    }
}

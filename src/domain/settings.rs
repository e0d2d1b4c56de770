//! A tenant's settings for the subject's rights: the DPO or contact point
//! that reminders go to, the days before a request's due date they go, and
//! the supervisory authority the access report names (Art. 15(1)(f), 77).
//! Pure: validation and defaults, no I/O.

use super::{identifiers, Invalid};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A supervisory authority (Art. 51).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Authority {
    pub name: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub website: String,
}

impl Authority {
    /// The Slovenian Information Commissioner: the seeds' authority.
    pub fn slovenia() -> Authority {
        Authority {
            name: "Information Commissioner of the Republic of Slovenia (Informacijski pooblaščenec)".into(),
            address: "Dunajska cesta 22, 1000 Ljubljana".into(),
            email: "gp.ip@ip-rs.si".into(),
            website: "https://www.ip-rs.si".into(),
        }
    }

    /// The access report's sentence on where to complain (Art. 77).
    pub fn complaint(&self) -> String {
        let mut at = vec![self.address.as_str(), self.email.as_str(), self.website.as_str()];
        at.retain(|s| !s.is_empty());
        format!(
            "You may lodge a complaint with a supervisory authority, in particular in the Member State of your habitual \
             residence, place of work or of the alleged infringement (Art. 77 GDPR); ours is: {}{}{}.",
            self.name,
            if at.is_empty() { "" } else { ", " },
            at.join(", ")
        )
    }
}

fn default_reminders() -> Vec<u32> {
    vec![7, 1, 0]
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantSettings {
    /// The DPO or contact point: request reminders are e-mailed here.
    #[serde(default)]
    pub dpo_email: Option<String>,
    /// Request reminders are POSTed here (JSON).
    #[serde(default)]
    pub notify_webhook: Option<String>,
    /// Days before a request's due date a reminder goes (0: on the day).
    #[serde(default = "default_reminders")]
    pub reminder_days: Vec<u32>,
    /// Where the subjects may complain (default: the Slovenian Information Commissioner).
    #[serde(default)]
    pub supervisory_authority: Option<Authority>,
    /// When varuh is run for this tenant by its processor: the hours from
    /// the processor's awareness of a breach within which its contract
    /// promises the notice to this controller (Art. 33(2); 2Mobile: 24).
    /// Default 24.
    #[serde(default)]
    pub breach_notice_hours: Option<u32>,
    /// The controller's address and contact e-mail, and the DPO's name,
    /// for the records of processing (Art. 30(1)(a)).
    #[serde(default)]
    pub controller_address: Option<String>,
    #[serde(default)]
    pub controller_email: Option<String>,
    #[serde(default)]
    pub dpo_name: Option<String>,
    /// The staff register (REG-3): new staff are trained within this many
    /// days of starting (2Mobile: 7; default 30) and everyone again every
    /// `training_every_months` (default 12).
    #[serde(default)]
    pub training_within_days: Option<u32>,
    #[serde(default)]
    pub training_every_months: Option<u32>,
    /// The TOMs statement (REG-4): the organisational measures, as text,
    /// the date of the last review (YYYY-MM-DD) and how many months later
    /// the next is due (default 12; 2Mobile 4.2: yearly).
    #[serde(default)]
    pub organisational_measures: Vec<OrganisationalMeasure>,
    #[serde(default)]
    pub toms_reviewed_on: Option<String>,
    #[serde(default)]
    pub toms_review_months: Option<u32>,
}

/// An organisational measure the software cannot enforce (physical access,
/// clean desk, the training programme), stated as text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganisationalMeasure {
    /// A short key, e.g. `physical_access`.
    pub area: String,
    pub text: String,
}

impl TenantSettings {
    pub fn training_within_days(&self) -> u32 {
        self.training_within_days.unwrap_or(30)
    }
    pub fn training_every_months(&self) -> u32 {
        self.training_every_months.unwrap_or(12)
    }
    pub fn toms_review_months(&self) -> u32 {
        self.toms_review_months.unwrap_or(12)
    }
    /// When the TOMs statement's next review is due on `today`, and whether
    /// it is overdue: the last review plus the tenant's months; today, and
    /// overdue, when none is recorded.
    pub fn toms_review_due(&self, today: time::Date) -> (time::Date, bool) {
        let reviewed = self.toms_reviewed_on.as_deref().and_then(|d| super::parse_date("", d).ok());
        let due = reviewed.map_or(today, |d| super::staff_register::add_months(d, self.toms_review_months()));
        (due, due < today || reviewed.is_none())
    }
}

impl Default for TenantSettings {
    fn default() -> Self {
        TenantSettings {
            dpo_email: None,
            notify_webhook: None,
            reminder_days: default_reminders(),
            supervisory_authority: None,
            breach_notice_hours: None,
            controller_address: None,
            controller_email: None,
            dpo_name: None,
            training_within_days: None,
            training_every_months: None,
            organisational_measures: Vec::new(),
            toms_reviewed_on: None,
            toms_review_months: None,
        }
    }
}

impl TenantSettings {
    pub fn validate(&self) -> Result<(), Invalid> {
        if let Some(e) = &self.dpo_email {
            identifiers::normalise(identifiers::EMAIL, e, "dpo_email")?;
        }
        if let Some(w) = &self.notify_webhook {
            crate::outbound::check_url(w).map_err(|e| Invalid::new("notify_webhook", e))?;
        }
        if self.reminder_days.len() > 5 {
            return Err(Invalid::new("reminder_days", "at most 5 reminders"));
        }
        for (i, d) in self.reminder_days.iter().enumerate() {
            if *d > 90 || self.reminder_days[..i].contains(d) {
                return Err(Invalid::new(format!("reminder_days[{i}]"), "must be 0-90 days, each once"));
            }
        }
        if let Some(e) = &self.controller_email {
            identifiers::normalise(identifiers::EMAIL, e, "controller_email")?;
        }
        for (f, v) in [("controller_address", &self.controller_address), ("dpo_name", &self.dpo_name)] {
            if v.as_ref()
                .is_some_and(|v| v.trim().is_empty() || v.len() > 500 || v.chars().any(|c| c.is_control() && c != '\n'))
            {
                return Err(Invalid::new(f, "must be 1-500 bytes of text"));
            }
        }
        if self.training_within_days.is_some_and(|d| d > 365) {
            return Err(Invalid::new("training_within_days", "must be 0-365 days"));
        }
        for (f, v) in
            [("training_every_months", self.training_every_months), ("toms_review_months", self.toms_review_months)]
        {
            if v.is_some_and(|m| m == 0 || m > 60) {
                return Err(Invalid::new(f, "must be 1-60 months"));
            }
        }
        if let Some(d) = &self.toms_reviewed_on {
            super::check_date("toms_reviewed_on", d)?;
        }
        if self.organisational_measures.len() > 100 {
            return Err(Invalid::new("organisational_measures", "at most 100 measures"));
        }
        for (i, m) in self.organisational_measures.iter().enumerate() {
            super::check_name(&format!("organisational_measures[{i}].area"), &m.area)?;
            if m.text.trim().is_empty() || m.text.len() > 10_000 {
                return Err(Invalid::new(
                    format!("organisational_measures[{i}].text"),
                    "must be 1-10000 bytes of text",
                ));
            }
        }
        if self.breach_notice_hours.is_some_and(|h| h == 0 || h > 72) {
            return Err(Invalid::new("breach_notice_hours", "must be 1-72 hours"));
        }
        if let Some(a) = &self.supervisory_authority {
            if a.name.trim().is_empty() || a.name.len() > 300 {
                return Err(Invalid::new("supervisory_authority.name", "must name the authority (1-300 bytes)"));
            }
            for (f, v) in [("address", &a.address), ("email", &a.email), ("website", &a.website)] {
                if v.len() > 300 || v.chars().any(char::is_control) {
                    return Err(Invalid::new(
                        format!("supervisory_authority.{f}"),
                        "must be at most 300 bytes of text",
                    ));
                }
            }
        }
        Ok(())
    }

    pub fn authority(&self) -> Authority {
        self.supervisory_authority.clone().unwrap_or_else(Authority::slovenia)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_check_names_the_field_and_default_to_slovenia() {
        let ok = TenantSettings { dpo_email: Some("dpo@ham.si".into()), ..Default::default() };
        assert!(ok.validate().is_ok());
        assert!(ok.authority().complaint().contains("Dunajska cesta 22"));
        let cases = [
            (TenantSettings { dpo_email: Some("x".into()), ..Default::default() }, "dpo_email"),
            (TenantSettings { notify_webhook: Some("ftp://x".into()), ..Default::default() }, "notify_webhook"),
            (TenantSettings { reminder_days: vec![7, 7], ..Default::default() }, "reminder_days[1]"),
            (TenantSettings { reminder_days: vec![91], ..Default::default() }, "reminder_days[0]"),
        ];
        for (s, field) in cases {
            assert_eq!(s.validate().unwrap_err().field, field);
        }
        let at = Authority {
            name: "CNIL".into(),
            address: String::new(),
            email: String::new(),
            website: "https://cnil.fr".into(),
        };
        assert!(at.complaint().ends_with("ours is: CNIL, https://cnil.fr."), "{}", at.complaint());
    }
}

//! One's own preferences: the console's language (English or Slovenian)
//! and the time zone its dates are shown in (stored in UTC, shown in the
//! zone; an IANA name such as `Europe/Ljubljana`). They ride with the
//! session's actor, so reading them costs nothing; a change is seen by
//! every session of the account at once on this server and within the
//! session cache's bound on others.

use crate::domain::access::Action;
use crate::domain::Invalid;
use crate::service::documents::Lang;
use crate::service::{Actor, Prefs, Result, Vault};
use crate::store::queries;

/// Checks an IANA time zone name against the bundled time zone database.
pub fn time_zone(name: &str) -> std::result::Result<jiff::tz::TimeZone, Invalid> {
    if name.is_empty() || name.len() > 64 {
        return Err(Invalid::new("time_zone", "must be an IANA time zone name such as Europe/Ljubljana"));
    }
    jiff::tz::TimeZone::get(name)
        .map_err(|_| Invalid::new("time_zone", "must be an IANA time zone name such as Europe/Ljubljana"))
}

impl Vault {
    /// Sets one's own language (`en`, `sl`, or none: the browser's) and
    /// time zone (none: UTC).
    pub async fn set_preferences(&self, actor: &Actor, language: Option<&str>, zone: Option<&str>) -> Result<Prefs> {
        let call = self.call(actor, Action::PreferencesChange, None).detail(format!(
            "language={} time_zone={}",
            language.unwrap_or(""),
            zone.unwrap_or("")
        ));
        self.run(
            call,
            |_| async {
                let lang = match language {
                    None => None,
                    Some(l) => Some(Lang::parse(l).ok_or_else(|| Invalid::new("language", "must be en or sl"))?),
                };
                if let Some(z) = zone {
                    time_zone(z)?;
                }
                let id = actor.staff_id;
                let (l, z) = (lang.map(|l| l.code().to_string()), zone.map(str::to_string));
                self.write_recorded(move |db, _| queries::set_preferences(db, id, l.as_deref(), z.as_deref())).await?;
                self.sessions.forget_staff(id);
                Ok(Prefs { language: lang, time_zone: zone.map(str::to_string) })
            },
            |_, _| {},
        )
        .await
    }
}

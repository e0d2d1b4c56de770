//! Reminders of data-subject requests before their due date (DSR-1): on
//! each of the tenant's `reminder_days` (7, 1 and 0 days before, by
//! default) an open request's reminder is queued once, to the tenant's own
//! contact (its DPO e-mail and webhook), in the same outbox as the Art. 19
//! notices (`disclosures.rs` sends both). A reminder's id is derived from
//! the request, its due date and the day, so several servers queue it once,
//! and an extension (a new due date) brings new reminders.
//!
//! Breach clocks (BRE-2) are reminded the same way: each clock of an open
//! breach that still wants something, 24 and 6 hours before its due time,
//! at it, and once when overdue; a decision owed on telling the subjects
//! (and their notice, which has no hour count) once. The outbox row's
//! `request_id` then holds the breach's id and its event names the
//! audience (`breach.reminder.authority`); a clock met meanwhile sends
//! nothing.

use super::{Result, Vault};
use crate::domain::breach::{self, ClockState};
use crate::store::queries::{self, RecipientNoticeRow};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub(super) const DAY_MS: i64 = 86_400_000;
/// The outbox event of a reminder.
pub(super) const REMINDER: &str = "request.reminder";

impl Vault {
    /// Queues the reminders due now across tenants; returns how many.
    pub async fn queue_reminders(&self) -> Result<usize> {
        let now = self.clock.now_ms();
        let tenants = self.store.read(queries::list_tenants).await?;
        let mut queued = 0;
        for t in tenants {
            let settings = self.settings(t.id).await?;
            if (settings.dpo_email.is_none() && settings.notify_webhook.is_none()) || settings.reminder_days.is_empty()
            {
                continue;
            }
            let furthest = i64::from(settings.reminder_days.iter().copied().max().unwrap_or(0));
            let before = now + (furthest + 1) * DAY_MS;
            let tenant = t.id;
            let open = self.store.read(move |db| queries::list_requests(db, tenant, None, Some(before), 500)).await?;
            let mut rows = Vec::new();
            for r in open {
                let Some(day) =
                    settings.reminder_days.iter().copied().filter(|d| r.due_at - now <= i64::from(*d) * DAY_MS).min()
                else {
                    continue;
                };
                let mut h = Sha256::new();
                h.update(b"varuh/reminder/v1");
                h.update(r.id.as_bytes());
                h.update(r.due_at.to_be_bytes());
                h.update(day.to_be_bytes());
                let id = id_of(h);
                let subject = r.subject_id.unwrap_or(Uuid::nil());
                rows.push(RecipientNoticeRow::queued(tenant, id, "", subject, REMINDER, now, Some(r.id)));
            }
            queued += self.queue_once(rows).await?;
        }
        Ok(queued)
    }
}

/// The outbox event of a breach clock's reminder, by audience.
pub(super) const BREACH_REMINDER: &str = "breach.reminder.";
/// The processor's notice to its controller, sent by varuh (`…en`, `…sl`).
pub(super) const BREACH_NOTICE: &str = "breach.notice.controller.";
/// Hours before a clock's due time its reminders go.
const BREACH_STEPS: [i64; 3] = [24, 6, 0];

impl Vault {
    /// Queues the breach clocks' reminders due now across tenants.
    pub async fn queue_breach_reminders(&self) -> Result<usize> {
        let now = self.clock.now_ms();
        let tenants = self.store.read(queries::list_tenants).await?;
        let mut queued = 0;
        for t in tenants {
            let settings = self.settings(t.id).await?;
            if settings.dpo_email.is_none() && settings.notify_webhook.is_none() {
                continue;
            }
            let ctx = self.tenant(t.id).await?;
            let mut rows = Vec::new();
            for c in self.due_clocks(&ctx).await? {
                // The step reached: the nearest one passed (-1: overdue).
                let step = match c.clock.due_at {
                    Some(due) if now > due => Some(-1),
                    Some(due) => BREACH_STEPS.iter().copied().filter(|h| due - now <= h * breach::HOUR_MS).min(),
                    None => Some(-2),
                };
                let Some(step) = step else { continue };
                let mut h = Sha256::new();
                h.update(b"varuh/breach-reminder/v1");
                h.update(c.breach.as_bytes());
                h.update(c.clock.audience.as_str().as_bytes());
                h.update(c.clock.due_at.unwrap_or(0).to_be_bytes());
                h.update(step.to_be_bytes());
                let id = id_of(h);
                let event = format!("{BREACH_REMINDER}{}", c.clock.audience.as_str());
                rows.push(RecipientNoticeRow::queued(t.id, id, "", Uuid::nil(), &event, now, Some(c.breach)));
            }
            queued += self.queue_once(rows).await?;
        }
        Ok(queued)
    }

    /// Queues reminders into the outbox, each once (by its derived id):
    /// how many were new.
    async fn queue_once(&self, rows: Vec<RecipientNoticeRow>) -> Result<usize> {
        if rows.is_empty() {
            return Ok(0);
        }
        Ok(self
            .store
            .write(move |db| {
                let mut n = 0;
                for r in &rows {
                    n += usize::from(queries::insert_notice_once(db, r)?);
                }
                Ok(n)
            })
            .await?)
    }

    /// The processor's notice to the controller, as the register has the
    /// breach now: the e-mail (the notice's title and text) and the
    /// webhook's JSON (with the same text).
    pub(super) async fn breach_notice_message(
        &self,
        controller: &str,
        n: &RecipientNoticeRow,
    ) -> Result<Option<((String, String), String)>> {
        let (Some(id), Some(lang)) = (n.request_id, n.event.strip_prefix(BREACH_NOTICE)) else {
            return Ok(None);
        };
        let lang = if lang == "sl" { super::documents::Lang::Sl } else { super::documents::Lang::En };
        let t = self.tenant(n.tenant_id).await?;
        let b = match self.load_breach(&t, id).await {
            Ok(b) => b,
            Err(super::ServiceError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let doc = self.notice_of(n.tenant_id, &b, breach::Audience::Controller, lang, controller).await?;
        let text = doc.text();
        let json = serde_json::json!({
            "type": "varuh.breach_notice",
            "tenant_id": n.tenant_id.to_string(),
            "controller": controller,
            "breach_id": id.to_string(),
            "notification_id": n.id.to_string(),
            "audience": "controller",
            "title": doc.title,
            "text": text,
        })
        .to_string();
        Ok(Some(((format!("{} ({id})", doc.title), text), json)))
    }

    /// The message of a breach reminder, if its clock still wants something.
    pub(super) async fn breach_reminder(
        &self,
        controller: &str,
        n: &RecipientNoticeRow,
    ) -> Result<Option<((String, String), String)>> {
        let (Some(id), Some(audience)) =
            (n.request_id, n.event.strip_prefix(BREACH_REMINDER).and_then(breach::Audience::parse))
        else {
            return Ok(None);
        };
        let t = self.tenant(n.tenant_id).await?;
        let b = match self.load_breach(&t, id).await {
            Ok(b) => b,
            Err(super::ServiceError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let Some(c) = b.clock(audience).filter(|c| {
            !b.details.closed && matches!(c.state, ClockState::Running | ClockState::Overdue | ClockState::DecisionDue)
        }) else {
            return Ok(None);
        };
        let (what, kaj) = match (audience, c.state) {
            (breach::Audience::Subjects, ClockState::DecisionDue) => (
                "a decision on telling the data subjects (high risk, Art. 34) is owed",
                "dolžna je odločitev o obveščanju posameznikov (veliko tveganje, člen 34)",
            ),
            (breach::Audience::Subjects, _) => (
                "the data subjects are to be told without undue delay (Art. 34)",
                "posameznike je treba obvestiti brez nepotrebnega odlašanja (člen 34)",
            ),
            (breach::Audience::Authority, _) => (
                "the notification to the supervisory authority (Art. 33(1))",
                "uradno obvestilo nadzornemu organu (člen 33(1))",
            ),
            (breach::Audience::Controller, _) => (
                "the processor's notice to the controller (Art. 33(2), the contract's hours)",
                "obvestilo obdelovalca upravljavcu (člen 33(2), rok iz pogodbe)",
            ),
        };
        let due = c.due_at.map(crate::clock::rfc3339);
        let overdue = c.state == ClockState::Overdue;
        let (when, kdaj) = match (&due, overdue) {
            (Some(d), true) => (format!("was due by {d}: it is OVERDUE"), format!("je zapadlo {d}: ZAMUDA")),
            (Some(d), false) => (format!("is due by {d}"), format!("zapade {d}")),
            (None, _) => ("is due now".to_string(), "je na vrsti zdaj".to_string()),
        };
        let subject = format!(
            "Breach {id}: {} / Kršitev {id}: {}",
            if overdue { "a clock is overdue" } else { "a clock is running" },
            if overdue { "rok je zamujen" } else { "rok teče" }
        );
        let body = format!(
            "{controller}: breach {id} (aware {aware}, risk {risk}): {what} {when}.\n\n\
             --- Slovensko ---\n\
             {controller}: kršitev {id} (seznanitev {aware}, tveganje {risk}): {kaj} {kdaj}.\n",
            aware = crate::clock::rfc3339(b.details.aware_at),
            risk = b.details.risk.as_str(),
        );
        let json = serde_json::json!({
            "type": "varuh.breach_reminder",
            "tenant_id": n.tenant_id.to_string(),
            "controller": controller,
            "breach_id": id.to_string(),
            "audience": audience.as_str(),
            "state": c.state,
            "due_at": due,
            "overdue": overdue,
        })
        .to_string();
        Ok(Some(((subject, body), json)))
    }
}

/// A reminder's e-mail (subject, body) and webhook JSON: the request by id,
/// kind, state and due date; no personal value.
pub(super) fn reminder_message(controller: &str, r: &queries::RequestRow, now: i64) -> ((String, String), String) {
    let days = (r.due_at - now).div_euclid(DAY_MS);
    let due = crate::clock::rfc3339(r.due_at);
    let when = if r.due_at <= now { "is overdue".to_string() } else { format!("is due in {days} day(s)") };
    let kdaj = if r.due_at <= now { "je zapadla".to_string() } else { format!("zapade čez {days} dni") };
    let subject = format!("Data-subject request {} {when} / Zahteva posameznika {kdaj}", r.kind);
    let body = format!(
        "{controller}: the data-subject request {id} ({kind}, {state}) {when}: answer by {due} (Art. 12(3) GDPR).\n\n\
         --- Slovensko ---\n\
         {controller}: zahteva posameznika {id} ({kind}, {state}) {kdaj}: odgovor do {due} (člen 12(3) GDPR).\n",
        id = r.id,
        kind = r.kind,
        state = r.state,
    );
    let json = serde_json::json!({
        "type": "varuh.request_reminder",
        "tenant_id": r.tenant_id.to_string(),
        "controller": controller,
        "request_id": r.id.to_string(),
        "kind": r.kind,
        "state": r.state,
        "due_at": due,
        "days_left": days,
        "overdue": r.due_at <= now,
    })
    .to_string();
    ((subject, body), json)
}

/// The outbox event of a register's reminder: `register.reminder.staff.<due
/// kind>` (the row's `request_id`: the register entry), `…toms_review`
/// (the tenant) or `…processor_review` (the processor).
pub(super) const REGISTER_REMINDER: &str = "register.reminder.";
/// Days ahead a register item is reminded of (and once more when overdue).
const REGISTER_AHEAD_DAYS: u32 = 14;

fn derived_id(parts: &[&[u8]]) -> Uuid {
    let mut h = Sha256::new();
    h.update(b"varuh/register-reminder/v1");
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    id_of(h)
}

/// A reminder's id: the first 16 bytes of its digest.
fn id_of(h: Sha256) -> Uuid {
    let digest = h.finalize();
    uuid::Builder::from_random_bytes(digest[..16].try_into().expect("16 bytes")).into_uuid()
}

impl Vault {
    /// Queues the registers' reminders due now across tenants (REG-3,
    /// REG-4, REG-2): a person's statement, training or checklist within
    /// 14 days of its day and once overdue; the TOMs review (once the
    /// tenant has recorded one); a processor's review date. Each once per item, day and state.
    pub async fn queue_register_reminders(&self) -> Result<usize> {
        let now = self.clock.now_ms();
        let today = crate::clock::day(now);
        let ahead = today + time::Duration::days(i64::from(REGISTER_AHEAD_DAYS));
        let tenants = self.store.read(queries::list_tenants).await?;
        let mut queued = 0;
        for t in tenants {
            let settings = self.settings(t.id).await?;
            if settings.dpo_email.is_none() && settings.notify_webhook.is_none() {
                continue;
            }
            let ctx = self.tenant(t.id).await?;
            let mut rows = Vec::new();
            let mut push = |event: String, about: Uuid, on: &str, overdue: bool| {
                let id = derived_id(&[event.as_bytes(), about.as_bytes(), on.as_bytes(), &[u8::from(overdue)]]);
                rows.push(RecipientNoticeRow::queued(t.id, id, "", Uuid::nil(), &event, now, Some(about)));
            };
            for l in self.staff_register(&ctx, REGISTER_AHEAD_DAYS).await?.due {
                let overdue = l.due.state == crate::domain::staff_register::DueState::Overdue;
                push(format!("{REGISTER_REMINDER}staff.{}", l.due.kind.as_str()), l.entry, &l.due.due_on, overdue);
            }
            // The review is reminded once the tenant records its reviews.
            let (review_due, overdue) = settings.toms_review_due(today);
            if settings.toms_reviewed_on.is_some() && (overdue || review_due <= ahead) {
                push(format!("{REGISTER_REMINDER}toms_review"), t.id, &date_text(review_due), overdue);
            }
            for p in self.processor_register(&ctx).await?.processors {
                if let Some(due) = p.entry.review_due.as_deref().filter(|d| *d <= date_text(ahead).as_str()) {
                    push(format!("{REGISTER_REMINDER}processor_review"), p.row.id, due, p.review_overdue);
                }
            }
            queued += self.queue_once(rows).await?;
        }
        Ok(queued)
    }

    /// The message of a register's reminder, if the item is still due.
    pub(super) async fn register_reminder(
        &self,
        controller: &str,
        n: &RecipientNoticeRow,
    ) -> Result<Option<((String, String), String)>> {
        let (Some(about), Some(what)) = (n.request_id, n.event.strip_prefix(REGISTER_REMINDER)) else {
            return Ok(None);
        };
        let ctx = self.tenant(n.tenant_id).await?;
        let today = date_text(crate::clock::day(self.clock.now_ms()));
        // (what is due, its day, overdue) as it stands now.
        let due: Option<(String, String, bool)> = if let Some(kind) = what.strip_prefix("staff.") {
            self.staff_register(&ctx, REGISTER_AHEAD_DAYS)
                .await?
                .due
                .into_iter()
                .find(|l| l.entry == about && l.due.kind.as_str() == kind)
                .map(|l| {
                    let overdue = l.due.state == crate::domain::staff_register::DueState::Overdue;
                    (format!("staff register entry {about}: {kind}"), l.due.due_on, overdue)
                })
        } else if what == "toms_review" {
            let (due, overdue) =
                self.settings(n.tenant_id).await?.toms_review_due(crate::clock::day(self.clock.now_ms()));
            Some(("the yearly review of the TOMs statement (Art. 32)".into(), date_text(due), overdue))
        } else if what == "processor_review" {
            self.processor_register(&ctx).await?.processors.into_iter().find(|p| p.row.id == about).and_then(|p| {
                let overdue = p.review_overdue;
                p.entry.review_due.map(|d| (format!("the review of processor {}", p.entry.name), d, overdue))
            })
        } else {
            None
        };
        let Some((item, on, overdue)) = due else { return Ok(None) };
        let state = if overdue { "OVERDUE" } else { "due" };
        let subject = format!("Register: {item} is {state} ({on}) / Evidenca: rok {on}");
        let body = format!(
            "{controller}: {item} is {state}: {on} (today {today}).\n\n\
             --- Slovensko ---\n\
             {controller}: {item}: rok {on}{}.\n",
            if overdue { " je zamujen" } else { "" }
        );
        let json = serde_json::json!({
            "type": "varuh.register_reminder",
            "tenant_id": n.tenant_id.to_string(),
            "controller": controller,
            "reminder": what,
            "about": about.to_string(),
            "due_on": on,
            "overdue": overdue,
        })
        .to_string();
        Ok(Some(((subject, body), json)))
    }
}

fn date_text(d: time::Date) -> String {
    crate::domain::staff_register::date_text(d)
}

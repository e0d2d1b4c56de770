//! Reminders of data-subject requests before their due date (DSR-1): on
//! each of the tenant's `reminder_days` (7, 1 and 0 days before, by
//! default) an open request's reminder is queued once, to the tenant's own
//! contact (its DPO e-mail and webhook), in the same outbox as the Art. 19
//! notices (`disclosures.rs` sends both). A reminder's id is derived from
//! the request, its due date and the day, so several servers queue it once,
//! and an extension (a new due date) brings new reminders.

use super::{Result, Vault};
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
                let digest = h.finalize();
                let id = uuid::Builder::from_random_bytes(digest[..16].try_into().expect("16 bytes")).into_uuid();
                let subject = r.subject_id.unwrap_or(Uuid::nil());
                rows.push(RecipientNoticeRow::queued(tenant, id, "", subject, REMINDER, now, Some(r.id)));
            }
            if rows.is_empty() {
                continue;
            }
            queued += self
                .store
                .write(move |db| {
                    let mut n = 0;
                    for r in &rows {
                        n += usize::from(queries::insert_notice_once(db, r)?);
                    }
                    Ok(n)
                })
                .await?;
        }
        Ok(queued)
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

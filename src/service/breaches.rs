//! The breach register (BRE-1) and its clocks (BRE-2): every breach is
//! documented, notified or not (Art. 33(5)); each notification made — to
//! the controller, the supervisory authority, the data subjects, in phases
//! (Art. 33(4)) — is kept; the clocks say what is due and overdue, and
//! `breach_reminders` queues reminders of them. What a breach and a
//! notification say is sealed with the tenant's key; the audit events
//! carry ids, kinds, risk and audiences only. The documents themselves are
//! in `breach_notices`.

use super::{Actor, Result, ServiceError, TenantCtx, Vault};
use crate::domain::access::Action;
use crate::domain::breach::{self, Audience, BreachDetails, BreachKind, Clock, ClockState, FoundBy, Phase, Risk};
use crate::domain::Invalid;
use crate::store::queries::{self, BreachRow, NotificationRow};
use crate::store::StoreError;
use uuid::Uuid;

/// What a notification said, and to whom (sealed when stored).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationDetails {
    /// Who it went to (an address, the authority's case reference, "all
    /// customers by e-mail").
    pub to: String,
    /// How: e-mail, the authority's web form, a letter, a public notice.
    #[serde(default)]
    pub channel: String,
    /// What it said, or a reference to the document sent.
    #[serde(default)]
    pub summary: String,
    /// For a notification to the authority after 72 hours: why (Art. 33(1)).
    #[serde(default)]
    pub late_reason: Option<String>,
}

/// A notification to record: to whom, which phase, when (default now).
pub struct NewNotification {
    pub audience: Audience,
    pub phase: Phase,
    pub sent_at: Option<i64>,
    pub details: NotificationDetails,
    /// The processor's notice to the controller only: varuh sends the
    /// notice itself, in this language, to the tenant's (the controller's)
    /// DPO e-mail and webhook, through the outbox (retried until delivered).
    pub deliver: Option<super::documents::Lang>,
}

#[derive(Debug, Clone)]
pub struct NotificationView {
    pub row: NotificationRow,
    pub audience: Audience,
    pub phase: Phase,
    pub details: NotificationDetails,
}

/// A breach as shown: its details opened, its clocks at the time asked.
#[derive(Debug, Clone)]
pub struct BreachView {
    pub row: BreachRow,
    pub details: BreachDetails,
    /// The tenant's DPO e-mail when the breach names no contact.
    pub contact: String,
    pub controller_hours: u32,
    pub clocks: Vec<Clock>,
    pub notifications: Vec<NotificationView>,
}

impl BreachView {
    pub fn clock(&self, a: Audience) -> Option<&Clock> {
        self.clocks.iter().find(|c| c.audience == a)
    }
}

/// A clock that is due (running or overdue, or a decision owed), with its breach.
#[derive(Debug, Clone)]
pub struct DueClock {
    pub breach: Uuid,
    pub aware_at: i64,
    pub risk: Risk,
    pub clock: Clock,
}

fn details_context(tenant: Uuid, id: Uuid) -> String {
    format!("varuh/breach/v1/{tenant}/{id}")
}

fn notification_context(tenant: Uuid, breach: Uuid, id: Uuid) -> String {
    format!("varuh/breach-notification/v1/{tenant}/{breach}/{id}")
}

fn kinds_text(kinds: &[BreachKind]) -> String {
    kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(",")
}

impl Vault {
    /// Records a breach in the register.
    pub async fn record_breach(&self, actor: &Actor, tenant: Uuid, d: BreachDetails) -> Result<BreachView> {
        let call = self.call(actor, Action::BreachRecord, Some(tenant));
        self.run(
            call,
            |cx| async move {
                let t = cx.tenant()?.clone();
                let now = self.clock.now_ms();
                d.validate(now)?;
                let id = Uuid::now_v7();
                let row = self.breach_row(&t, id, &d, actor, now, 1)?;
                let stored = row.clone();
                self.write_recorded(move |db, e| {
                    e.detail = Some(format!(
                        "breach={id} kinds={} risk={} found_by={}",
                        stored.kinds, stored.risk, stored.found_by
                    ));
                    queries::insert_breach(db, tenant, &stored)
                })
                .await?;
                self.breach_view(&t, row, now).await
            },
            |_, _| {},
        )
        .await
    }

    /// Replaces what a breach says (as assessed so far: containment, new
    /// numbers, the risk, the subjects' decision, closing it). `version`:
    /// the version read, so that two people editing do not overwrite each
    /// other (409 when another change came first).
    pub async fn update_breach(
        &self,
        actor: &Actor,
        tenant: Uuid,
        id: Uuid,
        version: i64,
        d: BreachDetails,
    ) -> Result<BreachView> {
        let call = self.call(actor, Action::BreachUpdate, Some(tenant)).detail(format!("breach={id}"));
        self.run(
            call,
            |cx| async move {
                let t = cx.tenant()?.clone();
                let now = self.clock.now_ms();
                d.validate(now)?;
                let old = self
                    .store
                    .read_latest(move |db| queries::get_breach(db, tenant, id))
                    .await?
                    .ok_or(ServiceError::NotFound("breach"))?;
                let mut row = self.breach_row(&t, id, &d, actor, now, version + 1)?;
                row.recorded_by = old.recorded_by.clone();
                row.recorded_at = old.recorded_at;
                let stored = row.clone();
                self.write_recorded(move |db, e| {
                    e.detail = Some(format!(
                        "breach={id} kinds={} risk={} closed={} version={}",
                        stored.kinds, stored.risk, stored.closed, stored.version
                    ));
                    queries::update_breach(db, tenant, &stored, version)
                })
                .await
                .map_err(|e| match e {
                    StoreError::Stale => {
                        ServiceError::Conflict("the breach was changed since it was read: read it again")
                    }
                    e => e.into(),
                })?;
                self.breach_view(&t, row, now).await
            },
            |_, _| {},
        )
        .await
    }

    /// One breach with its clocks and notifications.
    pub async fn get_breach(&self, actor: &Actor, tenant: Uuid, id: Uuid) -> Result<BreachView> {
        let call = self.call(actor, Action::BreachRead, Some(tenant)).detail(format!("breach={id}"));
        self.run(
            call,
            |cx| async move {
                let t = cx.tenant()?.clone();
                self.load_breach(&t, id).await
            },
            |_, _| {},
        )
        .await
    }

    pub(super) async fn load_breach(&self, t: &TenantCtx, id: Uuid) -> Result<BreachView> {
        let tenant = t.id;
        let row = self
            .store
            .read_latest(move |db| queries::get_breach(db, tenant, id))
            .await?
            .ok_or(ServiceError::NotFound("breach"))?;
        self.breach_view(t, row, self.clock.now_ms()).await
    }

    /// The register: every breach (or the open ones), newest first.
    pub async fn list_breaches(&self, actor: &Actor, tenant: Uuid, open_only: bool) -> Result<Vec<BreachView>> {
        let call = self.call(actor, Action::BreachList, Some(tenant));
        self.run(
            call,
            |cx| async move {
                let t = cx.tenant()?.clone();
                let now = self.clock.now_ms();
                let rows = self.store.read(move |db| queries::list_breaches(db, tenant, open_only)).await?;
                let mut out = Vec::with_capacity(rows.len());
                for r in rows {
                    out.push(self.breach_view(&t, r, now).await?);
                }
                Ok(out)
            },
            |v: &Vec<BreachView>, d| d.detail = Some(format!("breaches={}", v.len())),
        )
        .await
    }

    /// Records a notification made (or its next phase). To the authority
    /// after its 72 hours, the reasons for the delay are required (here or
    /// in the breach's `late_reason`).
    pub async fn record_breach_notification(
        &self,
        actor: &Actor,
        tenant: Uuid,
        id: Uuid,
        new: NewNotification,
    ) -> Result<NotificationView> {
        let NewNotification { audience, phase, sent_at, details: n, deliver } = new;
        let call = self.call(actor, Action::BreachNotify, Some(tenant)).detail(format!(
            "breach={id} audience={} phase={}",
            audience.as_str(),
            phase.as_str()
        ));
        self.run(
            call,
            |cx| async move {
                let t = cx.tenant()?.clone();
                let now = self.clock.now_ms();
                let sent_at = sent_at.unwrap_or(now);
                if n.to.trim().is_empty() || n.to.len() > 500 {
                    return Err(Invalid::new("to", "must say who it went to (1-500 bytes)").into());
                }
                for (f, v) in [("channel", &n.channel), ("summary", &n.summary)] {
                    if v.len() > 20_000 {
                        return Err(Invalid::new(f, "must be at most 20000 bytes").into());
                    }
                }
                if n.late_reason.as_ref().is_some_and(|r| r.trim().is_empty() || r.len() > 20_000) {
                    return Err(Invalid::new("late_reason", "must give the reasons (1-20000 bytes)").into());
                }
                if sent_at > now + 60_000 {
                    return Err(Invalid::new("sent_at", "must not be in the future").into());
                }
                let b = self.load_breach(&t, id).await?;
                if sent_at < b.details.aware_at {
                    return Err(Invalid::new("sent_at", "must not be before the breach's aware_at").into());
                }
                if audience == Audience::Controller && b.details.found_by != FoundBy::Processor {
                    return Err(Invalid::new(
                        "audience",
                        "a notice to the controller is the processor's: this breach was found by the controller",
                    )
                    .into());
                }
                let first = !b.notifications.iter().any(|x| x.audience == audience);
                if first && phase != Phase::Initial {
                    return Err(Invalid::new("phase", "the first notification to an audience is the initial one").into());
                }
                if !first && phase == Phase::Initial {
                    return Err(Invalid::new("phase", "an initial notification was made already: this is a follow_up or the final one").into());
                }
                if audience == Audience::Authority && first {
                    let due = b.clock(Audience::Authority).and_then(|c| c.due_at);
                    if due.is_some_and(|d| sent_at > d) && n.late_reason.is_none() && b.details.late_reason.is_none() {
                        return Err(Invalid::new(
                            "late_reason",
                            "the notification comes after the 72 hours: the reasons for the delay must go with it (Art. 33(1))",
                        )
                        .into());
                    }
                }
                if deliver.is_some() {
                    if audience != Audience::Controller {
                        return Err(Invalid::new(
                            "deliver",
                            "varuh sends only the processor's notice to the controller; the authority's and the subjects' go by their own channels",
                        )
                        .into());
                    }
                    let st = self.settings(tenant).await?;
                    if st.dpo_email.is_none() && st.notify_webhook.is_none() {
                        return Err(Invalid::new(
                            "deliver",
                            "the controller's settings name no dpo_email or notify_webhook to send the notice to",
                        )
                        .into());
                    }
                }
                let nid = Uuid::now_v7();
                // Sent by the outbox once recorded: the notice as the
                // register has it when it goes (`disclosures::send_notices`).
                let outbox = deliver.map(|lang| {
                    let event = format!("{}{}", super::reminders::BREACH_NOTICE, if lang == super::documents::Lang::Sl { "sl" } else { "en" });
                    queries::RecipientNoticeRow::queued(tenant, nid, "", Uuid::nil(), &event, now, Some(id))
                });
                let json = serde_json::to_vec(&n).map_err(|e| ServiceError::Internal(e.to_string()))?;
                let row = NotificationRow {
                    id: nid,
                    breach_id: id,
                    audience: audience.as_str().into(),
                    phase: phase.as_str().into(),
                    sent_at,
                    details: t.keys.seal(&notification_context(tenant, id, nid), &json),
                    recorded_by: actor.staff_id.to_string(),
                    recorded_at: now,
                };
                let stored = row.clone();
                self.write_recorded(move |db, e| {
                    e.detail = Some(format!(
                        "breach={id} notification={nid} audience={} phase={} sent_at={sent_at}{}",
                        stored.audience,
                        stored.phase,
                        if outbox.is_some() { " delivered_by=varuh" } else { "" }
                    ));
                    queries::insert_notification(db, tenant, &stored)?;
                    if let Some(o) = &outbox {
                        queries::insert_notice_once(db, o)?;
                    }
                    Ok(())
                })
                .await?;
                Ok(NotificationView { row, audience, phase, details: n })
            },
            |_, _| {},
        )
        .await
    }

    /// Every clock of the tenant's open breaches that still wants
    /// something (running, overdue, a decision owed), soonest first.
    pub async fn breach_clocks(&self, actor: &Actor, tenant: Uuid) -> Result<Vec<DueClock>> {
        let call = self.call(actor, Action::BreachList, Some(tenant)).detail("clocks");
        self.run(
            call,
            |cx| async move {
                let t = cx.tenant()?.clone();
                self.due_clocks(&t).await
            },
            |v: &Vec<DueClock>, d| {
                let overdue = v.iter().filter(|c| c.clock.state == ClockState::Overdue).count();
                d.detail = Some(format!("clocks={} overdue={overdue}", v.len()))
            },
        )
        .await
    }

    pub(super) async fn due_clocks(&self, t: &TenantCtx) -> Result<Vec<DueClock>> {
        let tenant = t.id;
        let now = self.clock.now_ms();
        let rows = self.store.read(move |db| queries::list_breaches(db, tenant, true)).await?;
        let mut out = Vec::new();
        for r in rows {
            let v = self.breach_view(t, r, now).await?;
            for c in &v.clocks {
                if matches!(c.state, ClockState::Running | ClockState::Overdue | ClockState::DecisionDue) {
                    out.push(DueClock {
                        breach: v.row.id,
                        aware_at: v.details.aware_at,
                        risk: v.details.risk,
                        clock: c.clone(),
                    });
                }
            }
        }
        out.sort_by_key(|c| (c.clock.state != ClockState::Overdue, c.clock.due_at.unwrap_or(c.aware_at)));
        Ok(out)
    }

    fn breach_row(
        &self,
        t: &TenantCtx,
        id: Uuid,
        d: &BreachDetails,
        actor: &Actor,
        now: i64,
        version: i64,
    ) -> Result<BreachRow> {
        let json = serde_json::to_vec(d).map_err(|e| ServiceError::Internal(e.to_string()))?;
        Ok(BreachRow {
            id,
            kinds: kinds_text(&d.kinds),
            aware_at: d.aware_at,
            found_by: d.found_by.as_str().into(),
            risk: d.risk.as_str().into(),
            closed: d.closed,
            details: t.keys.seal(&details_context(t.id, id), &json),
            recorded_by: actor.staff_id.to_string(),
            recorded_at: now,
            updated_at: now,
            version,
        })
    }

    async fn breach_view(&self, t: &TenantCtx, row: BreachRow, now: i64) -> Result<BreachView> {
        let (tenant, id) = (t.id, row.id);
        let plain = t
            .keys
            .open(&details_context(tenant, id), &row.details)
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let details: BreachDetails =
            serde_json::from_slice(&plain).map_err(|_| ServiceError::Internal("a stored breach is not JSON".into()))?;
        let rows = self.store.read_latest(move |db| queries::list_notifications(db, tenant, id)).await?;
        let mut notifications = Vec::with_capacity(rows.len());
        for r in rows {
            let plain = t
                .keys
                .open(&notification_context(tenant, id, r.id), &r.details)
                .map_err(|e| ServiceError::Internal(e.to_string()))?;
            let details = serde_json::from_slice(&plain)
                .map_err(|_| ServiceError::Internal("a stored notification is not JSON".into()))?;
            let audience = Audience::parse(&r.audience).ok_or_else(|| ServiceError::Internal("audience".into()))?;
            let phase = Phase::parse(&r.phase).ok_or_else(|| ServiceError::Internal("phase".into()))?;
            notifications.push(NotificationView { row: r, audience, phase, details });
        }
        let settings = self.settings(tenant).await?;
        let controller_hours = settings.breach_notice_hours.unwrap_or(breach::DEFAULT_CONTROLLER_HOURS);
        let sent: Vec<(Audience, i64)> = notifications.iter().map(|n| (n.audience, n.row.sent_at)).collect();
        let clocks = breach::clocks(&details, controller_hours, &sent, now);
        let contact = if details.contact.trim().is_empty() {
            settings.dpo_email.unwrap_or_default()
        } else {
            details.contact.clone()
        };
        Ok(BreachView { row, details, contact, controller_hours, clocks, notifications })
    }
}

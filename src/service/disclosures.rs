//! Recipients and disclosures (DISC-1, DISC-2, Ham Art. 7): the tenant's
//! recipients with their contacts (sealed with the tenant's key), every
//! disclosure of data to one of them (which subjects, collection and
//! fields, when, for what and on what basis), a subject's disclosures and
//! the notices owed, and the sender of the Art. 19 notices: after a
//! rectification, erasure or restriction each recipient of the subject's
//! data is told by webhook and by e-mail, each channel's time recorded,
//! retried with back-off, claimed so that one server of several sends it.
//! The same sender delivers request reminders (`reminders.rs`).

use super::{Actor, Result, ServiceError, Vault};
use crate::domain::access::Action;
use crate::domain::schema::LegalBasis;
use crate::domain::{check_name, Invalid};
use crate::store::queries::{self, DisclosureRow, RecipientNoticeRow, RecipientRow};
use crate::store::StoreError;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use uuid::Uuid;

/// Largest number of subjects one disclosure names.
pub const MAX_DISCLOSED: usize = 10_000;
/// Tries of a notice before it is given up (its last error stays on it).
const MAX_ATTEMPTS: i64 = 12;

/// How to reach a recipient.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Contact {
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub webhook: Option<String>,
}

pub struct RecipientView {
    pub name: String,
    pub description: String,
    pub contact: Contact,
    pub created_at: i64,
}

/// A disclosure to record.
pub struct NewDisclosure {
    pub recipient: String,
    pub collection: String,
    pub fields: Vec<String>,
    pub purpose: String,
    /// Default: the collection's legal basis.
    pub basis: Option<LegalBasis>,
    pub subjects: Vec<Uuid>,
}

/// What was disclosed of one subject, and the notices owed for it.
pub struct SubjectDisclosures {
    pub disclosures: Vec<(DisclosureRow, String)>,
    pub notices: Vec<RecipientNoticeRow>,
}

fn contact_context(tenant: Uuid, name: &str) -> String {
    format!("varuh/recipient-contact/v1/{tenant}/{name}")
}

impl Vault {
    fn open_contact(&self, keys: &crate::crypto::TenantKeys, tenant: Uuid, r: &RecipientRow) -> Result<Contact> {
        let plain = keys
            .open(&contact_context(tenant, &r.name), &r.contact)
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        serde_json::from_slice(&plain).map_err(|_| ServiceError::Internal("a recipient's contact is not JSON".into()))
    }

    /// Adds a recipient to the tenant's register.
    pub async fn create_recipient(
        &self,
        actor: &Actor,
        tenant: Uuid,
        name: &str,
        description: &str,
        contact: Contact,
    ) -> Result<RecipientView> {
        let call = self
            .call(actor, Action::RecipientCreate, Some(tenant))
            .detail(format!("recipient={}", name.chars().take(64).collect::<String>()));
        self.run(
            call,
            |cx| async move {
                let t = cx.tenant()?.clone();
                check_name("name", name)?;
                if description.trim().is_empty() || description.len() > 2000 {
                    return Err(Invalid::new("description", "must say who the recipient is, in 1-2000 bytes").into());
                }
                if let Some(e) = &contact.email {
                    crate::domain::identifiers::normalise(crate::domain::identifiers::EMAIL, e, "email")?;
                }
                if let Some(w) = &contact.webhook {
                    crate::outbound::check_url(w).map_err(|e| Invalid::new("webhook", e))?;
                }
                if contact.email.is_none() && contact.webhook.is_none() {
                    return Err(Invalid::new("email", "give an e-mail address or a webhook to send notices to").into());
                }
                let json = serde_json::to_vec(&contact).map_err(|e| ServiceError::Internal(e.to_string()))?;
                let row = RecipientRow {
                    name: name.to_string(),
                    description: description.trim().to_string(),
                    contact: t.keys.seal(&contact_context(tenant, name), &json),
                    created_at: self.clock.now_ms(),
                };
                let (n, d, at) = (row.name.clone(), row.description.clone(), row.created_at);
                self.write_recorded(move |db, _| queries::insert_recipient(db, tenant, &row)).await.map_err(
                    |e| match e {
                        StoreError::Conflict => ServiceError::Conflict("the tenant has a recipient by this name"),
                        e => e.into(),
                    },
                )?;
                Ok(RecipientView { name: n, description: d, contact, created_at: at })
            },
            |_, _| {},
        )
        .await
    }

    pub async fn list_recipients(&self, actor: &Actor, tenant: Uuid) -> Result<Vec<RecipientView>> {
        let call = self.call(actor, Action::RecipientList, Some(tenant));
        self.run(
            call,
            |cx| async move {
                let t = cx.tenant()?.clone();
                let rows = self.store.read(move |db| queries::list_recipients(db, tenant)).await?;
                rows.into_iter()
                    .map(|r| {
                        let contact = self.open_contact(&t.keys, tenant, &r)?;
                        Ok(RecipientView {
                            name: r.name,
                            description: r.description,
                            contact,
                            created_at: r.created_at,
                        })
                    })
                    .collect()
            },
            |_, _| {},
        )
        .await
    }

    /// Records a disclosure of the named fields of the subjects' records in
    /// a collection to a recipient.
    pub async fn record_disclosure(&self, actor: &Actor, tenant: Uuid, new: NewDisclosure) -> Result<usize> {
        let call = self.call(actor, Action::DisclosureRecord, Some(tenant)).collection(&new.collection).detail(
            format!("recipient={} subjects={}", new.recipient.chars().take(64).collect::<String>(), new.subjects.len()),
        );
        self.run(
            call,
            |_| async move {
                let c = self.collection(tenant, &new.collection).await?;
                if !c.def.purposes.contains(&new.purpose) {
                    return Err(Invalid::new("purpose", "is not a purpose of this collection").into());
                }
                if new.fields.is_empty() {
                    return Err(Invalid::new("fields", "must name the fields disclosed").into());
                }
                for (i, f) in new.fields.iter().enumerate() {
                    if c.def.field(f).is_none() {
                        return Err(Invalid::new(format!("fields[{i}]"), "is not a field of this collection").into());
                    }
                }
                if new.subjects.is_empty() || new.subjects.len() > MAX_DISCLOSED {
                    return Err(Invalid::new("subjects", format!("must name 1-{MAX_DISCLOSED} subjects")).into());
                }
                let name = new.recipient.clone();
                if self.store.read(move |db| queries::get_recipient(db, tenant, &name)).await?.is_none() {
                    return Err(Invalid::new("recipient", "is not in the tenant's register of recipients").into());
                }
                let subjects = new.subjects.clone();
                let missing = self
                    .store
                    .read_long(move |db| {
                        for (i, s) in subjects.iter().enumerate() {
                            if queries::get_subject(db, tenant, *s)?.is_none() {
                                return Ok(Some(i));
                            }
                        }
                        Ok(None)
                    })
                    .await?;
                if let Some(i) = missing {
                    return Err(Invalid::new(format!("subjects[{i}]"), "no such subject in this tenant").into());
                }
                let now = self.clock.now_ms();
                let basis = new.basis.unwrap_or(c.def.legal_basis);
                let basis =
                    serde_json::to_value(basis).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
                let fields = serde_json::to_string(&new.fields).unwrap_or_else(|_| "[]".into());
                let rows: Vec<DisclosureRow> = new
                    .subjects
                    .iter()
                    .map(|s| DisclosureRow {
                        id: Uuid::now_v7(),
                        recipient: new.recipient.clone(),
                        subject_id: *s,
                        collection_id: c.id,
                        fields: fields.clone(),
                        purpose: new.purpose.clone(),
                        basis: basis.clone(),
                        disclosed_at: now,
                        recorded_by: actor.staff_id.to_string(),
                    })
                    .collect();
                let n = rows.len();
                self.write_recorded(move |db, _| {
                    for r in &rows {
                        queries::insert_disclosure(db, tenant, r)?;
                    }
                    Ok(())
                })
                .await?;
                Ok(n)
            },
            |_, _| {},
        )
        .await
    }

    /// Records an export to a recipient as a disclosure of each exported
    /// subject's exported fields (within the export's use case).
    pub(super) async fn disclose_export(
        &self,
        actor: &Actor,
        tenant: Uuid,
        recipient: &str,
        purpose: &str,
        records: &[super::records::RecordView],
    ) -> Result<()> {
        let Some(first) = records.first() else { return Ok(()) };
        let c = self.collection(tenant, &first.collection).await?;
        let basis = serde_json::to_value(c.def.legal_basis)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let now = self.clock.now_ms();
        let mut by: std::collections::BTreeMap<Uuid, std::collections::BTreeSet<String>> = Default::default();
        for r in records {
            by.entry(r.subject).or_default().extend(r.data.keys().cloned());
        }
        let rows: Vec<DisclosureRow> = by
            .into_iter()
            .map(|(s, fields)| DisclosureRow {
                id: Uuid::now_v7(),
                recipient: recipient.to_string(),
                subject_id: s,
                collection_id: c.id,
                fields: serde_json::to_string(&fields).unwrap_or_else(|_| "[]".into()),
                purpose: purpose.to_string(),
                basis: basis.clone(),
                disclosed_at: now,
                recorded_by: actor.staff_id.to_string(),
            })
            .collect();
        self.store
            .write(move |db| {
                for r in &rows {
                    queries::insert_disclosure(db, tenant, r)?;
                }
                Ok(())
            })
            .await?;
        Ok(())
    }

    /// A subject's disclosures (with collection names) and the notices owed.
    pub async fn subject_disclosures(&self, actor: &Actor, tenant: Uuid, subject: Uuid) -> Result<SubjectDisclosures> {
        let call = self.call(actor, Action::SubjectDisclosures, Some(tenant)).subject(subject);
        self.run(
            call,
            |_| async move {
                let (rows, notices) = self
                    .store
                    .read(move |db| {
                        Ok((
                            queries::disclosures_of_subject(db, tenant, subject)?,
                            queries::recipient_notices_of_subject(db, tenant, subject)?,
                        ))
                    })
                    .await?;
                let names = self.collection_names(tenant).await?;
                let disclosures = rows
                    .into_iter()
                    .map(|r| {
                        let n = names.get(&r.collection_id).cloned().unwrap_or_default();
                        (r, n)
                    })
                    .collect();
                Ok(SubjectDisclosures { disclosures, notices })
            },
            |v, d| d.detail = Some(format!("disclosures={} notices={}", v.disclosures.len(), v.notices.len())),
        )
        .await
    }

    /// Sends the due Art. 19 notices of every tenant once; returns how many
    /// were sent in full now.
    pub async fn send_notices(&self) -> Result<usize> {
        let now = self.clock.now_ms();
        let due = self.store.read(move |db| queries::pending_recipient_notices(db, now, 100)).await?;
        let mut sent = 0;
        let mut contacts: HashMap<(Uuid, String), Option<Contact>> = HashMap::new();
        for n in due {
            // Claimed for a minute: another server skips it meanwhile.
            let claim = n.clone();
            if !self.store.write(move |db| queries::claim_recipient_notice(db, &claim, now + 60_000)).await? {
                continue;
            }
            let key = (n.tenant_id, n.recipient.clone());
            if let std::collections::hash_map::Entry::Vacant(e) = contacts.entry(key.clone()) {
                let (tenant, name) = key.clone();
                let c = if name.is_empty() {
                    // A reminder: the tenant's own contact.
                    let st = self.settings(tenant).await?;
                    Some(Contact { email: st.dpo_email, webhook: st.notify_webhook })
                } else {
                    let t = self.tenant(tenant).await?;
                    let row = self.store.read(move |db| queries::get_recipient(db, tenant, &name)).await?;
                    row.map(|r| self.open_contact(&t.keys, tenant, &r)).transpose()?
                };
                e.insert(c);
            }
            let contact = contacts[&key].clone();
            let mut n = n;
            n.attempts += 1;
            let mut errors = Vec::new();
            let tenant_name = self
                .store
                .read({
                    let t = n.tenant_id;
                    move |db| queries::get_tenant(db, t)
                })
                .await?
                .map(|t| t.name)
                .unwrap_or_default();
            let message = match n.request_id {
                // A breach reminder that cannot be made now is retried
                // like an undelivered notice; the other notices go on.
                Some(_) if n.event.starts_with(super::reminders::BREACH_REMINDER) => {
                    match self.breach_reminder(&tenant_name, &n).await {
                        Ok(m) => m,
                        Err(e) => {
                            errors.push(format!("the breach reminder could not be made: {e}"));
                            None
                        }
                    }
                }
                Some(_) if n.event.starts_with(super::reminders::BREACH_NOTICE) => {
                    match self.breach_notice_message(&tenant_name, &n).await {
                        Ok(m) => m,
                        Err(e) => {
                            errors.push(format!("the breach notice could not be made: {e}"));
                            None
                        }
                    }
                }
                Some(_) if n.event.starts_with(super::reminders::REGISTER_REMINDER) => {
                    match self.register_reminder(&tenant_name, &n).await {
                        Ok(m) => m,
                        Err(e) => {
                            errors.push(format!("the register reminder could not be made: {e}"));
                            None
                        }
                    }
                }
                Some(r) => {
                    let t = n.tenant_id;
                    let req = self.store.read(move |db| queries::get_request(db, t, r)).await?;
                    req.filter(|q| !matches!(q.state.as_str(), "done" | "refused"))
                        .map(|q| super::reminders::reminder_message(&tenant_name, &q, now))
                }
                None => Some((notice_text(&tenant_name, &n), notice_json(&tenant_name, &n))),
            };
            match (contact, message) {
                // The request was closed meanwhile: nothing to remind of.
                (_, None) => {}
                (None, _) => errors.push("the recipient is no longer in the register".to_string()),
                (Some(c), Some(((subject, body), json))) => {
                    if let (Some(url), None) = (&c.webhook, n.webhook_at) {
                        match crate::outbound::post_json(url, &json).await {
                            Ok(()) => n.webhook_at = Some(self.clock.now_ms()),
                            Err(e) => errors.push(e),
                        }
                    }
                    if let (Some(to), None) = (&c.email, n.email_at) {
                        match &self.mailer {
                            None => errors.push("no SMTP server is configured (smtp_url)".into()),
                            Some(m) => match m.send(to, &subject, &body).await {
                                Ok(()) => n.email_at = Some(self.clock.now_ms()),
                                Err(e) => errors.push(e),
                            },
                        }
                    }
                }
            }
            if errors.is_empty() {
                n.done = true;
                n.last_error = None;
                sent += 1;
            } else {
                n.last_error = Some(errors.join("; "));
                n.done = n.attempts >= MAX_ATTEMPTS;
                // 10 s, 20 s, 40 s … at most an hour between tries.
                n.next_at = now + (10_000i64 << (n.attempts - 1).min(9)).min(3_600_000);
                tracing::warn!(notice = %n.id, attempts = n.attempts, error = n.last_error.as_deref().unwrap_or(""), "an Art. 19 notice was not delivered");
            }
            let row = n.clone();
            self.store.write(move |db| queries::update_recipient_notice(db, &row)).await?;
        }
        Ok(sent)
    }

    /// Queues the due request reminders and sends due notices every
    /// `period`, for as long as the vault lives.
    pub fn notices_on_schedule(vault: &std::sync::Arc<Vault>, period: std::time::Duration) {
        let weak = std::sync::Arc::downgrade(vault);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(v) = weak.upgrade() else { return };
                if let Err(e) = v.queue_reminders().await {
                    tracing::warn!(error = %e, "queueing request reminders failed");
                }
                if let Err(e) = v.queue_breach_reminders().await {
                    tracing::warn!(error = %e, "queueing breach reminders failed");
                }
                if let Err(e) = v.queue_register_reminders().await {
                    tracing::warn!(error = %e, "queueing register reminders failed");
                }
                if let Err(e) = v.send_notices().await {
                    tracing::warn!(error = %e, "sending notices failed");
                }
            }
        });
    }
}

/// What an event means for the recipient, in English and Slovenian.
fn event_words(event: &str) -> (&'static str, &'static str, &'static str, &'static str) {
    match event {
        "erasure" => (
            "erased (GDPR Art. 17)",
            "please erase the data you received and any copies of it",
            "izbrisani (člen 17 GDPR)",
            "prosimo, izbrišite prejete podatke in vse njihove kopije",
        ),
        "restriction" => (
            "restricted (GDPR Art. 18)",
            "please only store the data you received and do not otherwise process it until told",
            "omejeni (člen 18 GDPR)",
            "prosimo, prejete podatke le hranite in jih do nadaljnjega ne obdelujte drugače",
        ),
        _ => (
            "rectified (GDPR Art. 16)",
            "please correct your copy: ask us for the current data through the channel agreed",
            "popravljeni (člen 16 GDPR)",
            "prosimo, popravite svojo kopijo: trenutne podatke pridobite po dogovorjeni poti",
        ),
    }
}

/// The e-mail's subject and body (no personal value: the subject by id).
fn notice_text(controller: &str, n: &RecipientNoticeRow) -> (String, String) {
    let (en, en_ask, sl, sl_ask) = event_words(&n.event);
    let at = crate::clock::rfc3339(n.created_at);
    let subject = format!("GDPR Art. 19 notice / Obvestilo po členu 19 GDPR: {}", n.event);
    let body = format!(
        "{controller} disclosed personal data of data subject {s} to you ({r}). On {at} that data was {en}.\n\
         Under Art. 19 GDPR {en_ask}.\n\nNotice {id}\n\n\
         --- Slovensko ---\n\
         {controller} vam je kot prejemniku ({r}) razkril osebne podatke posameznika {s}. Dne {at} so bili ti podatki {sl}.\n\
         Na podlagi člena 19 GDPR {sl_ask}.\n\nObvestilo {id}\n",
        s = n.subject_id,
        r = n.recipient,
        id = n.id,
    );
    (subject, body)
}

fn notice_json(controller: &str, n: &RecipientNoticeRow) -> String {
    serde_json::json!({
        "type": "varuh.recipient_notice",
        "notice_id": n.id.to_string(),
        "tenant_id": n.tenant_id.to_string(),
        "controller": controller,
        "recipient": n.recipient,
        "subject_id": n.subject_id.to_string(),
        "event": n.event,
        "article": "GDPR Art. 19",
        "at": crate::clock::rfc3339(n.created_at),
    })
    .to_string()
}

//! The consent registry (CONS-1, CONS-3) and "may I?" (CONS-2): notices
//! stored once per purpose and version (referenced by hash), consent given
//! and withdrawn as append-only events with channel, evidence (sealed with
//! the subject's key) and optional expiry; a withdrawal runs the erasure
//! rule of every consent-based collection no other consent keeps, in the
//! same transaction. "May I?" answers for one subject, or for a mailing
//! list of e-mail addresses at once, with `domain::consent::decide`.

use super::erasure::{erasure_error, Erasure};
use super::{Actor, Collection, Result, ServiceError, Vault};
use crate::crypto::FieldContext;
use crate::domain::access::Action;
use crate::domain::consent::{self as rules, Current, Facts, Verdict};
use crate::domain::limits::Limit;
use crate::domain::schema::{CollectionDef, LegalBasis};
use crate::domain::{identifiers, Invalid};
use crate::store::queries::{self, Addressee, ConsentNoticeRow, ConsentRow};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use uuid::Uuid;

/// Largest notice text, and largest mailing list one call checks.
pub const MAX_NOTICE: usize = 20_000;
pub const MAX_BULK: usize = 100_000;
const MAX_TEXT: usize = 2000;

/// A consent event to record.
pub struct NewConsent {
    pub purpose: String,
    pub given: bool,
    /// The notice shown (required when consent is given).
    pub notice_version: Option<i64>,
    pub channel: String,
    /// E.g. the double opt-in confirmation; sealed with the subject's key.
    pub evidence: Option<String>,
    pub expires_at: Option<i64>,
}

/// A consent event as the caller sees it.
pub struct ConsentView {
    pub row: ConsentRow,
    pub evidence: Option<String>,
    pub notice_hash: Option<Vec<u8>>,
}

/// A consent recorded, and what its withdrawal erased.
pub struct Recorded {
    pub consent: ConsentView,
    pub erasure: Option<Erasure>,
}

/// The answer to "may I?".
pub struct Answer {
    pub subject: Option<Uuid>,
    pub allowed: bool,
    pub basis: Option<LegalBasis>,
    pub reason: Option<String>,
    /// The consent the answer rests on (allowed by consent), or the last one.
    pub consent: Option<ConsentRow>,
}

pub(super) fn evidence_context(tenant: Uuid, id: Uuid) -> FieldContext<'static> {
    FieldContext { tenant, collection: Uuid::nil(), record: id, field: "consent.evidence" }
}

fn text(field: &str, v: &str, max: usize) -> Result<String> {
    let t = v.trim();
    if t.is_empty() || t.len() > max || t.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(Invalid::new(field, format!("must be 1-{max} bytes of text")).into());
    }
    Ok(t.to_string())
}

impl Vault {
    /// The tenant's collections that serve `purpose`, and whether a notice
    /// is on file for it; `Invalid` if neither knows the purpose.
    async fn serving(&self, tenant: Uuid, purpose: &str) -> Result<(Vec<Arc<Collection>>, Option<ConsentNoticeRow>)> {
        let p = purpose.to_string();
        let (cols, notices) = self
            .store
            .read(move |db| Ok((queries::list_collections(db, tenant)?, queries::list_consent_notices(db, tenant)?)))
            .await?;
        let mut serving = Vec::new();
        for c in cols {
            let def: CollectionDef =
                serde_json::from_str(&c.definition).map_err(|e| ServiceError::Internal(e.to_string()))?;
            if def.purposes.contains(&p) {
                serving.push(self.collection(tenant, &c.name).await?);
            }
        }
        let notice = notices.into_iter().rfind(|n| n.purpose == p);
        if serving.is_empty() && notice.is_none() {
            return Err(Invalid::new("purpose", "is not a purpose of this tenant's collections").into());
        }
        Ok((serving, notice))
    }

    /// Stores the next version of a purpose's consent notice (the exact text shown).
    pub async fn create_notice(
        &self,
        actor: &Actor,
        tenant: Uuid,
        purpose: &str,
        body: &str,
    ) -> Result<ConsentNoticeRow> {
        let call = self.call(actor, Action::ConsentNoticeCreate, Some(tenant));
        self.run(
            call,
            |_| async move {
                if !self.tenant_purposes(tenant).await?.contains(purpose) {
                    return Err(Invalid::new("purpose", "is not a purpose of this tenant's collections").into());
                }
                let body = text("text", body, MAX_NOTICE)?;
                let mut row = ConsentNoticeRow {
                    purpose: purpose.to_string(),
                    version: 0,
                    hash: Sha256::digest(body.as_bytes()).to_vec(),
                    text: body,
                    created_by: actor.staff_id.to_string(),
                    created_at: self.clock.now_ms(),
                };
                let r = row.clone();
                row.version = self
                    .write_recorded(move |db, d| {
                        let v = queries::insert_consent_notice(db, tenant, &r)?;
                        d.detail = Some(format!("purpose={} version={v}", r.purpose));
                        Ok(v)
                    })
                    .await?;
                Ok(row)
            },
            |_, _| {},
        )
        .await
    }

    pub async fn list_notices(&self, actor: &Actor, tenant: Uuid) -> Result<Vec<ConsentNoticeRow>> {
        let call = self.call(actor, Action::ConsentNoticeList, Some(tenant));
        self.run(
            call,
            |_| async move { Ok(self.store.read(move |db| queries::list_consent_notices(db, tenant)).await?) },
            |_, _| {},
        )
        .await
    }

    /// Records consent given or withdrawn. A withdrawal erases (per their
    /// rules) the subject's records in each consent-based collection that
    /// serves the purpose and no other current consent of the subject keeps.
    pub async fn record_consent(
        &self,
        actor: &Actor,
        tenant: Uuid,
        subject: Uuid,
        new: NewConsent,
    ) -> Result<Recorded> {
        let call = self.call(actor, Action::ConsentRecord, Some(tenant)).subject(subject).detail(format!(
            "purpose={} given={}",
            new.purpose.chars().take(64).collect::<String>(),
            new.given
        ));
        self.run(
            call,
            |cx| async move {
                let t = cx.tenant()?.clone();
                let (serving, _) = self.serving(tenant, &new.purpose).await?;
                let channel = text("channel", &new.channel, 100)?;
                let evidence = new.evidence.as_deref().map(|e| text("evidence", e, MAX_TEXT)).transpose()?;
                let now = self.clock.now_ms();
                if new.expires_at.is_some_and(|e| e <= now) {
                    return Err(Invalid::new("expires_at", "must be in the future").into());
                }
                let notice = match (new.given, new.notice_version) {
                    (true, None) => {
                        return Err(
                            Invalid::new("notice_version", "is required: consent is given to the notice shown").into()
                        )
                    }
                    (_, Some(v)) => {
                        let p = new.purpose.clone();
                        Some(
                            self.store
                                .read(move |db| queries::get_consent_notice(db, tenant, &p, v))
                                .await?
                                .ok_or_else(|| {
                                    Invalid::new("notice_version", "no notice of this purpose has this version")
                                })?,
                        )
                    }
                    (false, None) => None,
                };
                let srow = self
                    .store
                    .read(move |db| queries::get_subject(db, tenant, subject))
                    .await?
                    .ok_or(ServiceError::NotFound("subject"))?;
                let key = self.subject_key(&t, subject, &srow.wrapped_key).await?;
                let id = Uuid::now_v7();
                let row = ConsentRow {
                    id,
                    subject_id: subject,
                    purpose: new.purpose.clone(),
                    given: new.given,
                    notice_version: new.notice_version,
                    channel,
                    evidence: evidence.as_ref().map(|e| key.seal_field(&evidence_context(tenant, id), e.as_bytes())),
                    expires_at: new.expires_at,
                    recorded_by: actor.staff_id.to_string(),
                    recorded_at: now,
                };
                // A withdrawal: the consent-based collections nothing else keeps.
                let plan = if new.given {
                    None
                } else {
                    let erase = self.unkept_by_consent(tenant, subject, &new.purpose, &serving).await?;
                    match erase.is_empty() {
                        true => None,
                        false => Some(self.plan_erasure(&t, subject, Some(&erase)).await?),
                    }
                };
                let r = row.clone();
                let erasure = self
                    .write_recorded(move |db, d| {
                        queries::insert_consent(db, tenant, &r)?;
                        let done = plan.map(|p| p.apply(db, tenant, subject)).transpose()?;
                        if let Some(e) = &done {
                            d.detail = Some(format!("{} {}", d.detail.take().unwrap_or_default(), e.summary()));
                        }
                        Ok(done)
                    })
                    .await
                    .map_err(erasure_error)?;
                if erasure.is_some() {
                    self.store.erased();
                }
                Ok(Recorded { consent: ConsentView { row, evidence, notice_hash: notice.map(|n| n.hash) }, erasure })
            },
            |_, _| {},
        )
        .await
    }

    /// The consent-based collections serving `purpose` that hold the
    /// subject's records and serve no other purpose the subject consents to.
    async fn unkept_by_consent(
        &self,
        tenant: Uuid,
        subject: Uuid,
        purpose: &str,
        serving: &[Arc<Collection>],
    ) -> Result<HashSet<Uuid>> {
        let held: HashSet<Uuid> = self
            .store
            .read(move |db| queries::collections_of_subject(db, tenant, subject))
            .await?
            .into_iter()
            .collect();
        let mut out = HashSet::new();
        for c in serving.iter().filter(|c| c.def.legal_basis == LegalBasis::Consent && held.contains(&c.id)) {
            let mut kept = false;
            for other in c.def.purposes.iter().filter(|p| *p != purpose) {
                let o = other.clone();
                let now = self.clock.now_ms();
                let cur = self.store.read(move |db| queries::current_consents(db, tenant, &o, &[subject])).await?;
                if cur.get(&subject).is_some_and(|c| c.given && c.expires_at.is_none_or(|e| e > now)) {
                    kept = true;
                }
            }
            if !kept {
                out.insert(c.id);
            }
        }
        Ok(out)
    }

    /// A subject's consent events, oldest first, evidence opened.
    pub async fn consent_history(&self, actor: &Actor, tenant: Uuid, subject: Uuid) -> Result<Vec<ConsentView>> {
        let call = self.call(actor, Action::ConsentHistory, Some(tenant)).subject(subject);
        self.run(
            call,
            |cx| async move {
                let t = cx.tenant()?.clone();
                let (srow, rows, notices) = self
                    .store
                    .read(move |db| {
                        Ok((
                            queries::get_subject(db, tenant, subject)?,
                            queries::consents_of_subject(db, tenant, subject)?,
                            queries::list_consent_notices(db, tenant)?,
                        ))
                    })
                    .await?;
                let srow = srow.ok_or(ServiceError::NotFound("subject"))?;
                let key = self.subject_key(&t, subject, &srow.wrapped_key).await?;
                let hashes: HashMap<(String, i64), Vec<u8>> =
                    notices.into_iter().map(|n| ((n.purpose, n.version), n.hash)).collect();
                rows.into_iter()
                    .map(|row| {
                        let evidence = match &row.evidence {
                            Some(sealed) => Some(
                                String::from_utf8_lossy(
                                    &key.open_field(&evidence_context(tenant, row.id), sealed)
                                        .map_err(|e| ServiceError::Internal(e.to_string()))?,
                                )
                                .into_owned(),
                            ),
                            None => None,
                        };
                        let notice_hash =
                            row.notice_version.and_then(|v| hashes.get(&(row.purpose.clone(), v)).cloned());
                        Ok(ConsentView { row, evidence, notice_hash })
                    })
                    .collect()
            },
            |v: &Vec<ConsentView>, d| d.detail = Some(format!("events={}", v.len())),
        )
        .await
    }

    /// May `purpose` be applied to the subject now?
    pub async fn may_i(&self, actor: &Actor, tenant: Uuid, subject: Uuid, purpose: &str) -> Result<Answer> {
        let call = self.call(actor, Action::MayI, Some(tenant)).subject(subject);
        self.run(
            call,
            |_| async move {
                let (serving, notice) = self.serving(tenant, purpose).await?;
                let p = purpose.to_string();
                let (srow, mut consent) = self
                    .store
                    .read(move |db| {
                        Ok((
                            queries::get_subject(db, tenant, subject)?,
                            queries::current_consents(db, tenant, &p, &[subject])?,
                        ))
                    })
                    .await?;
                if srow.is_none() {
                    return Err(ServiceError::NotFound("subject"));
                }
                // A count of 1: its limits are read (there may be none).
                let one = Addressee { subject, limits: 1, consent: consent.remove(&subject) };
                let mut answers = self.answer(tenant, purpose, &serving, notice.is_some(), vec![Some(one)]).await?;
                Ok(answers.remove(0))
            },
            |a, d| {
                d.detail =
                    Some(format!("purpose={} allowed={}", purpose.chars().take(64).collect::<String>(), a.allowed))
            },
        )
        .await
    }

    /// "May I?" for a mailing list: one answer per address, in order.
    pub async fn may_i_bulk(
        &self,
        actor: &Actor,
        tenant: Uuid,
        purpose: &str,
        emails: &[String],
    ) -> Result<Vec<Answer>> {
        let call = self.call(actor, Action::MayIBulk, Some(tenant));
        self.run(
            call,
            |cx| async move {
                let t = cx.tenant()?.clone();
                if emails.is_empty() || emails.len() > MAX_BULK {
                    return Err(Invalid::new("emails", format!("must hold 1-{MAX_BULK} addresses")).into());
                }
                let (serving, notice) = self.serving(tenant, purpose).await?;
                let mut bad = HashSet::new();
                let mut hashes: Vec<Vec<u8>> = emails
                    .iter()
                    .enumerate()
                    .map(|(i, e)| match identifiers::normalise(identifiers::EMAIL, e, "emails") {
                        Ok(n) => t.keys.blind_index(identifiers::EMAIL, &n).to_vec(),
                        Err(_) => {
                            bad.insert(i);
                            Vec::new()
                        }
                    })
                    .collect();
                // In two halves at once: the database answers on two connections.
                let second = hashes.split_off(hashes.len() / 2);
                let look_up = |hashes: Vec<Vec<u8>>| {
                    let p = purpose.to_string();
                    self.store.read_long(move |db| {
                        queries::addressees_by_hashes(db, tenant, identifiers::EMAIL, Some(&p), &hashes)
                    })
                };
                let (found, rest) = tokio::join!(look_up(hashes), look_up(second));
                let mut found = found?;
                found.extend(rest?);
                let mut out = self.answer(tenant, purpose, &serving, notice.is_some(), found).await?;
                for i in bad {
                    out[i].reason = Some("not an e-mail address".into());
                }
                Ok(out)
            },
            |v: &Vec<Answer>, d| {
                let allowed = v.iter().filter(|a| a.allowed).count();
                let unknown = v.iter().filter(|a| a.subject.is_none()).count();
                d.detail = Some(format!(
                    "purpose={} checked={} allowed={allowed} unknown={unknown}",
                    purpose.chars().take(64).collect::<String>(),
                    v.len()
                ))
            },
        )
        .await
    }

    /// The answers for `subjects` (each with its count of limits and its
    /// current consent; `None`: nobody), in order.
    async fn answer(
        &self,
        tenant: Uuid,
        purpose: &str,
        serving: &[Arc<Collection>],
        has_notice: bool,
        subjects: Vec<Option<Addressee>>,
    ) -> Result<Vec<Answer>> {
        let needs_records = serving.iter().any(|c| c.def.legal_basis != LegalBasis::Consent);
        let defs: Vec<&CollectionDef> = serving.iter().map(|c| &c.def).collect();
        let now = self.clock.now_ms();
        let mut out = Vec::with_capacity(subjects.len());
        for s in subjects {
            let Some(Addressee { subject: sid, limits: limit_count, consent }) = s else {
                out.push(Answer {
                    subject: None,
                    allowed: false,
                    basis: None,
                    reason: Some("no subject has this address: no consent is recorded".into()),
                    consent: None,
                });
                continue;
            };
            let limits: Vec<Limit> = if limit_count > 0 { self.active_limits(tenant, sid).await? } else { Vec::new() };
            let holds: Vec<bool> = if needs_records {
                let held: HashSet<Uuid> = self
                    .store
                    .read(move |db| queries::collections_of_subject(db, tenant, sid))
                    .await?
                    .into_iter()
                    .collect();
                serving.iter().map(|c| held.contains(&c.id)).collect()
            } else {
                vec![false; serving.len()]
            };
            let facts = Facts {
                purpose,
                serving: &defs,
                holds_records: &holds,
                has_notice,
                consent: consent.as_ref().map(|c| Current {
                    given: c.given,
                    at: c.recorded_at,
                    expires_at: c.expires_at,
                }),
                limits: &limits,
                now,
            };
            out.push(match rules::decide(&facts) {
                Verdict::Allowed(basis) => {
                    Answer { subject: Some(sid), allowed: true, basis: Some(basis), reason: None, consent }
                }
                Verdict::Denied(why) => {
                    Answer { subject: Some(sid), allowed: false, basis: None, reason: Some(why), consent }
                }
            });
        }
        Ok(out)
    }
}

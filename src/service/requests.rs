//! The register of data-subject requests (DSR-1): opened with kind,
//! channel and time of receipt, due one calendar month later (Art. 12(3)),
//! verified before anything is done, extended with a reason, done with the
//! response recorded, or refused with a reason. Duplicates are flagged;
//! overdue requests are listed. Every step is audited and kept on the
//! request itself.

use super::{Actor, Result, ServiceError, Vault};
use crate::domain::access::Action;
use crate::domain::requests::{self as rules, Move, RequestKind, RequestState};
use crate::domain::{identifiers, Invalid};
use crate::store::queries::{self, RequestRow};
use crate::store::StoreError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What opening a request says.
pub struct NewRequest {
    pub kind: RequestKind,
    pub channel: String,
    /// When it was received (default: now); never in the future.
    pub received_at: Option<i64>,
    pub subject_id: Option<Uuid>,
    /// The requester's e-mail: kept only as a blind index, to find the
    /// subject and flag duplicates.
    pub requester_email: Option<String>,
}

/// A step on a request.
pub enum Step {
    Verify { method: String },
    Start,
    Extend { months: u32, reason: String, subject_informed: bool },
    Complete { response: String },
    Refuse { reason: String },
}

/// One line of a request's history.
#[derive(Clone, Serialize, Deserialize)]
pub struct Entry {
    pub at: i64,
    pub action: String,
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A request as the register shows it.
pub struct RequestView {
    pub row: RequestRow,
    pub history: Vec<Entry>,
    pub now: i64,
}

impl RequestView {
    pub fn state(&self) -> RequestState {
        RequestState::parse(&self.row.state).unwrap_or(RequestState::Received)
    }
    pub fn overdue(&self) -> bool {
        self.state().is_open() && self.now > self.row.due_at
    }
    /// Whole days left to the due date (negative when overdue).
    pub fn days_left(&self) -> i64 {
        (self.row.due_at - self.now).div_euclid(86_400_000)
    }
}

/// Largest page of the register.
pub const MAX_LIST: usize = 500;
/// A received time may be at most this far ahead of the server's clock.
const CLOCK_SKEW_MS: i64 = 5 * 60 * 1000;

fn text(field: &str, v: &str, max: usize) -> Result<String> {
    let v = v.trim();
    if v.is_empty() || v.len() > max {
        return Err(Invalid::new(field, format!("must be 1-{max} characters")).into());
    }
    Ok(v.to_string())
}

impl Vault {
    pub async fn open_request(&self, actor: &Actor, tenant: Uuid, new: NewRequest) -> Result<RequestView> {
        let mut call = self.call(actor, Action::RequestOpen, Some(tenant)).detail(format!("kind={}", new.kind.name()));
        if let Some(s) = new.subject_id {
            call = call.subject(s);
        }
        self.run(
            call,
            |cx| async move {
                let t = cx.tenant()?.clone();
                let now = self.clock.now_ms();
                let channel = text("channel", &new.channel, 100)?;
                let received = new.received_at.unwrap_or(now);
                if received > now + CLOCK_SKEW_MS {
                    return Err(Invalid::new("received_at", "is in the future").into());
                }
                let requester = match &new.requester_email {
                    Some(e) => {
                        let n = identifiers::normalise(identifiers::EMAIL, e, "requester_email")?;
                        Some(t.keys.blind_index(identifiers::EMAIL, &n).to_vec())
                    }
                    None => None,
                };
                let (given, kind) = (new.subject_id, new.kind.name());
                let req_hash = requester.clone();
                let (subject, duplicate) = self
                    .store
                    .read(move |db| {
                        let subject = match given {
                            Some(s) => match queries::get_subject(db, tenant, s)? {
                                Some(_) => Some(s),
                                None => return Ok(Err(())),
                            },
                            None => match &req_hash {
                                Some(h) => {
                                    queries::subjects_by_identifier(db, tenant, identifiers::EMAIL, h)?.first().copied()
                                }
                                None => None,
                            },
                        };
                        let dup = queries::open_duplicate(db, tenant, kind, subject, req_hash.as_deref())?;
                        Ok(Ok((subject, dup)))
                    })
                    .await?
                    .map_err(|()| Invalid::new("subject_id", "no such subject in this tenant"))?;
                let by = actor.staff_id.to_string();
                let mut history = vec![Entry { at: now, action: "received".into(), by: by.clone(), note: None }];
                if given.is_none() && subject.is_some() {
                    history.push(Entry {
                        at: now,
                        action: "subject_found".into(),
                        by: by.clone(),
                        note: Some("by the requester's e-mail".into()),
                    });
                }
                if let Some(d) = duplicate {
                    history.push(Entry {
                        at: now,
                        action: "duplicate".into(),
                        by: by.clone(),
                        note: Some(format!("of {d}")),
                    });
                }
                let row = RequestRow {
                    tenant_id: tenant,
                    id: Uuid::now_v7(),
                    kind: kind.into(),
                    channel,
                    received_at: received,
                    due_at: rules::due(received, 0),
                    extension_months: 0,
                    extension_reason: None,
                    subject_informed_at: None,
                    state: RequestState::Received.name().into(),
                    subject_id: subject,
                    requester_hash: requester,
                    verified_method: None,
                    verified_by: None,
                    verified_at: None,
                    refusal_reason: None,
                    response: None,
                    duplicate_of: duplicate,
                    opened_by: by,
                    created_at: now,
                    updated_at: now,
                    actions: serde_json::to_string(&history).unwrap_or_else(|_| "[]".into()),
                };
                let r = row.clone();
                self.write_recorded(move |db, d| {
                    d.subject = r.subject_id;
                    d.detail = Some(format!("request={} kind={}", r.id, r.kind));
                    queries::insert_request(db, &r)
                })
                .await?;
                Ok(RequestView { row, history, now })
            },
            |v, d| {
                d.subject = v.row.subject_id;
                d.detail = Some(format!("request={} kind={}", v.row.id, v.row.kind))
            },
        )
        .await
    }

    pub async fn get_request(&self, actor: &Actor, tenant: Uuid, id: Uuid) -> Result<RequestView> {
        let call = self.call(actor, Action::RequestRead, Some(tenant)).detail(format!("request={id}"));
        self.run(call, |_| async move { self.load_request(tenant, id).await }, |v, d| d.subject = v.row.subject_id)
            .await
    }

    async fn load_request(&self, tenant: Uuid, id: Uuid) -> Result<RequestView> {
        let row = self
            .store
            .read(move |db| queries::get_request(db, tenant, id))
            .await?
            .ok_or(ServiceError::NotFound("request"))?;
        let history = serde_json::from_str(&row.actions).unwrap_or_default();
        Ok(RequestView { row, history, now: self.clock.now_ms() })
    }

    /// The request that a use case acting on `subject` answers: it must be
    /// this subject's, verified, and not closed (nothing is done on an
    /// unverified request).
    pub(super) async fn request_to_act_on(&self, tenant: Uuid, id: Uuid, subject: Uuid) -> Result<RequestView> {
        let v = self.load_request(tenant, id).await.map_err(|e| match e {
            ServiceError::NotFound(_) => Invalid::new("request", "no such request in this tenant").into(),
            e => e,
        })?;
        if v.row.subject_id != Some(subject) {
            return Err(Invalid::new("request", "is not a request of this subject").into());
        }
        match v.state() {
            RequestState::Received => {
                Err(ServiceError::Conflict("the requester's identity is not verified yet: verify the request first"))
            }
            RequestState::Done | RequestState::Refused => Err(ServiceError::Conflict("the request is closed")),
            _ => Ok(v),
        }
    }

    /// The request's row with `action` appended to its history, and the
    /// `updated_at` it was read at: a write that acts for the request
    /// stores it with `queries::update_request(db, &row, seen)` in its own
    /// transaction (`Stale` if the request changed meanwhile).
    pub(super) fn linked(&self, mut v: RequestView, action: &str, note: String, by: Uuid) -> (RequestRow, i64) {
        let (seen, now) = (v.row.updated_at, self.clock.now_ms());
        v.history.push(Entry { at: now, action: action.into(), by: by.to_string(), note: Some(note) });
        v.row.actions = serde_json::to_string(&v.history).unwrap_or_else(|_| "[]".into());
        v.row.updated_at = now.max(seen + 1);
        (v.row, seen)
    }

    /// Records on the request what was done for it (its history links the
    /// request to the act), in the same commit as the use case's audit event,
    /// which gets `fields` and `detail` (what the act would have recorded).
    pub(super) async fn record_on_request(
        &self,
        v: RequestView,
        action: &str,
        note: String,
        by: Uuid,
        (fields, detail): (Vec<String>, String),
    ) -> Result<()> {
        let (r, seen) = self.linked(v, action, note, by);
        self.write_recorded(move |db, d| {
            d.fields = fields;
            d.detail = Some(detail);
            queries::update_request(db, &r, seen)
        })
        .await
        .map_err(|e| match e {
            StoreError::Stale => ServiceError::Conflict("the request was changed meanwhile; try again"),
            e => e.into(),
        })
    }

    /// The register, soonest due first: all, one state, or the overdue ones.
    pub async fn list_requests(
        &self,
        actor: &Actor,
        tenant: Uuid,
        state: Option<RequestState>,
        overdue: bool,
        limit: usize,
    ) -> Result<Vec<RequestView>> {
        let call = self.call(actor, Action::RequestList, Some(tenant));
        self.run(
            call,
            |_| async move {
                if !(1..=MAX_LIST).contains(&limit) {
                    return Err(Invalid::new("limit", format!("must be 1-{MAX_LIST}")).into());
                }
                let now = self.clock.now_ms();
                let rows = self
                    .store
                    .read(move |db| {
                        queries::list_requests(
                            db,
                            tenant,
                            state.map(|s| s.name()),
                            overdue.then_some(now),
                            limit as i64,
                        )
                    })
                    .await?;
                Ok(rows
                    .into_iter()
                    .map(|row| {
                        let history = serde_json::from_str(&row.actions).unwrap_or_default();
                        RequestView { row, history, now }
                    })
                    .collect())
            },
            |v: &Vec<RequestView>, d| d.detail = Some(format!("requests={}", v.len())),
        )
        .await
    }

    /// Takes one step on a request: verify, start, extend, complete, refuse.
    pub async fn request_step(&self, actor: &Actor, tenant: Uuid, id: Uuid, step: Step) -> Result<RequestView> {
        let action = match step {
            Step::Verify { .. } => Action::RequestVerify,
            Step::Start => Action::RequestStart,
            Step::Extend { .. } => Action::RequestExtend,
            Step::Complete { .. } => Action::RequestComplete,
            Step::Refuse { .. } => Action::RequestRefuse,
        };
        let call = self.call(actor, action, Some(tenant)).detail(format!("request={id}"));
        self.run(
            call,
            |_| async move {
                let mut v = self.load_request(tenant, id).await?;
                let seen = v.row.updated_at;
                let now = v.now;
                let by = actor.staff_id.to_string();
                let state = v.state();
                let mv = |m: Move| rules::next(state, m).map_err(ServiceError::Conflict);
                let (name, note) = match step {
                    Step::Verify { method } => {
                        let method = text("method", &method, 200)?;
                        v.row.state = mv(Move::Verify)?.name().into();
                        v.row.verified_method = Some(method.clone());
                        v.row.verified_by = Some(by.clone());
                        v.row.verified_at = Some(now);
                        ("verified", Some(method))
                    }
                    Step::Start => {
                        v.row.state = mv(Move::Start)?.name().into();
                        ("in_progress", None)
                    }
                    Step::Extend { months, reason, subject_informed } => {
                        if !state.is_open() {
                            return Err(ServiceError::Conflict("the request is closed"));
                        }
                        rules::check_extension(
                            months,
                            &reason,
                            v.row.extension_months as u32,
                            v.row.received_at,
                            now,
                            subject_informed,
                        )?;
                        let reason = reason.trim().to_string();
                        v.row.extension_months += months as i64;
                        v.row.due_at = rules::due(v.row.received_at, v.row.extension_months as u32);
                        v.row.extension_reason = Some(reason.clone());
                        v.row.subject_informed_at = Some(now);
                        ("extended", Some(format!("+{months} months: {reason}")))
                    }
                    Step::Complete { response } => {
                        let response = text("response", &response, 2000)?;
                        v.row.state = mv(Move::Complete)?.name().into();
                        v.row.response = Some(response.clone());
                        ("done", Some(response))
                    }
                    Step::Refuse { reason } => {
                        let reason = text("reason", &reason, 2000)?;
                        v.row.state = mv(Move::Refuse)?.name().into();
                        v.row.refusal_reason = Some(reason.clone());
                        ("refused", Some(reason))
                    }
                };
                v.history.push(Entry { at: now, action: name.into(), by, note });
                v.row.actions = serde_json::to_string(&v.history).unwrap_or_else(|_| "[]".into());
                v.row.updated_at = now.max(seen + 1);
                let r = v.row.clone();
                self.write_recorded(move |db, d| {
                    d.subject = r.subject_id;
                    queries::update_request(db, &r, seen)
                })
                .await
                .map_err(|e| match e {
                    StoreError::Stale => ServiceError::Conflict("the request was changed meanwhile; read it again"),
                    e => e.into(),
                })?;
                Ok(v)
            },
            |v, d| d.subject = v.row.subject_id,
        )
        .await
    }
}

//! Sign-in and every request's authentication (AUTH-3..7).
//!
//! Login: per-source rate limit → account (unknown names cost the same
//! Argon2id time and are counted the same way) → the password counter's
//! gate → allowed networks → password → second factor (TOTP, each time step
//! accepted once, at most one step of drift; or a recovery code, consumed)
//! → a session. Password, TOTP and recovery-code failures are counted
//! apart, so guessing one cannot lock another. A locked account, a refused
//! network and a wrong password all get the same answer. Every attempt is
//! an audit event with its outcome, reason, source address and user agent.
//!
//! Requests: a bearer token is a session (idle and absolute limits from the
//! policy) or an API key (`vk_…`; expiry, revocation, allowed networks).
//! Both are looked up by SHA-256 and cached ([`super::CACHE_MS`]); the last
//! activity is kept in memory and written at most every
//! [`TOUCH_MS`] (or a quarter of the idle limit), off the request's path.

use super::{access_of, normalise_username, role_of, Cached, Counters};
use crate::crypto::recovery;
use crate::crypto::totp::TotpSecret;
use crate::crypto::{self, token_hash};
use crate::domain::access::{Access, Action};
use crate::domain::lockout::Gate;
use crate::domain::policy::{MfaRequired, Policy};
use crate::domain::Role;
use crate::service::audit::RequestMeta;
use crate::service::{Actor, Result, ServiceError, Vault};
use crate::store::queries::{self, SessionRow, StaffRow};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use uuid::Uuid;

/// Last activity is written at most this often per session.
pub const TOUCH_MS: i64 = 60_000;
/// API keys begin with this, so a token is looked up in one table only.
pub const API_KEY_PREFIX: &str = "vk_";

/// What a sign-in gives.
pub struct Login {
    pub token: String,
    pub expires_at: i64,
    pub idle_minutes: u32,
    pub actor: Actor,
    /// Failed attempts on this account since its last successful sign-in.
    pub failed_attempts: i64,
    pub last_login_at: Option<i64>,
}

/// The second factor a sign-in brings, if any.
#[derive(Default)]
pub struct SecondFactor<'a> {
    pub otp: Option<&'a str>,
    pub recovery_code: Option<&'a str>,
}

/// Why a sign-in failed, for the audit trail only (the caller gets one answer).
#[derive(Debug, Clone, Copy)]
enum Refusal {
    UnknownName,
    Locked,
    Network,
    Password,
    Suspended,
    ServiceAccount,
    Otp,
    OtpReplay,
    Recovery,
    RateLimited,
}

impl Refusal {
    fn as_str(self) -> &'static str {
        match self {
            Refusal::UnknownName => "unknown_name",
            Refusal::Locked => "locked",
            Refusal::Network => "network",
            Refusal::Password => "password",
            Refusal::Suspended => "suspended",
            Refusal::ServiceAccount => "service_account",
            Refusal::Otp => "otp",
            Refusal::OtpReplay => "otp_replay",
            Refusal::Recovery => "recovery_code",
            Refusal::RateLimited => "rate_limited",
        }
    }
}

/// A failed sign-in: the error the caller gets, why (for the audit trail
/// only), whose account it was, if one was found (id, tenant), and the
/// account's counters to store (id, counters, failures since the last
/// sign-in), written in the same job as the attempt's audit event: a wrong
/// password costs one durable write, as an unknown name does.
type Failed = (ServiceError, Option<Refusal>, Option<(Uuid, Option<Uuid>)>, Option<(Uuid, String, i64)>);

pub(crate) fn must_enrol(p: &Policy, role: Role, enrolled: bool) -> bool {
    !enrolled
        && match p.mfa.required {
            MfaRequired::All => role != Role::Service,
            MfaRequired::Administrators => role == Role::Administrator,
            MfaRequired::Optional => false,
        }
}

fn source_ip(req: &RequestMeta) -> Option<std::net::IpAddr> {
    req.source.as_deref().and_then(|s| s.parse().ok())
}

impl Vault {
    /// The actor of a staff row, with its session state under `policy`.
    pub(crate) fn actor_of(&self, s: &StaffRow, p: &Policy, req: &RequestMeta) -> Result<Actor> {
        let role = role_of(s)?;
        let expired = p.password.expired(s.password_changed_at, self.clock.now_ms());
        Ok(Actor {
            req: req.clone(),
            staff_id: s.id,
            tenant: s.tenant_id,
            role,
            access: Arc::new(access_of(&s.access)?),
            must_change_password: s.must_change_password || expired,
            must_enrol_mfa: must_enrol(p, role, s.mfa_enabled),
            approval: None,
            session: None,
            prefs: crate::service::Prefs {
                language: s.language.as_deref().and_then(crate::service::documents::Lang::parse),
                time_zone: s.time_zone.clone(),
            },
        })
    }

    /// Signs in with a login name, password and, if the account has one, a
    /// second factor; returns a fresh bearer token. Every attempt is recorded.
    pub async fn login(
        &self,
        req: &RequestMeta,
        username: &str,
        password: &str,
        second: SecondFactor<'_>,
    ) -> Result<Login> {
        let mut d = self.anonymous_draft(req, Action::Login.name());
        let r = self.check_login(req, username, password, second).await;
        let ua = req.user_agent.as_deref().unwrap_or("");
        match &r {
            Ok(l) => {
                d.outcome = "ok".into();
                (d.actor, d.role, d.tenant) =
                    (Some(l.actor.staff_id), Some(l.actor.role.as_str().into()), l.actor.tenant);
                d.detail = Some(format!("failed_since_last={} ua={ua}", l.failed_attempts));
            }
            Err((e, why, who, _)) => {
                d.outcome = match e {
                    ServiceError::MfaRequired => "second_factor_required".into(),
                    e => super::super::audit::outcome(e).into(),
                };
                if let Some((id, tenant)) = who {
                    (d.actor, d.tenant) = (Some(*id), *tenant);
                }
                d.detail = Some(format!("reason={} ua={ua}", why.map(Refusal::as_str).unwrap_or("")));
            }
        }
        match &r {
            Err((_, why, who, Some((id, text, failed)))) => {
                // A failure that locked the account: someone may be guessing (AVL-4).
                let c = super::Counters::parse(text);
                let now = self.clock.now_ms();
                if [&c.password, &c.totp, &c.recovery]
                    .iter()
                    .any(|a| a.permanent || a.locked_until_ms.is_some_and(|u| u > now))
                {
                    self.raise(
                        crate::service::alerts::AlertKind::Lockout,
                        who.and_then(|w| w.1),
                        format!(
                            "account {id} is locked after repeated failed sign-ins (last: {})",
                            why.map(Refusal::as_str).unwrap_or("failure")
                        ),
                    );
                }
                let (id, text, failed) = (*id, text.clone(), *failed);
                self.write_with_event(d, move |db| queries::set_attempts(db, id, &text, failed)).await?;
            }
            _ => {
                self.append(d).await?;
            }
        }
        r.map_err(|(e, _, _, _)| e)
    }

    async fn check_login(
        &self,
        req: &RequestMeta,
        username: &str,
        password: &str,
        second: SecondFactor<'_>,
    ) -> std::result::Result<Login, Failed> {
        let now = self.clock.now_ms();
        let bad =
            |why: Refusal, who: Option<(Uuid, Option<Uuid>)>| (ServiceError::BadCredentials, Some(why), who, None);
        let plain = |e: ServiceError| (e, None, None, None);
        // A per-address limit before anything costly (the system policy's).
        let system = self.policy(None).await.map_err(plain)?;
        if let Some(ip) = source_ip(req) {
            if !self.limiter.allow(ip, system.lockout.source_attempts_per_minute, now) {
                return Err((ServiceError::RateLimited, Some(Refusal::RateLimited), None, None));
            }
        }
        let name = normalise_username(username).unwrap_or_default();
        let h = self.username_hash(&name);
        let h2 = h.clone();
        let staff =
            self.store.read_latest(move |db| queries::staff_by_username(db, &h2)).await.map_err(|e| plain(e.into()))?;
        let Some(staff) = staff else {
            // Unknown names: the same work, and counted like real accounts.
            let locked = {
                let mut m = self.unknown_names.lock().unwrap_or_else(|e| e.into_inner());
                if m.len() > 100_000 {
                    m.clear();
                }
                let a = m.entry(h).or_default();
                let locked = a.gate(&system.lockout, now) != Gate::Open;
                if !locked {
                    a.failed(&system.lockout, now);
                }
                locked
            };
            burn(password).await;
            return Err(bad(if locked { Refusal::Locked } else { Refusal::UnknownName }, None));
        };
        let who = Some((staff.id, staff.tenant_id));
        let policy = self.policy(staff.tenant_id).await.map_err(plain)?;
        let mut counters = Counters::parse(&staff.attempts);
        // A counted failure: the counters go with the attempt's event.
        let failed = |why: Refusal, counters: &Counters| {
            let save = (staff.id, counters.text(), staff.failed_since_login + 1);
            (ServiceError::BadCredentials, Some(why), who, Some(save))
        };
        if counters.password.gate(&policy.lockout, now) != Gate::Open {
            burn(password).await;
            return Err(bad(Refusal::Locked, who));
        }
        if !policy.networks.allows_sign_in(source_ip(req)) {
            burn(password).await;
            counters.password.failed(&policy.lockout, now);
            return Err(failed(Refusal::Network, &counters));
        }
        let (pw, phc) = (password.to_string(), staff.password_hash.clone());
        let ok = tokio::task::spawn_blocking(move || crypto::verify_password(&pw, &phc))
            .await
            .map_err(|e| plain(ServiceError::Internal(e.to_string())))?;
        if !ok {
            counters.password.failed(&policy.lockout, now);
            return Err(failed(Refusal::Password, &counters));
        }
        if staff.disabled {
            return Err(bad(Refusal::Suspended, who));
        }
        if staff.role == Role::Service.as_str() {
            // A service account works with API keys only.
            return Err(bad(Refusal::ServiceAccount, who));
        }
        if staff.mfa_enabled {
            if let Err((e, why, counted)) = self.check_second_factor(&staff, &policy, &mut counters, second, now).await
            {
                if counted {
                    return Err(failed(why.unwrap_or(Refusal::Otp), &counters));
                }
                let e = if matches!(e, ServiceError::MfaRequired) { e } else { ServiceError::BadCredentials };
                return Err((e, why, who, None));
            }
        }
        counters.password.succeeded();
        let mut actor = self.actor_of(&staff, &policy, req).map_err(plain)?;
        let token = crypto::new_token();
        let sid = Uuid::now_v7();
        let row = SessionRow {
            token_hash: token_hash(&token).to_vec(),
            id: sid,
            staff_id: staff.id,
            created_at: now,
            expires_at: now + i64::from(policy.session.absolute_hours) * 3_600_000,
            last_seen_at: now,
            source: req.source.clone(),
        };
        let expires_at = row.expires_at;
        let (id, text) = (staff.id, counters.text());
        self.store
            .write(move |db| {
                queries::record_login(db, id, now, &text)?;
                queries::insert_session(db, &row)
            })
            .await
            .map_err(|e| plain(e.into()))?;
        actor.session = Some(sid);
        Ok(Login {
            token,
            expires_at,
            idle_minutes: policy.session.idle_minutes,
            actor,
            failed_attempts: staff.failed_since_login,
            last_login_at: staff.last_login_at,
        })
    }

    /// TOTP (a step taken once, on any server) or a recovery code (consumed).
    async fn check_second_factor(
        &self,
        staff: &StaffRow,
        policy: &Policy,
        counters: &mut Counters,
        second: SecondFactor<'_>,
        now: i64,
    ) -> std::result::Result<(), (ServiceError, Option<Refusal>, bool)> {
        // The flag: a failure was counted (the caller stores the counters).
        let plain = |e: ServiceError| (e, None, false);
        let id = staff.id;
        if let Some(code) = second.otp {
            if counters.totp.gate(&policy.lockout, now) != Gate::Open {
                return Err((ServiceError::BadCredentials, Some(Refusal::Locked), false));
            }
            let secret = self.mfa_secret(staff).map_err(plain)?;
            match secret.verify(code, now, Some(staff.mfa_last_step)) {
                Some(step) => {
                    if !self
                        .store
                        .write(move |db| queries::take_mfa_step(db, id, step))
                        .await
                        .map_err(|e| plain(e.into()))?
                    {
                        counters.totp.failed(&policy.lockout, now);
                        return Err((ServiceError::BadCredentials, Some(Refusal::OtpReplay), true));
                    }
                    counters.totp.succeeded();
                    Ok(())
                }
                None => {
                    let replay = secret.verify(code, now, None).is_some();
                    counters.totp.failed(&policy.lockout, now);
                    Err((
                        ServiceError::BadCredentials,
                        Some(if replay { Refusal::OtpReplay } else { Refusal::Otp }),
                        true,
                    ))
                }
            }
        } else if let Some(code) = second.recovery_code {
            if counters.recovery.gate(&policy.lockout, now) != Gate::Open {
                return Err((ServiceError::BadCredentials, Some(Refusal::Locked), false));
            }
            let stored = self
                .store
                .read_latest(move |db| queries::unused_recovery_codes(db, id))
                .await
                .map_err(|e| plain(e.into()))?;
            let used = match recovery::find(code, &stored) {
                Some(i) => {
                    let h = stored[i];
                    self.store
                        .write(move |db| queries::use_recovery_code(db, id, &h, now))
                        .await
                        .map_err(|e| plain(e.into()))?
                }
                None => false,
            };
            if !used {
                counters.recovery.failed(&policy.lockout, now);
                return Err((ServiceError::BadCredentials, Some(Refusal::Recovery), true));
            }
            counters.recovery.succeeded();
            Ok(())
        } else {
            Err((ServiceError::MfaRequired, None, false))
        }
    }

    pub(crate) fn mfa_secret(&self, staff: &StaffRow) -> Result<TotpSecret> {
        let sealed = staff.mfa_sealed.as_deref().ok_or_else(|| ServiceError::Internal("no TOTP seed".into()))?;
        let plain = self.system.open(super::MFA_CONTEXT, sealed).map_err(|e| ServiceError::Internal(e.to_string()))?;
        TotpSecret::from_bytes(&plain).map_err(|e| ServiceError::Internal(e.to_string()))
    }

    /// The actor behind a bearer token (a session or an API key), if it is
    /// valid now; a request with a token that is not is recorded.
    pub async fn authenticate(&self, req: &RequestMeta, token: &str) -> Result<Actor> {
        match self.token_actor(req, token).await {
            Ok(mut a) => {
                a.req = req.clone();
                Ok(a)
            }
            Err(e) => {
                let mut d = self.anonymous_draft(req, Action::Session.name());
                d.outcome = "unauthenticated".into();
                self.append(d).await?;
                Err(e)
            }
        }
    }

    /// The token a console form carries for a session (CSRF): an HMAC of
    /// the session token under a key derived from the master key, so every
    /// server of several computes the same one and nobody without the
    /// session cookie can.
    pub fn form_token(&self, session_token: &str) -> String {
        use base64::Engine;
        let mac = self.system.blind_index("console/form", session_token);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac)
    }

    async fn token_actor(&self, req: &RequestMeta, token: &str) -> Result<Actor> {
        let h = token_hash(token);
        let now = self.clock.now_ms();
        let c = match self.sessions.get(&h, now) {
            Some(c) => c,
            None => {
                // A session token is random base64url: 1 in 2^18 begins with the
                // keys' prefix too, so a "key" not found is tried as a session.
                let c = if token.starts_with(API_KEY_PREFIX) {
                    match self.load_api_key(h, now).await {
                        Err(ServiceError::Unauthenticated) => self.load_session(h, now).await?,
                        r => r?,
                    }
                } else {
                    self.load_session(h, now).await?
                };
                self.sessions.put(h, c.clone(), now);
                c
            }
        };
        if now >= c.expires_at {
            self.sessions.forget(&h);
            return Err(ServiceError::Unauthenticated);
        }
        if c.idle_ms > 0 {
            let last = c.last_seen.load(Ordering::Relaxed);
            if now - last > c.idle_ms {
                // Idle too long: the session ends (AUTH-6).
                self.sessions.forget(&h);
                let _ = self.store.write(move |db| queries::delete_session(db, &h)).await;
                return Err(ServiceError::Unauthenticated);
            }
        }
        if c.actor.role == Role::Service {
            let p = self.policy(c.actor.tenant).await?;
            if !p.networks.allows_api_key(source_ip(req)) {
                return Err(ServiceError::Unauthenticated);
            }
        }
        c.touch(now);
        let every = if c.idle_ms > 0 { TOUCH_MS.min(c.idle_ms / 4).max(1_000) } else { TOUCH_MS };
        let persisted = c.persisted.load(Ordering::Relaxed);
        if now - persisted >= every
            && c.persisted.compare_exchange(persisted, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
        {
            // Off the request's path: nothing waits for it.
            let api_key = c.actor.role == Role::Service;
            let _ = self.store.submit(Box::new(move |db| {
                let r = if api_key { queries::touch_api_key(db, &h, now) } else { queries::touch_session(db, &h, now) };
                (r.is_ok(), Box::new(|_| {}))
            }));
        }
        Ok(c.actor.clone())
    }

    async fn load_session(&self, h: [u8; 32], now: i64) -> Result<Arc<Cached>> {
        let found = self.store.read_latest(move |db| queries::session(db, &h, now)).await?;
        let Some((sess, staff)) = found else { return Err(ServiceError::Unauthenticated) };
        if staff.disabled {
            return Err(ServiceError::Unauthenticated);
        }
        let policy = self.policy(staff.tenant_id).await?;
        let idle_ms = i64::from(policy.session.idle_minutes) * 60_000;
        let last = sess.last_seen_at.max(sess.created_at);
        if now - last > idle_ms {
            let _ = self.store.write(move |db| queries::delete_session(db, &h)).await;
            return Err(ServiceError::Unauthenticated);
        }
        let mut actor = self.actor_of(&staff, &policy, &RequestMeta::default())?;
        actor.session = Some(sess.id);
        Ok(Arc::new(Cached {
            actor,
            expires_at: sess.expires_at,
            cached_at: now,
            idle_ms,
            last_seen: AtomicI64::new(last),
            persisted: AtomicI64::new(sess.last_seen_at),
        }))
    }

    async fn load_api_key(&self, h: [u8; 32], now: i64) -> Result<Arc<Cached>> {
        let found = self.store.read_latest(move |db| queries::api_key_by_hash(db, &h)).await?;
        let Some((key, staff)) = found else { return Err(ServiceError::Unauthenticated) };
        if staff.disabled || key.revoked_at.is_some() || now >= key.expires_at {
            return Err(ServiceError::Unauthenticated);
        }
        let access: Access = access_of(&key.access)?;
        let actor = Actor {
            req: RequestMeta::default(),
            staff_id: staff.id,
            tenant: Some(key.tenant_id),
            role: Role::Service,
            access: Arc::new(access),
            must_change_password: false,
            must_enrol_mfa: false,
            approval: None,
            session: None,
            prefs: crate::service::Prefs::default(),
        };
        Ok(Arc::new(Cached {
            actor,
            expires_at: key.expires_at,
            cached_at: now,
            idle_ms: 0,
            last_seen: AtomicI64::new(now),
            persisted: AtomicI64::new(key.last_used_at.unwrap_or(0)),
        }))
    }

    pub async fn logout(&self, actor: &Actor, token: &str) -> Result<()> {
        let h = token_hash(token);
        self.sessions.forget(&h);
        let call = self.call(actor, Action::Logout, None);
        self.run(
            call,
            |_| async { Ok(self.write_recorded(move |db, _| queries::delete_session(db, &h)).await?) },
            |_, _| {},
        )
        .await
    }

    /// Who one is (recorded like any use case).
    pub async fn whoami(&self, actor: &Actor) -> Result<Actor> {
        let call = self.call(actor, Action::Me, None);
        self.run(call, |_| async { Ok(actor.clone()) }, |_, _| {}).await
    }

    /// One's own sessions: (id, created, last seen, expires, source, is this one).
    pub async fn list_sessions(&self, actor: &Actor) -> Result<Vec<(SessionRow, bool)>> {
        let call = self.call(actor, Action::SessionList, None);
        self.run(
            call,
            |_| async {
                let (id, now) = (actor.staff_id, self.clock.now_ms());
                let rows = self.store.read_latest(move |db| queries::sessions_of(db, id, now)).await?;
                Ok(rows
                    .into_iter()
                    .map(|s| {
                        let this = Some(s.id) == actor.session;
                        (s, this)
                    })
                    .collect())
            },
            |_, _| {},
        )
        .await
    }

    /// Revokes one of one's own sessions.
    pub async fn revoke_session(&self, actor: &Actor, session: Uuid) -> Result<()> {
        let call = self.call(actor, Action::SessionRevoke, None).detail(format!("session={session}"));
        self.run(
            call,
            |_| async {
                let id = actor.staff_id;
                let h = self
                    .write_recorded(move |db, _| queries::delete_session_by_id(db, id, session))
                    .await
                    .map_err(|e| match e {
                        crate::store::StoreError::NotFound => ServiceError::NotFound("session"),
                        e => e.into(),
                    })?;
                if let Ok(h) = <[u8; 32]>::try_from(h.as_slice()) {
                    self.sessions.forget(&h);
                }
                Ok(())
            },
            |_, _| {},
        )
        .await
    }
}

/// The Argon2id time of a password check, spent where there is no hash to
/// check (unknown name, locked account): the answer takes as long.
async fn burn(password: &str) {
    let pw = password.to_string();
    let _ = tokio::task::spawn_blocking(move || crypto::burn_password_check(&pw)).await;
}

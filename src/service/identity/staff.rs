//! Staff accounts (AUTH-1, AUTH-7, AUTH-8, ACC-1, ACC-2): creation (a
//! generated one-time password unless one is given), listing, role, grants
//! and field masks (four-eyes eligible), suspension (every session and API
//! key ends at once), reactivation, offboarding with the seeds' checklist,
//! unlock after failed sign-ins, password and MFA resets, the incident
//! reset of a whole tenant, and the access review. A system administrator
//! acts anywhere; a tenant administrator in its own tenant only (another
//! tenant's accounts are "not found").

use super::{normalise_username, Counters, StaffInfo, NAME_CONTEXT};
use crate::crypto;
use crate::domain::access::{Access, Action, Op};
use crate::domain::{Invalid, Role};
use crate::service::approvals::{Command, Held};
use crate::service::{Actor, Result, ServiceError, Vault};
use crate::store::queries::{self, StaffRow};
use crate::store::StoreError;
use uuid::Uuid;

pub use crate::domain::staff_register::OFFBOARDING_ITEMS;

/// A new account.
pub struct NewStaff<'a> {
    pub username: &'a str,
    pub role: Role,
    pub password: Option<&'a str>,
    pub access: Access,
}

/// One line of the access review.
pub struct ReviewLine {
    pub staff: StaffInfo,
    pub api_keys: usize,
    pub dormant: bool,
    pub offboarding: Vec<String>,
}

fn check_access(a: &Access) -> Result<()> {
    for (c, ops) in &a.grants {
        if c != "*" {
            crate::domain::check_name(&format!("access.grants.{c}"), c)?;
        }
        if ops.is_empty() {
            return Err(Invalid::new(format!("access.grants.{c}"), "must grant at least one operation").into());
        }
    }
    for (c, fields) in &a.masks {
        if c != "*" {
            crate::domain::check_name(&format!("access.masks.{c}"), c)?;
        }
        for f in fields {
            crate::domain::check_name(&format!("access.masks.{c}"), f)?;
        }
    }
    Ok(())
}

impl Vault {
    /// The account, if it belongs to the tenant acted on (else "not found").
    async fn staff_in(&self, tenant: Option<Uuid>, id: Uuid) -> Result<StaffRow> {
        let s = self
            .store
            .read_latest(move |db| queries::staff_by_id(db, id))
            .await?
            .ok_or(ServiceError::NotFound("staff"))?;
        if tenant.is_some() && s.tenant_id != tenant {
            return Err(ServiceError::NotFound("staff"));
        }
        Ok(s)
    }

    /// Creates a staff account in a tenant (`None`: system staff).
    pub async fn create_staff(
        &self,
        actor: &Actor,
        tenant: Option<Uuid>,
        new: NewStaff<'_>,
    ) -> Result<(StaffInfo, Option<String>)> {
        let call = self.call(actor, Action::StaffCreate, tenant);
        self.run(
            call,
            |_| async { self.insert_staff(tenant, new).await },
            |v, d| d.detail = Some(format!("staff={}", v.0.id)),
        )
        .await
    }

    /// Creates the first administrator at first start (no actor yet).
    pub async fn bootstrap_admin(&self, username: &str) -> Result<Option<(StaffInfo, String)>> {
        if self.store.read(|db| queries::count_staff(db)).await? > 0 {
            return Ok(None);
        }
        let meta = crate::service::audit::RequestMeta { id: "startup".into(), ..Default::default() };
        let d = self.anonymous_draft(&meta, Action::StaffBootstrap.name());
        let new = NewStaff { username, role: Role::Administrator, password: None, access: Access::default() };
        let (info, pw) =
            self.audited(d, self.insert_staff(None, new), |v, d| d.detail = Some(format!("staff={}", v.0.id))).await?;
        Ok(pw.map(|p| (info, p)))
    }

    async fn insert_staff(&self, tenant: Option<Uuid>, new: NewStaff<'_>) -> Result<(StaffInfo, Option<String>)> {
        let name = normalise_username(new.username)?;
        if tenant.is_none() && !matches!(new.role, Role::Administrator | Role::Auditor) {
            return Err(Invalid::new("role", "system staff are administrators or auditors").into());
        }
        check_access(&new.access)?;
        let generated = new.password.is_none().then(crypto::new_password);
        let hash = match new.password {
            Some(p) => self.new_password_hash(tenant, None, &name, "password", p).await?,
            None => self.hash_off_thread(generated.as_deref().unwrap_or_default()).await?,
        };
        let now = self.clock.now_ms();
        let row = StaffRow {
            id: Uuid::now_v7(),
            tenant_id: tenant,
            username_hash: self.username_hash(&name),
            username_sealed: self.system.seal(NAME_CONTEXT, name.as_bytes()),
            password_hash: hash,
            role: new.role.as_str().to_string(),
            // A service account signs in with API keys only, never a password.
            must_change_password: generated.is_some() && new.role != Role::Service,
            disabled: false,
            created_at: now,
            access: serde_json::to_string(&new.access).map_err(|e| ServiceError::Internal(e.to_string()))?,
            password_changed_at: now,
            mfa_sealed: None,
            mfa_enabled: false,
            mfa_last_step: 0,
            attempts: "{}".into(),
            last_login_at: None,
            failed_since_login: 0,
            offboarded_at: None,
            language: None,
            time_zone: None,
        };
        let info = self.staff_info(&row, now)?;
        let staff = row.id;
        self.write_recorded(move |db, d| {
            d.detail = Some(format!("staff={staff}"));
            queries::insert_staff(db, &row)
        })
        .await
        .map_err(|e| match e {
            StoreError::Conflict => ServiceError::Conflict("a staff member with this login name exists"),
            e => e.into(),
        })?;
        let shown = if new.role == Role::Service { None } else { generated };
        Ok((info, shown))
    }

    /// Staff of a tenant (or, with `None`, system staff).
    pub async fn list_staff(&self, actor: &Actor, tenant: Option<Uuid>) -> Result<Vec<StaffInfo>> {
        let call = self.call(actor, Action::StaffList, tenant);
        self.run(
            call,
            |_| async {
                let rows = match tenant {
                    Some(_) => self.store.read_latest(move |db| queries::list_staff(db, tenant)).await?,
                    None => self.store.read_latest(queries::list_system_staff).await?,
                };
                let now = self.clock.now_ms();
                rows.iter().map(|s| self.staff_info(s, now)).collect()
            },
            |_, _| {},
        )
        .await
    }

    /// An account by login name (system staff only: the CLI's look-up).
    pub async fn find_staff(&self, actor: &Actor, username: &str) -> Result<StaffInfo> {
        let call = self.call(actor, Action::StaffRead, None);
        self.run(
            call,
            |_| async {
                let h = self.username_hash(&normalise_username(username)?);
                let s = self
                    .store
                    .read_latest(move |db| queries::staff_by_username(db, &h))
                    .await?
                    .ok_or(ServiceError::NotFound("staff"))?;
                self.staff_info(&s, self.clock.now_ms())
            },
            |v, d| d.detail = Some(format!("staff={}", v.id)),
        )
        .await
    }

    pub async fn get_staff(&self, actor: &Actor, tenant: Option<Uuid>, id: Uuid) -> Result<StaffInfo> {
        let call = self.call(actor, Action::StaffRead, tenant).detail(format!("staff={id}"));
        self.run(call, |_| async { self.staff_info(&self.staff_in(tenant, id).await?, self.clock.now_ms()) }, |_, _| {})
            .await
    }

    /// Changes an account's role, grants and field masks (four-eyes if the
    /// tenant's policy says so). The change applies to its sessions at once.
    pub async fn change_grants(
        &self,
        actor: &Actor,
        tenant: Option<Uuid>,
        id: Uuid,
        role: &str,
        access: Access,
    ) -> Result<Held<StaffInfo>> {
        let r = Role::parse(role).ok_or_else(|| {
            ServiceError::Invalid(Invalid::new("role", "must be administrator, dpo, operator, auditor or service"))
        })?;
        check_access(&access)?;
        let cmd = Command::ChangeGrants { tenant, staff: id, role: role.to_string(), access: access.clone() };
        let call = self.call(actor, Action::GrantsChange, tenant).detail(format!("staff={id}"));
        self.run_held(
            call,
            cmd,
            |_| async move {
                let s = self.staff_in(tenant, id).await?;
                if s.tenant_id.is_none() && !matches!(r, Role::Administrator | Role::Auditor) {
                    return Err(Invalid::new("role", "system staff are administrators or auditors").into());
                }
                if s.id == actor.staff_id && r != Role::Administrator && actor.role == Role::Administrator {
                    return Err(ServiceError::Conflict("an administrator cannot take away their own administration"));
                }
                let text = serde_json::to_string(&access).map_err(|e| ServiceError::Internal(e.to_string()))?;
                let role = r.as_str();
                self.write_recorded(move |db, d| {
                    d.detail = Some(format!("staff={id} role={role}"));
                    queries::set_access(db, id, role, &text)
                })
                .await?;
                self.sessions.forget_staff(id);
                let mut s = s;
                (s.role, s.access) = (role.to_string(), serde_json::to_string(&access).unwrap_or_default());
                self.staff_info(&s, self.clock.now_ms())
            },
            |_, _| {},
        )
        .await
    }

    /// Suspends an account: every session and API key ends at once (AUTH-7).
    pub async fn suspend_staff(&self, actor: &Actor, tenant: Option<Uuid>, id: Uuid) -> Result<()> {
        self.set_suspended(actor, Action::StaffSuspend, tenant, id, true).await
    }

    pub async fn reactivate_staff(&self, actor: &Actor, tenant: Option<Uuid>, id: Uuid) -> Result<()> {
        self.set_suspended(actor, Action::StaffReactivate, tenant, id, false).await
    }

    async fn set_suspended(
        &self,
        actor: &Actor,
        action: Action,
        tenant: Option<Uuid>,
        id: Uuid,
        suspend: bool,
    ) -> Result<()> {
        let call = self.call(actor, action, tenant).detail(format!("staff={id}"));
        self.run(
            call,
            |_| async {
                let s = self.staff_in(tenant, id).await?;
                if suspend && s.id == actor.staff_id {
                    return Err(ServiceError::Conflict("one cannot suspend oneself"));
                }
                if !suspend && s.offboarded_at.is_some() {
                    return Err(ServiceError::Conflict(
                        "an offboarded account cannot be reactivated; create a new one",
                    ));
                }
                let now = self.clock.now_ms();
                self.write_recorded(move |db, d| {
                    queries::set_disabled(db, id, suspend, None)?;
                    if suspend {
                        let sessions = queries::delete_sessions_of(db, id)?;
                        let keys = queries::revoke_api_keys_of(db, id, now)?;
                        d.detail = Some(format!("staff={id} sessions_ended={sessions} api_keys_revoked={keys}"));
                    }
                    Ok(())
                })
                .await?;
                self.sessions.forget_staff(id);
                Ok(())
            },
            |_, _| {},
        )
        .await
    }

    /// Records offboarding: the checklist items done (with who and when),
    /// and the account closed (suspended for good, sessions and keys gone).
    pub async fn offboard_staff(
        &self,
        actor: &Actor,
        tenant: Option<Uuid>,
        id: Uuid,
        items: &[String],
        note: Option<&str>,
    ) -> Result<Vec<(String, Uuid, i64, Option<String>)>> {
        let call = self.call(actor, Action::StaffOffboard, tenant).detail(format!("staff={id}"));
        self.run(
            call,
            |_| async {
                for (i, item) in items.iter().enumerate() {
                    if !OFFBOARDING_ITEMS.contains(&item.as_str()) {
                        return Err(Invalid::new(
                            format!("items[{i}]"),
                            format!("must be one of {}", OFFBOARDING_ITEMS.join(", ")),
                        )
                        .into());
                    }
                }
                if note.is_some_and(|n| n.chars().count() > 500) {
                    return Err(Invalid::new("note", "must be at most 500 characters").into());
                }
                let s = self.staff_in(tenant, id).await?;
                if s.id == actor.staff_id {
                    return Err(ServiceError::Conflict("one cannot offboard oneself"));
                }
                let done: Vec<String> = self
                    .store
                    .read_latest(move |db| queries::offboarding_of(db, id))
                    .await?
                    .into_iter()
                    .map(|r| r.0)
                    .collect();
                let (by, now) = (actor.staff_id, self.clock.now_ms());
                let items: Vec<String> = items.iter().filter(|i| !done.contains(i)).cloned().collect();
                let note = note.map(str::to_string);
                self.write_recorded(move |db, d| {
                    for item in &items {
                        queries::insert_offboarding(db, id, item, by, now, note.as_deref())?;
                    }
                    queries::set_disabled(db, id, true, Some(s.offboarded_at.unwrap_or(now)))?;
                    let sessions = queries::delete_sessions_of(db, id)?;
                    let keys = queries::revoke_api_keys_of(db, id, now)?;
                    d.detail = Some(format!(
                        "staff={id} items={} sessions_ended={sessions} api_keys_revoked={keys}",
                        items.join(",")
                    ));
                    Ok(())
                })
                .await?;
                self.sessions.forget_staff(id);
                Ok(self.store.read_latest(move |db| queries::offboarding_of(db, id)).await?)
            },
            |_, _| {},
        )
        .await
    }

    /// Lifts every lockout of an account (password, TOTP, recovery codes).
    pub async fn unlock_staff(&self, actor: &Actor, tenant: Option<Uuid>, id: Uuid) -> Result<()> {
        let call = self.call(actor, Action::StaffUnlock, tenant).detail(format!("staff={id}"));
        self.run(
            call,
            |_| async {
                self.staff_in(tenant, id).await?;
                let text = Counters::default().text();
                self.write_recorded(move |db, _| queries::set_attempts(db, id, &text, 0)).await?;
                Ok(())
            },
            |_, _| {},
        )
        .await
    }

    /// Gives an account a new generated one-time password (returned once);
    /// its sessions end and it must change the password at next sign-in.
    pub async fn reset_staff_password(&self, actor: &Actor, tenant: Option<Uuid>, id: Uuid) -> Result<String> {
        let call = self.call(actor, Action::StaffResetPassword, tenant).detail(format!("staff={id}"));
        self.run(
            call,
            |_| async {
                let s = self.staff_in(tenant, id).await?;
                let pw = crypto::new_password();
                let hash = self.hash_off_thread(&pw).await?;
                let now = self.clock.now_ms();
                let old = s.password_hash;
                self.write_recorded(move |db, _| {
                    queries::insert_password_history(db, id, now, &old)?;
                    queries::set_password(db, id, &hash, now, true)?;
                    queries::delete_sessions_of(db, id)?;
                    Ok(())
                })
                .await?;
                self.sessions.forget_staff(id);
                Ok(pw)
            },
            |_, _| {},
        )
        .await
    }

    /// Removes an account's second factor and recovery codes: it enrols again.
    pub async fn reset_staff_mfa(&self, actor: &Actor, tenant: Option<Uuid>, id: Uuid) -> Result<()> {
        let call = self.call(actor, Action::StaffResetMfa, tenant).detail(format!("staff={id}"));
        self.run(
            call,
            |_| async {
                self.staff_in(tenant, id).await?;
                self.write_recorded(move |db, _| {
                    queries::set_mfa(db, id, None, false)?;
                    queries::replace_recovery_codes(db, id, &[])?;
                    queries::delete_sessions_of(db, id)?;
                    Ok(())
                })
                .await?;
                self.sessions.forget_staff(id);
                Ok(())
            },
            |_, _| {},
        )
        .await
    }

    /// After an incident (AUTH-8): every account of the tenant must change
    /// its password at next sign-in; with `end_sessions`, all its sessions end.
    pub async fn incident_reset(&self, actor: &Actor, tenant: Uuid, end_sessions: bool) -> Result<(u64, u64)> {
        let call = self.call(actor, Action::IncidentReset, Some(tenant));
        self.run(
            call,
            |_| async {
                let r = self
                    .write_recorded(move |db, d| {
                        let accounts = queries::force_password_change(db, tenant)?;
                        let sessions = if end_sessions { queries::delete_sessions_of_tenant(db, tenant)? } else { 0 };
                        d.detail = Some(format!("accounts={accounts} sessions_ended={sessions}"));
                        Ok((accounts, sessions))
                    })
                    .await?;
                self.sessions.forget_tenant(tenant);
                Ok(r)
            },
            |_, _| {},
        )
        .await
    }

    /// The access review (Ham Art. 16, 2Mobile 4.2): every account of a
    /// tenant with role, grants, masks, API keys, MFA, last sign-in, and
    /// dormant ones flagged (no sign-in for `review.dormant_days`).
    pub async fn access_review(&self, actor: &Actor, tenant: Uuid) -> Result<Vec<ReviewLine>> {
        let call = self.call(actor, Action::AccessReview, Some(tenant));
        self.run(
            call,
            |_| async {
                let policy = self.policy(Some(tenant)).await?;
                let now = self.clock.now_ms();
                let dormant_ms = i64::from(policy.review.dormant_days) * 86_400_000;
                // One read for the whole review (not one per account).
                let (rows, keys, done) = self
                    .store
                    .read_latest(move |db| {
                        Ok((
                            queries::list_staff(db, Some(tenant))?,
                            queries::list_api_keys(db, tenant)?,
                            queries::offboarding_of_tenant(db, tenant)?,
                        ))
                    })
                    .await?;
                let mut out = Vec::with_capacity(rows.len());
                for s in &rows {
                    let offboarding = done.iter().filter(|(id, _)| *id == s.id).map(|(_, item)| item.clone()).collect();
                    let api_keys = keys
                        .iter()
                        .filter(|k| k.created_by == s.id && k.revoked_at.is_none() && k.expires_at > now)
                        .count();
                    let last = s.last_login_at.unwrap_or(s.created_at);
                    let dormant = !s.disabled && now - last > dormant_ms;
                    out.push(ReviewLine { staff: self.staff_info(s, now)?, api_keys, dormant, offboarding });
                }
                Ok(out)
            },
            |v, d| d.detail = Some(format!("accounts={}", v.len())),
        )
        .await
    }
}

/// The access review as CSV (one line per account; no secret in it).
pub fn review_csv(lines: &[ReviewLine]) -> String {
    let mut out = String::from(
        "id,username,role,state,mfa,last_sign_in,password_changed,dormant,locked,grants,masks,api_keys,offboarding\n",
    );
    let esc = |s: &str| {
        // Quote every field; a leading formula character is defused for spreadsheets.
        let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_string() };
        format!("\"{}\"", s.replace('"', "\"\""))
    };
    for l in lines {
        let s = &l.staff;
        let state = if s.offboarded_at.is_some() {
            "offboarded"
        } else if s.suspended {
            "suspended"
        } else {
            "active"
        };
        let grants = s
            .access
            .grants
            .iter()
            .map(|(c, ops)| format!("{c}:{}", ops.iter().map(|o: &Op| o.as_str()).collect::<Vec<_>>().join("+")))
            .collect::<Vec<_>>()
            .join(" ");
        let masks = s
            .access
            .masks
            .iter()
            .map(|(c, f)| format!("{c}:{}", f.iter().cloned().collect::<Vec<_>>().join("+")))
            .collect::<Vec<_>>()
            .join(" ");
        let fields = [
            s.id.to_string(),
            s.username.clone(),
            s.role.as_str().to_string(),
            state.to_string(),
            if s.mfa_enabled { "yes" } else { "no" }.to_string(),
            s.last_login_at.map(crate::clock::rfc3339).unwrap_or_default(),
            crate::clock::rfc3339(s.password_changed_at),
            if l.dormant { "yes" } else { "no" }.to_string(),
            if s.locked { "yes" } else { "no" }.to_string(),
            grants,
            masks,
            l.api_keys.to_string(),
            l.offboarding.join(" "),
        ];
        out.push_str(&fields.iter().map(|f| esc(f)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

//! Staff accounts and sessions: login (Argon2id), bearer-token sessions
//! (stored only as SHA-256 of the token), logout, password change, and the
//! creation of staff accounts. Login names are personal data of staff: they
//! are stored sealed, found by a blind index.
//!
//! MFA, lockout, idle timeout and suspension are the identity issue's; they
//! hook in at `login` and `authenticate`.

use super::{authz, Actor, Result, ServiceError, Vault};
use crate::crypto::{self, token_hash};
use crate::domain::{Invalid, Role};
use crate::store::queries::{self, SessionRow, StaffRow};
use std::collections::HashMap;
use std::sync::RwLock;
use uuid::Uuid;

const NAME_CONTEXT: &str = "varuh/staff-name/v1";
/// Sessions are re-read from the store at least this often, so a change made
/// by another server (PostgreSQL deployments) is seen within this time.
const CACHE_MS: i64 = 2_000;
pub const MIN_PASSWORD: usize = 12;

#[derive(Default)]
pub struct SessionCache(RwLock<HashMap<[u8; 32], (Actor, i64, i64)>>);

impl SessionCache {
    fn get(&self, h: &[u8; 32], now: i64) -> Option<Actor> {
        let m = self.0.read().unwrap_or_else(|e| e.into_inner());
        let (actor, expires, cached) = m.get(h)?;
        (now < *expires && now - cached < CACHE_MS).then(|| actor.clone())
    }
    fn put(&self, h: [u8; 32], a: Actor, expires: i64, now: i64) {
        let mut m = self.0.write().unwrap_or_else(|e| e.into_inner());
        if m.len() > 100_000 {
            m.retain(|_, (_, e, c)| now < *e && now - *c < CACHE_MS);
        }
        m.insert(h, (a, expires, now));
    }
    fn forget(&self, h: &[u8; 32]) {
        self.0.write().unwrap_or_else(|e| e.into_inner()).remove(h);
    }
    fn forget_staff(&self, staff: Uuid) {
        self.0.write().unwrap_or_else(|e| e.into_inner()).retain(|_, (a, _, _)| a.staff_id != staff);
    }
}

pub struct Login {
    pub token: String,
    pub expires_at: i64,
    pub actor: Actor,
}

pub struct StaffInfo {
    pub id: Uuid,
    pub tenant: Option<Uuid>,
    pub username: String,
    pub role: Role,
    pub must_change_password: bool,
    pub created_at: i64,
}

fn normalise_username(u: &str) -> std::result::Result<String, Invalid> {
    let u = u.trim().to_lowercase();
    if u.is_empty() || u.len() > 64 || u.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Invalid::new("username", "must be 1-64 characters without spaces"));
    }
    Ok(u)
}

pub fn check_password(field: &str, p: &str) -> std::result::Result<(), Invalid> {
    if p.chars().count() < MIN_PASSWORD || p.len() > 1024 {
        return Err(Invalid::new(field, format!("must be {MIN_PASSWORD} to 1024 characters long")));
    }
    Ok(())
}

fn actor_of(s: &StaffRow) -> Result<Actor> {
    Ok(Actor {
        req: Default::default(),
        staff_id: s.id,
        tenant: s.tenant_id,
        role: Role::parse(&s.role).ok_or_else(|| ServiceError::Internal("unknown role in store".into()))?,
        must_change_password: s.must_change_password,
    })
}

impl Vault {
    fn username_hash(&self, normalised: &str) -> Vec<u8> {
        self.system.blind_index("staff", normalised).to_vec()
    }

    /// Signs in with a login name and password; returns a fresh bearer
    /// token. Every attempt is recorded, failed ones too.
    pub async fn login(&self, req: &super::audit::RequestMeta, username: &str, password: &str) -> Result<Login> {
        let d = self.anonymous_draft(req, "auth.login");
        let mut r = self
            .audited(d, self.check_login(username, password), |l, d| {
                d.actor = Some(l.actor.staff_id);
                d.role = Some(l.actor.role.as_str().to_string());
                d.tenant = l.actor.tenant;
            })
            .await;
        if let Ok(l) = &mut r {
            l.actor.req = req.clone();
        }
        r
    }

    async fn check_login(&self, username: &str, password: &str) -> Result<Login> {
        let Ok(name) = normalise_username(username) else {
            crypto::burn_password_check(password);
            return Err(ServiceError::BadCredentials);
        };
        let h = self.username_hash(&name);
        let staff = self.store.read(move |db| queries::staff_by_username(db, &h)).await?;
        let pw = password.to_string();
        // Argon2id costs ~20-50 ms of CPU: keep it off the async workers.
        let (staff, ok) = tokio::task::spawn_blocking(move || match staff {
            Some(s) => {
                let ok = crypto::verify_password(&pw, &s.password_hash);
                (Some(s), ok)
            }
            None => {
                crypto::burn_password_check(&pw);
                (None, false)
            }
        })
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let staff = match staff {
            Some(s) if ok && !s.disabled => s,
            _ => return Err(ServiceError::BadCredentials),
        };
        let actor = actor_of(&staff)?;
        let token = crypto::new_token();
        let now = self.clock.now_ms();
        let row = SessionRow {
            token_hash: token_hash(&token).to_vec(),
            staff_id: staff.id,
            created_at: now,
            expires_at: now + self.settings.session_ttl_ms,
        };
        let expires_at = row.expires_at;
        let (sid, role, tenant) = (actor.staff_id, actor.role.as_str().to_string(), actor.tenant);
        self.write_recorded(move |db, d| {
            (d.actor, d.role, d.tenant) = (Some(sid), Some(role), tenant);
            queries::insert_session(db, &row)
        })
        .await?;
        Ok(Login { token, expires_at, actor })
    }

    /// The actor behind a bearer token, if the session is valid; a request
    /// with a token that is not is recorded.
    pub async fn authenticate(&self, req: &super::audit::RequestMeta, token: &str) -> Result<Actor> {
        match self.session_actor(token).await {
            Ok(mut a) => {
                a.req = req.clone();
                Ok(a)
            }
            Err(e) => {
                let mut d = self.anonymous_draft(req, "auth.session");
                d.outcome = "unauthenticated".into();
                self.append(d).await?;
                Err(e)
            }
        }
    }

    async fn session_actor(&self, token: &str) -> Result<Actor> {
        let h = token_hash(token);
        let now = self.clock.now_ms();
        if let Some(a) = self.sessions.get(&h, now) {
            return Ok(a);
        }
        let found = self.store.read(move |db| queries::session(db, &h, now)).await?;
        let Some((sess, staff)) = found else { return Err(ServiceError::Unauthenticated) };
        if staff.disabled {
            return Err(ServiceError::Unauthenticated);
        }
        let actor = actor_of(&staff)?;
        self.sessions.put(h, actor.clone(), sess.expires_at, now);
        Ok(actor)
    }

    pub async fn logout(&self, actor: &Actor, token: &str) -> Result<()> {
        let h = token_hash(token);
        self.sessions.forget(&h);
        let d = self.draft(actor, "auth.logout", None);
        self.audited(d, async { Ok(self.write_recorded(move |db, _| queries::delete_session(db, &h)).await?) }, |_, _| {}).await
    }

    /// Changes one's own password; ends every other session of the account.
    pub async fn change_password(&self, actor: &Actor, token: &str, current: &str, new: &str) -> Result<()> {
        let d = self.draft(actor, "auth.password.change", None);
        self.audited(
            d,
            async {
        check_password("new_password", new)?;
        if current == new {
            return Err(Invalid::new("new_password", "must differ from the current password").into());
        }
        let id = actor.staff_id;
        let staff = self.store.read(move |db| queries::staff_by_id(db, id)).await?.ok_or(ServiceError::Unauthenticated)?;
        let (cur, new) = (current.to_string(), new.to_string());
        let hash = tokio::task::spawn_blocking(move || {
            if !crypto::verify_password(&cur, &staff.password_hash) {
                return Err(ServiceError::BadCredentials);
            }
            crypto::hash_password(&new).map_err(|e| ServiceError::Internal(e.to_string()))
        })
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))??;
        let keep = token_hash(token).to_vec();
        let now = self.clock.now_ms();
        let ttl = self.settings.session_ttl_ms;
        self.write_recorded(move |db, _| {
                queries::set_password(db, id, &hash)?;
                queries::delete_sessions_of(db, id)?;
                queries::insert_session(db, &SessionRow { token_hash: keep, staff_id: id, created_at: now, expires_at: now + ttl })
            })
            .await?;
        self.sessions.forget_staff(id);
        Ok(())
            },
            |_, _| {},
        )
        .await
    }

    /// Creates a staff account. A system administrator may create accounts
    /// anywhere; a tenant administrator only in its own tenant. Without a
    /// password, one is generated and returned once; the holder must change
    /// it at first login.
    pub async fn create_staff(
        &self,
        actor: &Actor,
        tenant: Option<Uuid>,
        username: &str,
        role: Role,
        password: Option<&str>,
    ) -> Result<(StaffInfo, Option<String>)> {
        let d = self.draft(actor, "staff.create", tenant);
        self.audited(
            d,
            async {
        // Tenant first: another tenant's staff must look absent, not forbidden.
        match tenant {
            None => authz::system_admin(actor)?,
            Some(t) => {
                self.tenant_for(actor, t).await?;
            }
        }
        authz::admin(actor)?;
        self.insert_staff(tenant, username, role, password).await
            },
            |v, d| d.detail = Some(format!("staff={}", v.0.id)),
        )
        .await
    }

    /// Creates an account without an actor: only for `varuh init`/first start.
    pub async fn bootstrap_admin(&self, username: &str) -> Result<Option<(StaffInfo, String)>> {
        if self.store.read(|db| queries::count_staff(db)).await? > 0 {
            return Ok(None);
        }
        let d = self.anonymous_draft(&super::audit::RequestMeta { id: "startup".into(), source: None }, "staff.bootstrap");
        let (info, pw) = self.audited(d, self.insert_staff(None, username, Role::Administrator, None), |v, d| d.detail = Some(format!("staff={}", v.0.id))).await?;
        Ok(pw.map(|p| (info, p)))
    }

    async fn insert_staff(&self, tenant: Option<Uuid>, username: &str, role: Role, password: Option<&str>) -> Result<(StaffInfo, Option<String>)> {
        let name = normalise_username(username)?;
        if let Some(p) = password {
            check_password("password", p)?;
        }
        let generated = password.is_none().then(crypto::new_password);
        let pw = password.map(str::to_string).or_else(|| generated.clone()).unwrap_or_default();
        let hash = tokio::task::spawn_blocking(move || crypto::hash_password(&pw))
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))?
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let row = StaffRow {
            id: Uuid::now_v7(),
            tenant_id: tenant,
            username_hash: self.username_hash(&name),
            username_sealed: self.system.seal(NAME_CONTEXT, name.as_bytes()),
            password_hash: hash,
            role: role.as_str().to_string(),
            must_change_password: generated.is_some(),
            disabled: false,
            created_at: self.clock.now_ms(),
        };
        let info = StaffInfo {
            id: row.id,
            tenant,
            username: name,
            role,
            must_change_password: row.must_change_password,
            created_at: row.created_at,
        };
        let staff = row.id;
        self.write_recorded(move |db, d| {
            d.detail = Some(format!("staff={staff}"));
            queries::insert_staff(db, &row)
        })
        .await
        .map_err(|e| match e {
            crate::store::StoreError::Conflict => ServiceError::Conflict("a staff member with this login name exists"),
            e => e.into(),
        })?;
        Ok((info, generated))
    }

    /// Staff of a tenant (or all, for a system administrator with no tenant).
    pub async fn list_staff(&self, actor: &Actor, tenant: Option<Uuid>) -> Result<Vec<StaffInfo>> {
        let d = self.draft(actor, "staff.list", tenant);
        self.audited(
            d,
            async {
        match tenant {
            None => authz::system_admin(actor)?,
            Some(t) => {
                self.tenant_for(actor, t).await?;
            }
        }
        authz::admin(actor)?;
        let rows = self.store.read(move |db| queries::list_staff(db, tenant)).await?;
        rows.iter()
            .map(|s| {
                let name = self.system.open(NAME_CONTEXT, &s.username_sealed).map_err(|e| ServiceError::Internal(e.to_string()))?;
                Ok(StaffInfo {
                    id: s.id,
                    tenant: s.tenant_id,
                    username: String::from_utf8_lossy(&name).into_owned(),
                    role: actor_of(s)?.role,
                    must_change_password: s.must_change_password,
                    created_at: s.created_at,
                })
            })
            .collect()
            },
            |_, _| {},
        )
        .await
    }
}

//! Passwords (AUTH-2, AUTH-3): one's own change, checked against the
//! policy of one's tenant (length, classes, blocklist, login name; then
//! the last N passwords, compared by Argon2id), stored with Argon2id, the
//! old hash kept for the history. A change ends every other session.

use crate::crypto::{self, token_hash};
use crate::domain::access::Action;
use crate::domain::Invalid;
use crate::service::{Actor, Result, ServiceError, Vault};
use crate::store::queries::{self, SessionRow};
use uuid::Uuid;

impl Vault {
    /// Checks a new password against the policy and the account's history;
    /// returns its Argon2id hash.
    pub(crate) async fn new_password_hash(
        &self,
        tenant: Option<Uuid>,
        staff: Option<Uuid>,
        username: &str,
        field: &str,
        new: &str,
    ) -> Result<String> {
        let policy = self.policy(tenant).await?;
        policy.password.check(field, new, username)?;
        let history = match staff {
            Some(id) if policy.password.history > 0 => {
                let n = i64::from(policy.password.history);
                let mut h = self.store.read_latest(move |db| queries::password_history(db, id, n)).await?;
                if let Some(cur) = self.store.read_latest(move |db| queries::staff_by_id(db, id)).await? {
                    h.insert(0, cur.password_hash);
                }
                h.truncate(policy.password.history as usize);
                h
            }
            _ => Vec::new(),
        };
        let (pw, field) = (new.to_string(), field.to_string());
        tokio::task::spawn_blocking(move || {
            if history.iter().any(|old| crypto::verify_password(&pw, old)) {
                return Err(Invalid::new(field, "must not be one of your last passwords (password.history)").into());
            }
            crypto::hash_password(&pw).map_err(|e| ServiceError::Internal(e.to_string()))
        })
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?
    }

    /// Changes one's own password; ends every other session of the account.
    pub async fn change_password(&self, actor: &Actor, token: &str, current: &str, new: &str) -> Result<()> {
        let call = self.call(actor, Action::PasswordChange, None);
        self.run(
            call,
            |_| async {
                if current == new {
                    return Err(Invalid::new("new_password", "must differ from the current password").into());
                }
                let id = actor.staff_id;
                let staff = self.own_account(actor).await?;
                let (cur, phc) = (current.to_string(), staff.password_hash.clone());
                let ok = tokio::task::spawn_blocking(move || crypto::verify_password(&cur, &phc))
                    .await
                    .map_err(|e| ServiceError::Internal(e.to_string()))?;
                if !ok {
                    return Err(ServiceError::BadCredentials);
                }
                let username = self.open_username(&staff)?;
                let hash = self.new_password_hash(staff.tenant_id, Some(id), &username, "new_password", new).await?;
                let keep = token_hash(token).to_vec();
                let now = self.clock.now_ms();
                let policy = self.policy(staff.tenant_id).await?;
                let absolute = i64::from(policy.session.absolute_hours) * 3_600_000;
                let (old, source, sid) =
                    (staff.password_hash, actor.req.source.clone(), actor.session.unwrap_or_else(Uuid::now_v7));
                self.write_recorded(move |db, _| {
                    queries::insert_password_history(db, id, now, &old)?;
                    queries::set_password(db, id, &hash, now, false)?;
                    queries::delete_sessions_of(db, id)?;
                    queries::insert_session(
                        db,
                        &SessionRow {
                            token_hash: keep,
                            id: sid,
                            staff_id: id,
                            created_at: now,
                            expires_at: now + absolute,
                            last_seen_at: now,
                            source,
                        },
                    )
                })
                .await?;
                self.sessions.forget_staff(id);
                Ok(())
            },
            |_, _| {},
        )
        .await
    }
}

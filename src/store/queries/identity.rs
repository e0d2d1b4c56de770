//! Statements of identity: staff accounts, password history, TOTP and
//! recovery codes, brute-force counters, sessions, API keys, policies,
//! four-eyes approvals and offboarding. Secrets arrive here hashed or
//! sealed; login names sealed, found by blind index.

use super::super::db::{Db, Row};
use super::super::StoreError;
use uuid::Uuid;

pub struct StaffRow {
    pub id: Uuid,
    pub tenant_id: Option<Uuid>,
    pub username_hash: Vec<u8>,
    pub username_sealed: Vec<u8>,
    pub password_hash: String,
    pub role: String,
    pub must_change_password: bool,
    /// Suspended (or offboarded): no sign-in, no session, no API key.
    pub disabled: bool,
    pub created_at: i64,
    /// Grants and field masks (`domain::access::Access` as JSON).
    pub access: String,
    pub password_changed_at: i64,
    /// The TOTP seed, sealed with the system keys.
    pub mfa_sealed: Option<Vec<u8>>,
    pub mfa_enabled: bool,
    /// The last TOTP time step accepted (a step is accepted once only).
    pub mfa_last_step: i64,
    /// Brute-force counters per factor (JSON).
    pub attempts: String,
    pub last_login_at: Option<i64>,
    pub failed_since_login: i64,
    pub offboarded_at: Option<i64>,
    /// The console's language (`en`, `sl`), if chosen.
    pub language: Option<String>,
    /// The time zone dates are shown in (IANA name), if chosen.
    pub time_zone: Option<String>,
}

macro_rules! staff_cols {
    ($p:literal) => {
        concat!(
            $p,
            "id, ",
            $p,
            "tenant_id, ",
            $p,
            "username_hash, ",
            $p,
            "username_sealed, ",
            $p,
            "password_hash, ",
            $p,
            "role, ",
            $p,
            "must_change_password, ",
            $p,
            "disabled, ",
            $p,
            "created_at, ",
            $p,
            "access, ",
            $p,
            "password_changed_at, ",
            $p,
            "mfa_sealed, ",
            $p,
            "mfa_enabled, ",
            $p,
            "mfa_last_step, ",
            $p,
            "attempts, ",
            $p,
            "last_login_at, ",
            $p,
            "failed_since_login, ",
            $p,
            "offboarded_at, ",
            $p,
            "language, ",
            $p,
            "time_zone"
        )
    };
}
const STAFF_COLS: usize = 20;

fn staff(r: &Row, o: usize) -> Result<StaffRow, StoreError> {
    Ok(StaffRow {
        id: r.uuid(o)?,
        tenant_id: r
            .opt_text(o + 1)?
            .map(|t| t.parse().map_err(|_| StoreError::Corrupt("tenant id".into())))
            .transpose()?,
        username_hash: r.blob(o + 2)?,
        username_sealed: r.blob(o + 3)?,
        password_hash: r.text(o + 4)?,
        role: r.text(o + 5)?,
        must_change_password: r.bool(o + 6)?,
        disabled: r.bool(o + 7)?,
        created_at: r.i64(o + 8)?,
        access: r.text(o + 9)?,
        password_changed_at: r.i64(o + 10)?,
        mfa_sealed: r.opt_blob(o + 11)?,
        mfa_enabled: r.bool(o + 12)?,
        mfa_last_step: r.i64(o + 13)?,
        attempts: r.text(o + 14)?,
        last_login_at: r.opt_i64(o + 15)?,
        failed_since_login: r.i64(o + 16)?,
        offboarded_at: r.opt_i64(o + 17)?,
        language: r.opt_text(o + 18)?,
        time_zone: r.opt_text(o + 19)?,
    })
}

pub fn insert_staff(db: &mut dyn Db, s: &StaffRow) -> Result<(), StoreError> {
    db.exec(
        concat!(
            "INSERT INTO staff (",
            staff_cols!(""),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)"
        ),
        &[
            s.id.into(),
            s.tenant_id.into(),
            s.username_hash.as_slice().into(),
            s.username_sealed.as_slice().into(),
            s.password_hash.as_str().into(),
            s.role.as_str().into(),
            s.must_change_password.into(),
            s.disabled.into(),
            s.created_at.into(),
            s.access.as_str().into(),
            s.password_changed_at.into(),
            s.mfa_sealed.as_deref().into(),
            s.mfa_enabled.into(),
            s.mfa_last_step.into(),
            s.attempts.as_str().into(),
            s.last_login_at.into(),
            s.failed_since_login.into(),
            s.offboarded_at.into(),
            s.language.as_deref().into(),
            s.time_zone.as_deref().into(),
        ],
    )?;
    Ok(())
}

/// Sets a staff member's console preferences (sessions see them within
/// the session cache's bound).
pub fn set_preferences(
    db: &mut dyn Db,
    staff_id: Uuid,
    language: Option<&str>,
    time_zone: Option<&str>,
) -> Result<(), StoreError> {
    db.exec(
        "UPDATE staff SET language = $1, time_zone = $2, generation = generation + 1 WHERE id = $3",
        &[language.into(), time_zone.into(), staff_id.into()],
    )?;
    Ok(())
}

pub fn staff_by_username(db: &mut dyn Db, username_hash: &[u8]) -> Result<Option<StaffRow>, StoreError> {
    db.query(concat!("SELECT ", staff_cols!(""), " FROM staff WHERE username_hash = $1"), &[username_hash.into()])?
        .first()
        .map(|r| staff(r, 0))
        .transpose()
}

pub fn staff_by_id(db: &mut dyn Db, id: Uuid) -> Result<Option<StaffRow>, StoreError> {
    db.query(concat!("SELECT ", staff_cols!(""), " FROM staff WHERE id = $1"), &[id.into()])?
        .first()
        .map(|r| staff(r, 0))
        .transpose()
}

/// A tenant's staff, or with `None` every account (system staff first).
pub fn list_staff(db: &mut dyn Db, tenant: Option<Uuid>) -> Result<Vec<StaffRow>, StoreError> {
    let rows = match tenant {
        Some(t) => {
            db.query(concat!("SELECT ", staff_cols!(""), " FROM staff WHERE tenant_id = $1 ORDER BY id"), &[t.into()])?
        }
        None => db.query(concat!("SELECT ", staff_cols!(""), " FROM staff ORDER BY id"), &[])?,
    };
    rows.iter().map(|r| staff(r, 0)).collect()
}

/// System staff only (no tenant).
pub fn list_system_staff(db: &mut dyn Db) -> Result<Vec<StaffRow>, StoreError> {
    let rows = db.query(concat!("SELECT ", staff_cols!(""), " FROM staff WHERE tenant_id IS NULL ORDER BY id"), &[])?;
    rows.iter().map(|r| staff(r, 0)).collect()
}

fn one(n: u64) -> Result<(), StoreError> {
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Sets a new password hash; `must_change` for a generated one.
pub fn set_password(
    db: &mut dyn Db,
    staff_id: Uuid,
    password_hash: &str,
    at: i64,
    must_change: bool,
) -> Result<(), StoreError> {
    one(db.exec(
        "UPDATE staff SET password_hash = $1, must_change_password = $2, password_changed_at = $3 WHERE id = $4",
        &[password_hash.into(), must_change.into(), at.into(), staff_id.into()],
    )?)
}

pub fn insert_password_history(
    db: &mut dyn Db,
    staff_id: Uuid,
    at: i64,
    password_hash: &str,
) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO password_history (staff_id, changed_at, password_hash) VALUES ($1, $2, $3)",
        &[staff_id.into(), at.into(), password_hash.into()],
    )?;
    Ok(())
}

/// The `n` most recent earlier password hashes.
pub fn password_history(db: &mut dyn Db, staff_id: Uuid, n: i64) -> Result<Vec<String>, StoreError> {
    db.query(
        "SELECT password_hash FROM password_history WHERE staff_id = $1 ORDER BY changed_at DESC LIMIT $2",
        &[staff_id.into(), n.into()],
    )?
    .iter()
    .map(|r| r.text(0))
    .collect()
}

/// Every account of a tenant must change its password at next sign-in (AUTH-8).
pub fn force_password_change(db: &mut dyn Db, tenant: Uuid) -> Result<u64, StoreError> {
    db.exec(
        "UPDATE staff SET must_change_password = 1, generation = generation + 1 WHERE tenant_id = $1",
        &[tenant.into()],
    )
}

pub fn set_access(db: &mut dyn Db, staff_id: Uuid, role: &str, access: &str) -> Result<(), StoreError> {
    one(db.exec(
        "UPDATE staff SET role = $1, access = $2, generation = generation + 1 WHERE id = $3",
        &[role.into(), access.into(), staff_id.into()],
    )?)
}

pub fn set_disabled(
    db: &mut dyn Db,
    staff_id: Uuid,
    disabled: bool,
    offboarded_at: Option<i64>,
) -> Result<(), StoreError> {
    one(db.exec(
        "UPDATE staff SET disabled = $1, offboarded_at = $2, generation = generation + 1 WHERE id = $3",
        &[disabled.into(), offboarded_at.into(), staff_id.into()],
    )?)
}

/// Brute-force counters after a failed attempt.
pub fn set_attempts(
    db: &mut dyn Db,
    staff_id: Uuid,
    attempts: &str,
    failed_since_login: i64,
) -> Result<(), StoreError> {
    one(db.exec(
        "UPDATE staff SET attempts = $1, failed_since_login = $2 WHERE id = $3",
        &[attempts.into(), failed_since_login.into(), staff_id.into()],
    )?)
}

/// A successful sign-in: counters reset, time kept.
pub fn record_login(db: &mut dyn Db, staff_id: Uuid, at: i64, attempts: &str) -> Result<(), StoreError> {
    one(db.exec(
        "UPDATE staff SET last_login_at = $1, failed_since_login = 0, attempts = $2 WHERE id = $3",
        &[at.into(), attempts.into(), staff_id.into()],
    )?)
}

/// Sets (or with `None` removes) the sealed TOTP seed.
pub fn set_mfa(db: &mut dyn Db, staff_id: Uuid, sealed: Option<&[u8]>, enabled: bool) -> Result<(), StoreError> {
    one(db.exec(
        "UPDATE staff SET mfa_sealed = $1, mfa_enabled = $2, mfa_last_step = 0, generation = generation + 1 WHERE id = $3",
        &[sealed.into(), enabled.into(), staff_id.into()],
    )?)
}

/// Takes a TOTP time step if it is newer than the last one taken: false if
/// it was used already (a replay), on this server or another.
pub fn take_mfa_step(db: &mut dyn Db, staff_id: Uuid, step: i64) -> Result<bool, StoreError> {
    Ok(db.exec(
        "UPDATE staff SET mfa_last_step = $1 WHERE id = $2 AND mfa_last_step < $1",
        &[step.into(), staff_id.into()],
    )? == 1)
}

pub fn count_staff(db: &mut dyn Db) -> Result<i64, StoreError> {
    db.query("SELECT COUNT(*) FROM staff", &[])?[0].i64(0)
}

pub fn replace_recovery_codes(db: &mut dyn Db, staff_id: Uuid, hashes: &[[u8; 32]]) -> Result<(), StoreError> {
    db.exec("DELETE FROM recovery_codes WHERE staff_id = $1", &[staff_id.into()])?;
    for h in hashes {
        db.exec(
            "INSERT INTO recovery_codes (staff_id, code_hash, used_at) VALUES ($1, $2, NULL)",
            &[staff_id.into(), h.as_slice().into()],
        )?;
    }
    Ok(())
}

pub fn unused_recovery_codes(db: &mut dyn Db, staff_id: Uuid) -> Result<Vec<[u8; 32]>, StoreError> {
    db.query("SELECT code_hash FROM recovery_codes WHERE staff_id = $1 AND used_at IS NULL", &[staff_id.into()])?
        .iter()
        .map(|r| r.blob(0)?.try_into().map_err(|_| StoreError::Corrupt("recovery code hash".into())))
        .collect()
}

/// Consumes a recovery code: false if it was used meanwhile.
pub fn use_recovery_code(db: &mut dyn Db, staff_id: Uuid, hash: &[u8], at: i64) -> Result<bool, StoreError> {
    Ok(db.exec(
        "UPDATE recovery_codes SET used_at = $1 WHERE staff_id = $2 AND code_hash = $3 AND used_at IS NULL",
        &[at.into(), staff_id.into(), hash.into()],
    )? == 1)
}

pub struct SessionRow {
    pub token_hash: Vec<u8>,
    pub id: Uuid,
    pub staff_id: Uuid,
    pub created_at: i64,
    pub expires_at: i64,
    pub last_seen_at: i64,
    pub source: Option<String>,
}

pub fn insert_session(db: &mut dyn Db, s: &SessionRow) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO sessions (token_hash, id, staff_id, created_at, expires_at, last_seen_at, source) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            s.token_hash.as_slice().into(),
            s.id.into(),
            s.staff_id.into(),
            s.created_at.into(),
            s.expires_at.into(),
            s.last_seen_at.into(),
            s.source.as_deref().into(),
        ],
    )?;
    Ok(())
}

fn session_row(r: &Row) -> Result<SessionRow, StoreError> {
    Ok(SessionRow {
        token_hash: r.blob(0)?,
        id: r.text(1)?.parse().unwrap_or(Uuid::nil()),
        staff_id: r.uuid(2)?,
        created_at: r.i64(3)?,
        expires_at: r.i64(4)?,
        last_seen_at: r.i64(5)?,
        source: r.opt_text(6)?,
    })
}

/// The session and its staff member, if the token is known and not expired.
pub fn session(db: &mut dyn Db, token_hash: &[u8], now: i64) -> Result<Option<(SessionRow, StaffRow)>, StoreError> {
    let rows = db.query(
        concat!(
            "SELECT s.token_hash, s.id, s.staff_id, s.created_at, s.expires_at, s.last_seen_at, s.source, ",
            staff_cols!("t."),
            " FROM sessions s JOIN staff t ON t.id = s.staff_id WHERE s.token_hash = $1 AND s.expires_at > $2"
        ),
        &[token_hash.into(), now.into()],
    )?;
    let Some(r) = rows.into_iter().next() else { return Ok(None) };
    debug_assert_eq!(r.0.len(), 7 + STAFF_COLS);
    Ok(Some((session_row(&r)?, staff(&r, 7)?)))
}

pub fn sessions_of(db: &mut dyn Db, staff_id: Uuid, now: i64) -> Result<Vec<SessionRow>, StoreError> {
    db.query(
        "SELECT token_hash, id, staff_id, created_at, expires_at, last_seen_at, source FROM sessions \
         WHERE staff_id = $1 AND expires_at > $2 ORDER BY created_at",
        &[staff_id.into(), now.into()],
    )?
    .iter()
    .map(session_row)
    .collect()
}

/// Keeps a session's last activity (written at most once a minute per session).
pub fn touch_session(db: &mut dyn Db, token_hash: &[u8], at: i64) -> Result<(), StoreError> {
    db.exec(
        "UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2 AND last_seen_at < $1",
        &[at.into(), token_hash.into()],
    )?;
    Ok(())
}

pub fn delete_session(db: &mut dyn Db, token_hash: &[u8]) -> Result<(), StoreError> {
    db.exec("DELETE FROM sessions WHERE token_hash = $1", &[token_hash.into()])?;
    Ok(())
}

pub fn delete_session_by_id(db: &mut dyn Db, staff_id: Uuid, id: Uuid) -> Result<Vec<u8>, StoreError> {
    let rows =
        db.query("SELECT token_hash FROM sessions WHERE staff_id = $1 AND id = $2", &[staff_id.into(), id.into()])?;
    let Some(r) = rows.first() else { return Err(StoreError::NotFound) };
    let h = r.blob(0)?;
    db.exec("DELETE FROM sessions WHERE token_hash = $1", &[h.as_slice().into()])?;
    Ok(h)
}

pub fn delete_sessions_of(db: &mut dyn Db, staff_id: Uuid) -> Result<u64, StoreError> {
    db.exec("DELETE FROM sessions WHERE staff_id = $1", &[staff_id.into()])
}

pub fn delete_sessions_of_tenant(db: &mut dyn Db, tenant: Uuid) -> Result<u64, StoreError> {
    db.exec("DELETE FROM sessions WHERE staff_id IN (SELECT id FROM staff WHERE tenant_id = $1)", &[tenant.into()])
}

/// The stored policy of a tenant (`""`: system staff's), as TOML.
pub fn get_policy(db: &mut dyn Db, scope: &str) -> Result<Option<(String, i64)>, StoreError> {
    db.query("SELECT body, updated_at FROM policies WHERE tenant_id = $1", &[scope.into()])?
        .first()
        .map(|r| Ok((r.text(0)?, r.i64(1)?)))
        .transpose()
}

pub fn put_policy(db: &mut dyn Db, scope: &str, body: &str, at: i64) -> Result<(), StoreError> {
    if db.exec(
        "UPDATE policies SET body = $1, updated_at = $2 WHERE tenant_id = $3",
        &[body.into(), at.into(), scope.into()],
    )? == 0
    {
        db.exec(
            "INSERT INTO policies (tenant_id, body, updated_at) VALUES ($1, $2, $3)",
            &[scope.into(), body.into(), at.into()],
        )?;
    }
    Ok(())
}

pub struct ApiKeyRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub key_hash: Vec<u8>,
    pub name: String,
    pub access: String,
    /// The service account the key belongs to.
    pub created_by: Uuid,
    pub created_at: i64,
    pub expires_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

fn api_key(r: &Row) -> Result<ApiKeyRow, StoreError> {
    Ok(ApiKeyRow {
        tenant_id: r.uuid(0)?,
        id: r.uuid(1)?,
        key_hash: r.blob(2)?,
        name: r.text(3)?,
        access: r.text(4)?,
        created_by: r.uuid(5)?,
        created_at: r.i64(6)?,
        expires_at: r.i64(7)?,
        last_used_at: r.opt_i64(8)?,
        revoked_at: r.opt_i64(9)?,
    })
}

pub fn insert_api_key(db: &mut dyn Db, k: &ApiKeyRow) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO api_keys (tenant_id, id, key_hash, name, access, created_by, created_at, expires_at, last_used_at, revoked_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL)",
        &[
            k.tenant_id.into(),
            k.id.into(),
            k.key_hash.as_slice().into(),
            k.name.as_str().into(),
            k.access.as_str().into(),
            k.created_by.into(),
            k.created_at.into(),
            k.expires_at.into(),
        ],
    )?;
    Ok(())
}

/// A key by its hash, with its account.
pub fn api_key_by_hash(db: &mut dyn Db, hash: &[u8]) -> Result<Option<(ApiKeyRow, StaffRow)>, StoreError> {
    let rows = db.query(
        concat!(
            "SELECT k.tenant_id, k.id, k.key_hash, k.name, k.access, k.created_by, k.created_at, k.expires_at, k.last_used_at, k.revoked_at, ",
            staff_cols!("t."),
            " FROM api_keys k JOIN staff t ON t.id = k.created_by WHERE k.key_hash = $1"
        ),
        &[hash.into()],
    )?;
    let Some(r) = rows.first() else { return Ok(None) };
    Ok(Some((api_key(r)?, staff(r, 10)?)))
}

pub fn list_api_keys(db: &mut dyn Db, tenant: Uuid) -> Result<Vec<ApiKeyRow>, StoreError> {
    db.query(
        "SELECT tenant_id, id, key_hash, name, access, created_by, created_at, expires_at, last_used_at, revoked_at \
         FROM api_keys WHERE tenant_id = $1 ORDER BY id",
        &[tenant.into()],
    )?
    .iter()
    .map(api_key)
    .collect()
}

pub fn revoke_api_key(db: &mut dyn Db, tenant: Uuid, id: Uuid, at: i64) -> Result<(), StoreError> {
    one(db.exec(
        "UPDATE api_keys SET revoked_at = $1 WHERE tenant_id = $2 AND id = $3 AND revoked_at IS NULL",
        &[at.into(), tenant.into(), id.into()],
    )?)
}

/// Revokes every key of an account (suspension, offboarding).
pub fn revoke_api_keys_of(db: &mut dyn Db, staff_id: Uuid, at: i64) -> Result<u64, StoreError> {
    db.exec(
        "UPDATE api_keys SET revoked_at = $1 WHERE created_by = $2 AND revoked_at IS NULL",
        &[at.into(), staff_id.into()],
    )
}

pub fn touch_api_key(db: &mut dyn Db, hash: &[u8], at: i64) -> Result<(), StoreError> {
    db.exec("UPDATE api_keys SET last_used_at = $1 WHERE key_hash = $2", &[at.into(), hash.into()])?;
    Ok(())
}

pub struct ApprovalRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub action: String,
    /// The stored command (ids and settings, never a personal value).
    pub command: String,
    pub requested_by: Uuid,
    pub requested_at: i64,
    pub expires_at: i64,
    pub state: String,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<i64>,
    pub reason: Option<String>,
}

fn approval(r: &Row) -> Result<ApprovalRow, StoreError> {
    Ok(ApprovalRow {
        tenant_id: r.uuid(0)?,
        id: r.uuid(1)?,
        action: r.text(2)?,
        command: r.text(3)?,
        requested_by: r.uuid(4)?,
        requested_at: r.i64(5)?,
        expires_at: r.i64(6)?,
        state: r.text(7)?,
        decided_by: r.opt_text(8)?.and_then(|s| s.parse().ok()),
        decided_at: r.opt_i64(9)?,
        reason: r.opt_text(10)?,
    })
}

pub fn insert_approval(db: &mut dyn Db, a: &ApprovalRow) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO approvals (tenant_id, id, action, command, requested_by, requested_at, expires_at, state, decided_by, decided_at, reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL, NULL)",
        &[
            a.tenant_id.into(),
            a.id.into(),
            a.action.as_str().into(),
            a.command.as_str().into(),
            a.requested_by.into(),
            a.requested_at.into(),
            a.expires_at.into(),
            a.state.as_str().into(),
        ],
    )?;
    Ok(())
}

pub fn get_approval(db: &mut dyn Db, tenant: Uuid, id: Uuid) -> Result<Option<ApprovalRow>, StoreError> {
    db.query(
        "SELECT tenant_id, id, action, command, requested_by, requested_at, expires_at, state, decided_by, decided_at, reason \
         FROM approvals WHERE tenant_id = $1 AND id = $2",
        &[tenant.into(), id.into()],
    )?
    .first()
    .map(approval)
    .transpose()
}

pub fn list_approvals(db: &mut dyn Db, tenant: Uuid) -> Result<Vec<ApprovalRow>, StoreError> {
    db.query(
        "SELECT tenant_id, id, action, command, requested_by, requested_at, expires_at, state, decided_by, decided_at, reason \
         FROM approvals WHERE tenant_id = $1 ORDER BY id DESC LIMIT 1000",
        &[tenant.into()],
    )?
    .iter()
    .map(approval)
    .collect()
}

/// Moves a pending approval to `state`: false if it was not pending any more.
pub fn decide_approval(
    db: &mut dyn Db,
    tenant: Uuid,
    id: Uuid,
    state: &str,
    by: Uuid,
    at: i64,
    reason: Option<&str>,
) -> Result<bool, StoreError> {
    Ok(db.exec(
        "UPDATE approvals SET state = $1, decided_by = $2, decided_at = $3, reason = $4 WHERE tenant_id = $5 AND id = $6 AND state = 'pending'",
        &[state.into(), by.into(), at.into(), reason.into(), tenant.into(), id.into()],
    )? == 1)
}

/// Marks an approved export as collected: false if it was collected already.
pub fn collect_approval(db: &mut dyn Db, tenant: Uuid, id: Uuid) -> Result<bool, StoreError> {
    Ok(db.exec(
        "UPDATE approvals SET state = 'collected' WHERE tenant_id = $1 AND id = $2 AND state = 'approved'",
        &[tenant.into(), id.into()],
    )? == 1)
}

pub fn insert_offboarding(
    db: &mut dyn Db,
    staff_id: Uuid,
    item: &str,
    by: Uuid,
    at: i64,
    note: Option<&str>,
) -> Result<(), StoreError> {
    db.exec(
        "INSERT INTO offboarding (staff_id, item, done_by, done_at, note) VALUES ($1, $2, $3, $4, $5)",
        &[staff_id.into(), item.into(), by.into(), at.into(), note.into()],
    )?;
    Ok(())
}

/// (item, done by, done at, note) of an account's offboarding.
/// One offboarding item: (item, done by, done at, note).
pub type OffboardingItem = (String, Uuid, i64, Option<String>);

/// (account, item) of every offboarding item recorded in a tenant.
pub fn offboarding_of_tenant(db: &mut dyn Db, tenant: Uuid) -> Result<Vec<(Uuid, String)>, StoreError> {
    db.query(
        "SELECT o.staff_id, o.item FROM offboarding o JOIN staff s ON s.id = o.staff_id \
         WHERE s.tenant_id = $1 ORDER BY o.staff_id, o.item",
        &[tenant.into()],
    )?
    .iter()
    .map(|r| Ok((r.uuid(0)?, r.text(1)?)))
    .collect()
}

pub fn offboarding_of(db: &mut dyn Db, staff_id: Uuid) -> Result<Vec<OffboardingItem>, StoreError> {
    db.query(
        "SELECT item, done_by, done_at, note FROM offboarding WHERE staff_id = $1 ORDER BY item",
        &[staff_id.into()],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.uuid(1)?, r.i64(2)?, r.opt_text(3)?)))
    .collect()
}

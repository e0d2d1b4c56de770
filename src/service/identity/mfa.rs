//! TOTP second factor (AUTH-4): enrolment gives a new seed as an
//! `otpauth://` URI and a QR code (SVG); a code confirms it and switches
//! MFA on, and ten one-time recovery codes are returned, once. Seeds are
//! sealed with the system keys like personal data; recovery codes are kept
//! as SHA-256 only. Using a recovery code does not switch MFA off.

use crate::crypto::recovery;
use crate::crypto::totp::{self, TotpSecret};
use crate::domain::access::Action;
use crate::domain::Invalid;
use crate::service::{Actor, Result, ServiceError, Vault};
use crate::store::queries;

/// An enrolment begun: the seed, shown once, to put in an authenticator app.
pub struct Enrolment {
    pub otpauth_uri: String,
    pub secret_base32: String,
    pub qr_svg: String,
}

impl Vault {
    /// Starts (or restarts) TOTP enrolment. Until confirmed, MFA stays off
    /// (or, if it was on, stays on with the old seed: re-enrolment needs a
    /// reset by an administrator).
    pub async fn mfa_enrol(&self, actor: &Actor) -> Result<Enrolment> {
        let call = self.call(actor, Action::MfaEnrol, None);
        self.run(
            call,
            |_| async {
                let id = actor.staff_id;
                let staff = self.own_account(actor).await?;
                if staff.mfa_enabled {
                    return Err(ServiceError::Conflict(
                        "a second factor is enrolled already; an administrator can reset it",
                    ));
                }
                let secret = TotpSecret::generate();
                let username = self.open_username(&staff)?;
                let issuer = self.settings.audit_origin.split('/').next().unwrap_or("varuh").to_string();
                let uri = secret.otpauth_uri(&format!("varuh {issuer}"), &username);
                let sealed = self.system.seal(super::MFA_CONTEXT, secret.as_bytes());
                self.write_recorded(move |db, _| queries::set_mfa(db, id, Some(&sealed), false)).await?;
                Ok(Enrolment { qr_svg: totp::qr_svg(&uri), otpauth_uri: uri, secret_base32: secret.base32() })
            },
            |_, _| {},
        )
        .await
    }

    /// Confirms enrolment with a code from the app; returns the recovery codes (shown once).
    pub async fn mfa_confirm(&self, actor: &Actor, code: &str) -> Result<Vec<String>> {
        let call = self.call(actor, Action::MfaConfirm, None);
        self.run(
            call,
            |_| async {
                let id = actor.staff_id;
                let staff = self.own_account(actor).await?;
                if staff.mfa_enabled {
                    return Err(ServiceError::Conflict("a second factor is enrolled already"));
                }
                if staff.mfa_sealed.is_none() {
                    return Err(ServiceError::Conflict("start enrolment first (POST /v1/auth/mfa/enrol)"));
                }
                let secret = self.mfa_secret(&staff)?;
                let Some(step) = secret.verify(code, self.clock.now_ms(), None) else {
                    return Err(Invalid::new(
                        "code",
                        "does not match the authenticator app (check the device's clock)",
                    )
                    .into());
                };
                let codes = recovery::generate(recovery::DEFAULT_COUNT);
                let hashes: Vec<[u8; 32]> = codes.iter().map(|c| recovery::hash(c)).collect();
                let sealed = staff.mfa_sealed.clone();
                self.write_recorded(move |db, _| {
                    queries::set_mfa(db, id, sealed.as_deref(), true)?;
                    queries::take_mfa_step(db, id, step)?;
                    queries::replace_recovery_codes(db, id, &hashes)
                })
                .await?;
                self.sessions.forget_staff(id);
                Ok(codes)
            },
            |_, _| {},
        )
        .await
    }

    /// Replaces one's recovery codes with ten new ones (shown once).
    pub async fn regenerate_recovery_codes(&self, actor: &Actor) -> Result<Vec<String>> {
        let call = self.call(actor, Action::RecoveryRegenerate, None);
        self.run(
            call,
            |_| async {
                let id = actor.staff_id;
                let staff = self.own_account(actor).await?;
                if !staff.mfa_enabled {
                    return Err(ServiceError::Conflict("no second factor is enrolled"));
                }
                let codes = recovery::generate(recovery::DEFAULT_COUNT);
                let hashes: Vec<[u8; 32]> = codes.iter().map(|c| recovery::hash(c)).collect();
                self.write_recorded(move |db, _| queries::replace_recovery_codes(db, id, &hashes)).await?;
                Ok(codes)
            },
            |_, _| {},
        )
        .await
    }
}

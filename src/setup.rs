//! Start-up: the data directory, the master key, the store, and the first
//! administrator. Used by `varuh init`, `varuh serve` and the tests, so that
//! all three start varuh the same way.

use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::MasterKey;
use crate::service::{Settings, Vault};
use crate::store::{Location, Store};
use anyhow::Context;
use std::path::Path;
use std::sync::Arc;

/// The first administrator's login name.
pub const FIRST_ADMIN: &str = "admin";

/// Whether start-up may create what is missing.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Create {
    /// Never: a missing store or key is an error (a typo must not make a new store).
    No,
    /// Only the default embedded store inside the data directory (`varuh serve` on a fresh machine).
    IfDefault,
    /// Yes (`varuh init`).
    Yes,
}

pub struct Opened {
    pub vault: Arc<Vault>,
    /// Login name and one-time password of a first administrator created now.
    pub first_admin: Option<(String, String)>,
}

fn create_dir_private(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

pub fn master_key(cfg: &Config, may_create: bool) -> anyhow::Result<MasterKey> {
    if let Ok(k) = std::env::var("VARUH_MASTER_KEY") {
        return MasterKey::parse(&k).context("VARUH_MASTER_KEY");
    }
    let path = cfg.master_key_path();
    if path.exists() {
        return Ok(MasterKey::load_file(&path)?);
    }
    if !may_create {
        anyhow::bail!("no master key at {} and VARUH_MASTER_KEY is not set (run `varuh init`)", path.display());
    }
    create_dir_private(&cfg.data_dir)?;
    Ok(MasterKey::create_file(&path)?)
}

/// Opens (and, as allowed, creates) everything `varuh serve` needs.
pub async fn open(cfg: &Config, create: Create, clock: Clock) -> anyhow::Result<Opened> {
    let may_create = match create {
        Create::No => false,
        Create::Yes => true,
        Create::IfDefault => cfg.database_url.is_none(),
    };
    let master = master_key(cfg, may_create)?;
    let location = Location::parse(&cfg.database_url())?;
    if let Location::Sqlite(p) = &location {
        if may_create {
            if let Some(parent) = p.parent().filter(|p| !p.as_os_str().is_empty()) {
                if !parent.exists() {
                    create_dir_private(parent)?;
                }
            }
        }
    }
    let (readers, writers) = (cfg.readers, cfg.writers);
    let store = tokio::task::spawn_blocking(move || Store::open(&location, may_create, readers, writers)).await??;
    crate::crypto::set_argon2_params(cfg.argon2_memory_kib, cfg.argon2_iterations, cfg.argon2_parallelism)
        .map_err(|_| anyhow::anyhow!("the Argon2id parameters are not valid"))?;
    let default_policy = Arc::new(cfg.default_policy()?);
    let backup = backup_settings(cfg)?;
    let pending = store.read_latest(|db| crate::store::queries::job_state(db, "restore")).await?;
    if let Some((_, _, Some(state))) = pending {
        anyhow::bail!(
            "a restore into this store has not finished ({state}): run `varuh backup restore` again to finish it before the store serves anyone"
        );
    }
    let vault = Vault::new(
        store,
        master,
        clock,
        Settings {
            default_policy,
            audit_origin: cfg.audit_origin.clone(),
            audit_publish_file: cfg.audit_publish_file.clone(),
            audit_publish_webhook: cfg.audit_publish_webhook.clone(),
            smtp_url: cfg.smtp_url.clone(),
            smtp_from: cfg.smtp_from.clone(),
            backup,
            alerts: crate::service::alerts::AlertSettings {
                webhook: cfg.alert_webhook.clone(),
                emails: cfg.alert_emails.clone(),
            },
            metrics_token: cfg.metrics_token.clone(),
            operator_name: cfg.operator_name.clone(),
            operator_contact: cfg.operator_contact.clone(),
            tls: cfg.tls_cert.is_some(),
            record_cache_bytes: cfg.record_cache_mb << 20,
            schedule: crate::service::Schedule {
                backup_seconds: if cfg.backup_destinations.is_empty() { 0 } else { cfg.backup_seconds },
                retention_seconds: cfg.retention_seconds,
                audit_verify_seconds: cfg.audit_verify_seconds,
            },
        },
    );
    if cfg.audit_verify_seconds > 0 {
        Vault::audit_verification_on_schedule(&vault, std::time::Duration::from_secs(cfg.audit_verify_seconds));
    }
    Vault::ship_journal_on_kick(&vault);
    if cfg.backup_seconds > 0 && !cfg.backup_destinations.is_empty() {
        Vault::backups_on_schedule(&vault, std::time::Duration::from_secs(cfg.backup_seconds));
    }
    if cfg.notify_seconds > 0 {
        Vault::notices_on_schedule(&vault, std::time::Duration::from_secs(cfg.notify_seconds));
    }
    if cfg.retention_seconds > 0 {
        Vault::retention_on_schedule(&vault, std::time::Duration::from_secs(cfg.retention_seconds));
    }
    if cfg.audit_head_seconds > 0 {
        Vault::heads_on_schedule(&vault, std::time::Duration::from_secs(cfg.audit_head_seconds));
    }
    let first_admin = vault
        .bootstrap_admin(FIRST_ADMIN)
        .await
        .map_err(|e| anyhow::anyhow!("cannot create the first administrator: {e}"))?
        .map(|(info, pw)| (info.username, pw));
    Ok(Opened { vault, first_admin })
}

/// Writes a self-signed certificate and key for `names` into the data directory.
pub fn self_signed_tls(cfg: &Config, names: Vec<String>) -> anyhow::Result<(std::path::PathBuf, std::path::PathBuf)> {
    let dir = cfg.data_dir.join("tls");
    create_dir_private(&dir)?;
    let ck = rcgen::generate_simple_self_signed(names).context("cannot make a certificate")?;
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, ck.cert.pem())?;
    write_private(&key, ck.key_pair.serialize_pem().as_bytes())?;
    Ok((cert, key))
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o.open(path).with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(bytes)?;
    Ok(())
}

/// The backup settings, with each destination and recipient checked.
pub fn backup_settings(cfg: &Config) -> anyhow::Result<crate::service::backup::BackupSettings> {
    let destinations = cfg
        .backup_destinations
        .iter()
        .map(|d| crate::backup::destination::Destination::parse(d))
        .collect::<anyhow::Result<Vec<_>>>()?;
    crate::backup::recipients(&cfg.backup_recipients)?;
    if !destinations.is_empty() && cfg.backup_recipients.is_empty() {
        anyhow::bail!(
            "backup_destinations are set but backup_recipients is empty: backups are always encrypted (age1…)"
        );
    }
    Ok(crate::service::backup::BackupSettings {
        destinations,
        recipients: cfg.backup_recipients.clone(),
        keep_daily: cfg.backup_keep_daily,
        keep_monthly: cfg.backup_keep_monthly,
        spool: cfg.data_dir.clone(),
    })
}

//! Configuration: a TOML file (`<data_dir>/varuh.toml` or `--config`), each
//! key overridable by a `VARUH_<KEY>` environment variable. `varuh config
//! check` prints the effective settings (without secrets) or what is wrong.

use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the key file, TLS files and the embedded database live.
    pub data_dir: PathBuf,
    /// `sqlite:///path/varuh.db` or `postgres://user@host/db`; default: SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// Address to listen on. Without TLS only loopback addresses are accepted.
    pub listen: String,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// Reader connections of the store (SQLite: pooled; PostgreSQL: one thread each).
    pub readers: usize,
    /// Writer connections on PostgreSQL, each committing its own batches
    /// (SQLite always has one writer).
    pub writers: usize,
    /// PostgreSQL: MiB of records each server keeps in memory for reads by
    /// id (0: none). Dropped by the audit trail's events, whichever server
    /// wrote them (docs/architecture.md, "Caches and their bounds").
    pub record_cache_mb: usize,
    /// `text` or `json`.
    pub log_format: String,
    /// Also write logs to this file (appended).
    pub log_file: Option<PathBuf>,
    /// The organisation that runs this server — for a processor serving
    /// controller tenants, the processor — and its contact (address,
    /// e-mail, DPO), as the processor's record (Art. 30(2)) names them.
    pub operator_name: Option<String>,
    pub operator_contact: Option<String>,
    /// The origin line of audit checkpoints: a name unique to this log.
    pub audit_origin: String,
    /// Append every signed audit tree head to this file (JSON Lines), kept
    /// where the database's administrators cannot rewrite it.
    pub audit_publish_file: Option<PathBuf>,
    /// POST every signed audit tree head to this http(s):// URL.
    pub audit_publish_webhook: Option<String>,
    /// Make a signed tree head this often when the log has grown (0: never
    /// on a schedule, only on demand and at shutdown).
    pub audit_head_seconds: u64,
    /// The SMTP relay of varuh's mail (notices to recipients, reminders):
    /// `smtp://[user:pass@]host:port[?tls=required]` or `smtps://…`.
    pub smtp_url: Option<String>,
    /// The sender address of varuh's mail.
    pub smtp_from: String,
    /// Send due notices (Art. 19, reminders) this often (0: never).
    pub notify_seconds: u64,
    /// Run the retention sweep this often (0: never; `varuh serve` only).
    pub retention_seconds: u64,
    /// Where backups and the erasure journal go: absolute directories
    /// (`file:///…`) and S3-compatible storage (`s3://bucket/prefix`,
    /// `?endpoint=…&region=…`; credentials from `AWS_ACCESS_KEY_ID` and
    /// `AWS_SECRET_ACCESS_KEY`). `VARUH_BACKUP_DESTINATIONS`: comma-separated.
    pub backup_destinations: Vec<String>,
    /// The age X25519 recipients (`age1…`) every backup is encrypted to.
    pub backup_recipients: Vec<String>,
    /// The age identity file that opens backups (`verify`, `restore`).
    pub backup_identity_file: Option<PathBuf>,
    /// Make a backup this often (0: never on a schedule); needs destinations.
    pub backup_seconds: u64,
    /// Pruning: keep the newest backup of each of the last N days and M months.
    pub backup_keep_daily: usize,
    pub backup_keep_monthly: usize,
    /// Alerts (AVL-4: failed backups, retention runs and audit
    /// verifications, lockouts, bulk reads) are POSTed here as JSON…
    pub alert_webhook: Option<String>,
    /// …and mailed to these addresses (through `smtp_url`).
    pub alert_emails: Vec<String>,
    /// Verify the whole audit trail this often (0: never on a schedule).
    pub audit_verify_seconds: u64,
    /// `GET /metrics` (Prometheus) answers only with `Authorization: Bearer
    /// <this>`; without it, `/metrics` is off.
    pub metrics_token: Option<String>,
    /// The security policy (TOML, see `examples/policies/`) of tenants and
    /// system staff that have none stored; default: the recommended policy.
    pub policy_file: Option<PathBuf>,
    /// Argon2id parameters of new password hashes (OWASP: 19456 KiB, 2, 1).
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("varuh-data"),
            database_url: None,
            listen: "127.0.0.1:8080".into(),
            tls_cert: None,
            tls_key: None,
            max_body_bytes: 1024 * 1024,
            readers: 4,
            writers: 2,
            record_cache_mb: crate::service::DEFAULT_RECORD_CACHE_MB,
            log_format: "text".into(),
            log_file: None,
            operator_name: None,
            operator_contact: None,
            audit_origin: "varuh.local/audit".into(),
            audit_publish_file: None,
            audit_publish_webhook: None,
            audit_head_seconds: 60,
            smtp_url: None,
            smtp_from: "varuh@localhost".into(),
            notify_seconds: 5,
            retention_seconds: 86_400,
            backup_destinations: Vec::new(),
            backup_recipients: Vec::new(),
            backup_identity_file: None,
            backup_seconds: 86_400,
            backup_keep_daily: 7,
            backup_keep_monthly: 12,
            alert_webhook: None,
            alert_emails: Vec::new(),
            audit_verify_seconds: 86_400,
            metrics_token: None,
            policy_file: None,
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
        }
    }
}

impl Config {
    /// Loads the file (if any), then applies `VARUH_*` overrides.
    pub fn load(file: Option<&Path>, data_dir: Option<&Path>) -> anyhow::Result<Config> {
        let dir = data_dir
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("VARUH_DATA_DIR").map(PathBuf::from))
            .unwrap_or_else(|| Config::default().data_dir);
        let path = file.map(Path::to_path_buf).unwrap_or_else(|| dir.join("varuh.toml"));
        let mut cfg = if path.exists() {
            let text =
                std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
            toml::from_str::<Config>(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        } else if file.is_some() {
            anyhow::bail!("config file {} does not exist", path.display());
        } else {
            Config::default()
        };
        if file.is_none() || data_dir.is_some() {
            cfg.data_dir = dir;
        }
        cfg.apply_env()?;
        if let Some(d) = data_dir {
            cfg.data_dir = d.to_path_buf();
        }
        cfg.check()?;
        Ok(cfg)
    }

    fn apply_env(&mut self) -> anyhow::Result<()> {
        let var = |k: &str| std::env::var(format!("VARUH_{k}")).ok().filter(|v| !v.is_empty());
        let num =
            |k: &str, v: String| v.parse::<u64>().map_err(|_| anyhow::anyhow!("VARUH_{k} must be a whole number"));
        if let Some(v) = var("DATA_DIR") {
            self.data_dir = v.into();
        }
        if let Some(v) = var("DATABASE_URL") {
            self.database_url = Some(v);
        }
        if let Some(v) = var("LISTEN") {
            self.listen = v;
        }
        if let Some(v) = var("TLS_CERT") {
            self.tls_cert = Some(v.into());
        }
        if let Some(v) = var("TLS_KEY") {
            self.tls_key = Some(v.into());
        }
        if let Some(v) = var("MAX_BODY_BYTES") {
            self.max_body_bytes = num("MAX_BODY_BYTES", v)? as usize;
        }
        if let Some(v) = var("WRITERS") {
            self.writers = num("WRITERS", v)? as usize;
        }
        if let Some(v) = var("RECORD_CACHE_MB") {
            self.record_cache_mb = num("RECORD_CACHE_MB", v)? as usize;
        }
        if let Some(v) = var("READERS") {
            self.readers = num("READERS", v)? as usize;
        }
        if let Some(v) = var("LOG_FORMAT") {
            self.log_format = v;
        }
        if let Some(v) = var("LOG_FILE") {
            self.log_file = Some(v.into());
        }
        if let Some(v) = var("OPERATOR_NAME") {
            self.operator_name = Some(v);
        }
        if let Some(v) = var("OPERATOR_CONTACT") {
            self.operator_contact = Some(v);
        }
        if let Some(v) = var("AUDIT_ORIGIN") {
            self.audit_origin = v;
        }
        if let Some(v) = var("AUDIT_PUBLISH_FILE") {
            self.audit_publish_file = Some(v.into());
        }
        if let Some(v) = var("AUDIT_PUBLISH_WEBHOOK") {
            self.audit_publish_webhook = Some(v);
        }
        if let Some(v) = var("POLICY_FILE") {
            self.policy_file = Some(v.into());
        }
        let small = |k: &str, v: String| {
            num(k, v).and_then(|n| u32::try_from(n).map_err(|_| anyhow::anyhow!("VARUH_{k} is too large")))
        };
        if let Some(v) = var("ARGON2_MEMORY_KIB") {
            self.argon2_memory_kib = small("ARGON2_MEMORY_KIB", v)?;
        }
        if let Some(v) = var("ARGON2_ITERATIONS") {
            self.argon2_iterations = small("ARGON2_ITERATIONS", v)?;
        }
        if let Some(v) = var("ARGON2_PARALLELISM") {
            self.argon2_parallelism = small("ARGON2_PARALLELISM", v)?;
        }
        if let Some(v) = var("AUDIT_HEAD_SECONDS") {
            self.audit_head_seconds = num("AUDIT_HEAD_SECONDS", v)?;
        }
        if let Some(v) = var("SMTP_URL") {
            self.smtp_url = Some(v);
        }
        if let Some(v) = var("SMTP_FROM") {
            self.smtp_from = v;
        }
        if let Some(v) = var("NOTIFY_SECONDS") {
            self.notify_seconds = num("NOTIFY_SECONDS", v)?;
        }
        if let Some(v) = var("RETENTION_SECONDS") {
            self.retention_seconds = num("RETENTION_SECONDS", v)?;
        }
        let list = |v: String| v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
        if let Some(v) = var("BACKUP_DESTINATIONS") {
            self.backup_destinations = list(v);
        }
        if let Some(v) = var("BACKUP_RECIPIENTS") {
            self.backup_recipients = list(v);
        }
        if let Some(v) = var("BACKUP_IDENTITY_FILE") {
            self.backup_identity_file = Some(v.into());
        }
        if let Some(v) = var("ALERT_WEBHOOK") {
            self.alert_webhook = Some(v);
        }
        if let Some(v) = var("ALERT_EMAILS") {
            self.alert_emails = list(v);
        }
        if let Some(v) = var("AUDIT_VERIFY_SECONDS") {
            self.audit_verify_seconds = num("AUDIT_VERIFY_SECONDS", v)?;
        }
        if let Some(v) = var("METRICS_TOKEN") {
            self.metrics_token = Some(v);
        }
        if let Some(v) = var("BACKUP_SECONDS") {
            self.backup_seconds = num("BACKUP_SECONDS", v)?;
        }
        Ok(())
    }

    /// Checks the settings that can be checked without touching anything.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            anyhow::bail!("tls_cert and tls_key must be given together");
        }
        let addr: std::net::SocketAddr = self
            .listen
            .parse()
            .map_err(|_| anyhow::anyhow!("listen must be an address:port such as 127.0.0.1:8080"))?;
        if self.tls_cert.is_none() && !addr.ip().is_loopback() {
            anyhow::bail!("without TLS varuh listens on loopback only: set tls_cert and tls_key (varuh init --tls makes a self-signed pair) or listen on 127.0.0.1");
        }
        if self.max_body_bytes < 1024 {
            anyhow::bail!("max_body_bytes must be at least 1024");
        }
        if !(1..=64).contains(&self.readers) {
            anyhow::bail!("readers must be 1-64");
        }
        if !(1..=32).contains(&self.writers) {
            anyhow::bail!("writers must be 1-32");
        }
        if self.record_cache_mb > 1 << 20 {
            anyhow::bail!("record_cache_mb must be 0-1048576 (MiB)");
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            anyhow::bail!("log_format must be text or json");
        }
        crate::outbound::Mailer::new(self.smtp_url.as_deref().unwrap_or("smtp://localhost"), &self.smtp_from)
            .map_err(|e| anyhow::anyhow!(e))?;
        if let Some(u) = &self.audit_publish_webhook {
            crate::audit::publish::check_webhook(u).map_err(|e| anyhow::anyhow!(e))?;
        }
        if self.argon2_memory_kib < 8 * self.argon2_parallelism.max(1) || self.argon2_memory_kib > 4 * 1024 * 1024 {
            anyhow::bail!("argon2_memory_kib must be at least 8 × argon2_parallelism and at most 4194304");
        }
        if !(1..=64).contains(&self.argon2_iterations) || !(1..=16).contains(&self.argon2_parallelism) {
            anyhow::bail!("argon2_iterations must be 1-64 and argon2_parallelism 1-16");
        }
        if let Some(p) = &self.policy_file {
            self.default_policy().map_err(|e| anyhow::anyhow!("policy_file {}: {e}", p.display()))?;
        }
        if let Some(u) = &self.database_url {
            if let crate::store::Location::Postgres(url) =
                crate::store::Location::parse(u).map_err(|e| anyhow::anyhow!("database_url: {e}"))?
            {
                // sslmode and sslrootcert are read (and the roots loaded) here.
                crate::store::postgres::Target::parse(&url).map_err(|e| anyhow::anyhow!("database_url: {e}"))?;
            }
        }
        Ok(())
    }

    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", crate::store::default_sqlite(&self.data_dir).display()))
    }

    /// The policy of tenants without their own: `policy_file`, or the recommended one.
    pub fn default_policy(&self) -> anyhow::Result<crate::domain::policy::Policy> {
        let Some(p) = &self.policy_file else { return Ok(crate::domain::policy::Policy::recommended()) };
        let text = std::fs::read_to_string(p).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", p.display()))?;
        let policy = crate::domain::policy::Policy::from_toml(&text).map_err(|e| anyhow::anyhow!("{e}"))?;
        policy.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(policy)
    }

    pub fn master_key_path(&self) -> PathBuf {
        self.data_dir.join("master.key")
    }
}

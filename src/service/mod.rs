//! The service layer: one function per use case ("create tenant", "store a
//! record", "look up a subject"), grouped by capability: `identity`
//! (sign-in, sessions, staff), `tenancy` (tenants, collections), `records`
//! (subjects and records), `access_report` (Art. 15), `subject_identity` (merging and splitting
//! subjects), `requests` (the data-subject request register), `audit` (the
//! trail). Every request from any face
//! (HTTP, CLI, console) goes through here, and every use case enters
//! through `kernel` (`Vault::run`): it names its action, the kernel checks
//! tenant and permission against `domain::access`, and the use case runs
//! inside its audit record (`audit.rs`), durable before it returns. The use
//! case validates with `domain`, seals or opens with `crypto`, and reads or
//! writes through `store`.

pub mod access_report;
pub mod alerts;
pub mod approvals;
pub mod audit;
pub mod backup;
pub mod breach_notices;
pub mod breach_scope;
pub mod breaches;
pub mod consent;
pub mod disclosures;
pub mod documents;
pub mod erasure;
pub mod holds;
pub mod identity;
pub mod import;
pub mod kernel;
pub mod limits;
mod placing;
pub mod processors;
pub mod records;
pub mod reminders;
pub mod requests;
pub mod retention;
pub mod ropa;
pub mod staff_register;
pub mod subject_identity;
pub mod tenancy;
pub mod toms;

use crate::clock::Clock;
use crate::crypto::{MasterKey, TenantKeys};
use crate::domain::access::Access;
use crate::domain::schema::CollectionDef;
use crate::domain::{Invalid, Role};
use crate::store::{queries, Store, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use uuid::Uuid;

/// What can go wrong in a use case. Messages never hold personal values.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("authentication required")]
    Unauthenticated,
    #[error("invalid credentials")]
    BadCredentials,
    #[error("{0}")]
    Forbidden(String),
    /// A generated password must be changed before anything else (AUTH-3).
    #[error("change your password before anything else")]
    PasswordChangeRequired,
    /// The policy requires a second factor: enrol it before anything else.
    #[error("enrol a second factor before anything else")]
    MfaEnrolmentRequired,
    /// The password was right; the account has a second factor: send its code.
    #[error("a second factor is required")]
    MfaRequired,
    /// Too many sign-in attempts from this address.
    #[error("too many attempts; wait a minute")]
    RateLimited,
    /// Also what a caller gets for another tenant's objects: no existence leak.
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Invalid(Invalid),
    #[error("{0}")]
    Conflict(&'static str),
    /// Identifying values of one request name different subjects: the
    /// request paths of those values (`data.email`, `identifiers.email`).
    #[error("identifying values name different subjects")]
    IdentifierConflict(Vec<String>),
    /// A restriction or objection blocks this purpose (Art. 18, 21): why.
    #[error("{0}")]
    Restricted(String),
    /// Rows of an import that fail their checks (nothing was imported).
    #[error("rows of the import are invalid")]
    RowsInvalid(Vec<crate::domain::import::RowError>),
    #[error("the record was changed since it was read")]
    Stale,
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(String),
    /// A tree head was made and stored but could not be published outside
    /// the database (the message says where and why; no secret in it).
    #[error("{0}")]
    NotPublished(String),
    /// A backup could not be made or listed (the message says which
    /// destination and why; no secret, no personal data in it).
    #[error("{0}")]
    Backup(String),
    /// What the request needs is not configured on this server (no backup
    /// destination): the operator's configuration, not the request, must change.
    #[error("{0}")]
    NotConfigured(String),
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => ServiceError::Unavailable(m),
            StoreError::NotFound => ServiceError::NotFound("object"),
            StoreError::Conflict => ServiceError::Conflict("an object with this key already exists"),
            StoreError::Stale => ServiceError::Stale,
            StoreError::Busy => {
                ServiceError::Unavailable("another write holds this record's identifiers; try again".into())
            }
            other => ServiceError::Internal(other.to_string()),
        }
    }
}

impl From<Invalid> for ServiceError {
    fn from(e: Invalid) -> Self {
        ServiceError::Invalid(e)
    }
}

pub type Result<T> = std::result::Result<T, ServiceError>;

/// What `/readyz` says about the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// It answers but refuses writes (a standby, a failed-over primary).
    ReadOnly,
    /// It does not answer; connections are opened again when it does.
    Unreachable,
}

/// Who is acting: a signed-in staff member.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The request this actor makes (id and source address, for the audit trail).
    pub req: audit::RequestMeta,
    pub staff_id: Uuid,
    /// `None` for a system-wide administrator.
    pub tenant: Option<Uuid>,
    pub role: Role,
    /// Grants and field masks (operators), or the API key's scope.
    pub access: Arc<Access>,
    /// A generated, expired or reset password must be changed first (AUTH-3).
    pub must_change_password: bool,
    /// The policy requires a second factor this account has not enrolled yet.
    pub must_enrol_mfa: bool,
    /// Running a command approved under four-eyes (ACC-3): its approval.
    pub approval: Option<Uuid>,
    /// The session this request came with (none for API keys and the CLI).
    pub session: Option<Uuid>,
    /// One's own preferences (the console's language and time zone).
    pub prefs: Prefs,
}

/// A staff member's own preferences for the console.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prefs {
    /// None: the browser's language.
    pub language: Option<documents::Lang>,
    /// An IANA time zone name; none: UTC.
    pub time_zone: Option<String>,
}

impl Actor {
    /// The operator at the server's own machine (the CLI, which holds the
    /// data directory and its master key anyway): a system administrator,
    /// recorded with the nil id and source `local`. Four-eyes guards the
    /// API, not the machine: this actor's calls are not held.
    pub fn local() -> Actor {
        Actor {
            req: audit::RequestMeta {
                id: format!("cli-{}", Uuid::now_v7()),
                source: Some("local".into()),
                user_agent: Some("varuh-cli".into()),
            },
            staff_id: Uuid::nil(),
            tenant: None,
            role: Role::Administrator,
            access: Arc::default(),
            must_change_password: false,
            must_enrol_mfa: false,
            approval: Some(Uuid::nil()),
            session: None,
            prefs: Prefs::default(),
        }
    }
}

/// Settings the service needs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The policy of tenants (and system staff) with none stored.
    pub default_policy: Arc<crate::domain::policy::Policy>,
    pub audit_origin: String,
    pub audit_publish_file: Option<std::path::PathBuf>,
    pub audit_publish_webhook: Option<String>,
    /// The SMTP relay and sender of varuh's mail (`outbound::Mailer`).
    pub smtp_url: Option<String>,
    pub smtp_from: String,
    pub backup: backup::BackupSettings,
    pub alerts: alerts::AlertSettings,
    /// The bearer token of `GET /metrics` (none: metrics are off).
    pub metrics_token: Option<String>,
    /// Who runs the server, and their contact (the processor's record, Art. 30(2)).
    pub operator_name: Option<String>,
    pub operator_contact: Option<String>,
    /// Whether the server serves HTTPS itself (the TOMs statement says so only then).
    pub tls: bool,
    /// The server's schedules, in seconds (0: off), as the TOMs statement cites them.
    pub schedule: Schedule,
    /// PostgreSQL: how many bytes of records a server keeps in memory for
    /// reads by id (0: none; `store::cache`).
    pub record_cache_bytes: usize,
}

/// How often the server's own jobs run, in seconds (0: not scheduled).
#[derive(Debug, Clone, Copy, Default)]
pub struct Schedule {
    pub backup_seconds: u64,
    pub retention_seconds: u64,
    pub audit_verify_seconds: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            default_policy: Arc::default(),
            audit_origin: "varuh.local/audit".into(),
            audit_publish_file: None,
            audit_publish_webhook: None,
            smtp_url: None,
            smtp_from: "varuh@localhost".into(),
            backup: backup::BackupSettings::default(),
            alerts: alerts::AlertSettings::default(),
            metrics_token: None,
            operator_name: None,
            operator_contact: None,
            tls: false,
            schedule: Schedule::default(),
            record_cache_bytes: DEFAULT_RECORD_CACHE_MB << 20,
        }
    }
}

/// MiB of records a PostgreSQL server keeps in memory by default (about
/// 400,000 records of five short fields).
pub const DEFAULT_RECORD_CACHE_MB: usize = 256;

/// A tenant's settings and unwrapped keys, cached in memory.
pub(crate) struct TenantCtx {
    pub id: Uuid,
    pub allow_special: bool,
    pub keys: TenantKeys,
}

/// A collection's definition, cached in memory (definitions are immutable).
pub(crate) struct Collection {
    pub id: Uuid,
    pub def: CollectionDef,
    pub created_at: i64,
}

/// The application: the store, the keys, and the caches. Cheap to share.
pub struct Vault {
    pub(crate) store: Store,
    pub(crate) master: MasterKey,
    pub(crate) system: TenantKeys,
    pub(crate) clock: Clock,
    pub(crate) settings: Settings,
    tenants: RwLock<HashMap<Uuid, Arc<TenantCtx>>>,
    collections: RwLock<HashMap<(Uuid, String), Arc<Collection>>>,
    pub(crate) sessions: identity::SessionCache,
    /// How this server's audit batches met other servers' (`/metrics`).
    pub audit_contention: Arc<crate::audit::Contention>,
    pub(crate) policies: identity::policy::PolicyCache,
    pub(crate) limiter: crate::domain::lockout::SourceLimiter,
    /// Failed sign-ins of login names that do not exist: counted like real ones.
    pub(crate) unknown_names: std::sync::Mutex<HashMap<Vec<u8>, crate::domain::lockout::Attempts>>,
    pub(crate) appender: Arc<std::sync::Mutex<crate::audit::Appender>>,
    pub(crate) queue: Arc<audit::AuditQueue>,
    /// PostgreSQL: reads of records by id, gathered into one statement.
    pub(crate) record_reads: Arc<crate::store::batch::ReadBatcher<(Uuid, Uuid), Option<queries::SealedRecord>>>,
    /// PostgreSQL: new records placed together (`placing`).
    pub(crate) placing: Option<Arc<placing::Placing>>,
    /// PostgreSQL: records read by id, kept in memory (`store::cache`).
    pub(crate) record_cache: Option<Arc<crate::store::cache::RecordCache>>,
    pub(crate) signer: crate::crypto::AuditSigner,
    /// 1 + the largest tree size published outside the database (0: none yet).
    pub(crate) published: std::sync::atomic::AtomicU64,
    pub(crate) publishing: tokio::sync::Mutex<()>,
    /// Wakes the erasure journal's shipper (`Vault::ship_journal_on_kick`).
    pub(crate) journal_kick: Arc<tokio::sync::Notify>,
    /// The SMTP relay, if one is configured (`settings.smtp_url`).
    pub(crate) mailer: Option<Arc<crate::outbound::Mailer>>,
    /// Alerts raised by this server (AVL-4).
    pub alerts: alerts::Alerts,
}

impl Vault {
    pub fn new(store: Store, master: MasterKey, clock: Clock, settings: Settings) -> Arc<Vault> {
        let system = master.system();
        // PostgreSQL: records read by id are kept in memory, dropped by
        // the audit trail's events (`store::cache`); SQLite reads its own
        // page cache as fast.
        let record_cache = (store.dialect() == crate::store::db::Dialect::Postgres && settings.record_cache_bytes > 0)
            .then(|| Arc::new(crate::store::cache::RecordCache::new(settings.record_cache_bytes)));
        let appender = Arc::new(std::sync::Mutex::new(crate::audit::Appender::default()));
        appender.lock().unwrap_or_else(|e| e.into_inner()).cache = record_cache.clone();
        store.set_hook(Arc::new(crate::audit::TxHook::new(appender.clone(), record_cache.clone())));
        let placing_appender = appender.clone();
        let audit_contention = appender.lock().unwrap_or_else(|e| e.into_inner()).contention.clone();
        let signer = master.audit_signer();
        let mailer =
            settings.smtp_url.as_deref().and_then(|u| match crate::outbound::Mailer::new(u, &settings.smtp_from) {
                Ok(m) => Some(Arc::new(m)),
                Err(e) => {
                    tracing::error!(error = %e, "no e-mail can be sent");
                    None
                }
            });
        Arc::new(Vault {
            mailer,
            appender,
            audit_contention,
            queue: Default::default(),
            record_reads: crate::store::batch::ReadBatcher::new(queries::get_records_batch),
            placing: (store.dialect() == crate::store::db::Dialect::Postgres)
                .then(|| placing::Placing::new(store.whole_jobs(), placing_appender)),
            record_cache,
            signer,
            published: Default::default(),
            publishing: Default::default(),
            journal_kick: Arc::new(tokio::sync::Notify::new()),
            alerts: Default::default(),
            store,
            master,
            system,
            clock,
            settings,
            tenants: RwLock::default(),
            collections: RwLock::default(),
            sessions: identity::SessionCache::default(),
            policies: Default::default(),
            limiter: Default::default(),
            unknown_names: Default::default(),
        })
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Readiness: the store answers a query.
    pub async fn ready(&self) -> Readiness {
        match self.store.read_latest(queries::ping).await {
            Ok(true) => Readiness::Ready,
            Ok(false) => Readiness::ReadOnly,
            Err(e) => {
                tracing::warn!(error = %e, "readiness: the database does not answer");
                Readiness::Unreachable
            }
        }
    }

    /// The tenant, if the actor may see it; otherwise "not found".
    /// The actor belongs to this tenant (or is system-wide): otherwise the
    /// tenant does not exist as far as the actor can tell (CONF-4).
    pub(crate) async fn tenant_for(&self, actor: &Actor, tenant: Uuid) -> Result<Arc<TenantCtx>> {
        if actor.tenant.is_some_and(|t| t != tenant) {
            return Err(ServiceError::NotFound("tenant"));
        }
        self.tenant(tenant).await
    }

    pub(crate) async fn tenant(&self, tenant: Uuid) -> Result<Arc<TenantCtx>> {
        if let Some(t) = self.tenants.read().unwrap_or_else(|e| e.into_inner()).get(&tenant) {
            return Ok(t.clone());
        }
        let row = self
            .store
            .read(move |db| queries::get_tenant(db, tenant))
            .await?
            .ok_or(ServiceError::NotFound("tenant"))?;
        let keys =
            self.master.open_tenant(row.id, &row.wrapped_key).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let ctx = Arc::new(TenantCtx { id: row.id, allow_special: row.allow_special, keys });
        self.tenants.write().unwrap_or_else(|e| e.into_inner()).insert(tenant, ctx.clone());
        Ok(ctx)
    }

    pub(crate) async fn collection(&self, tenant: Uuid, name: &str) -> Result<Arc<Collection>> {
        let key = (tenant, name.to_string());
        if let Some(c) = self.collections.read().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Ok(c.clone());
        }
        let n = name.to_string();
        let row = self
            .store
            .read(move |db| queries::collection_by_name(db, tenant, &n))
            .await?
            .ok_or(ServiceError::NotFound("collection"))?;
        let def: CollectionDef =
            serde_json::from_str(&row.definition).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let c = Arc::new(Collection { id: row.id, def, created_at: row.created_at });
        self.collections.write().unwrap_or_else(|e| e.into_inner()).insert(key, c.clone());
        Ok(c)
    }
}

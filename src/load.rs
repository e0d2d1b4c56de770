//! A whole configuration loaded from one file (REG-5): `varuh load
//! examples/<company>` reads `<dir>/varuh.toml` — tenants, each with its
//! security policy (a file of `examples/policies/`), settings and
//! organisational measures, processors, recipients, collections and staff
//! register (optionally with sign-in accounts) — and applies it through
//! the same use cases as the API, as the local operator, so every step is
//! checked and audited as if an administrator had done it by hand. The
//! file's `[server]` table says what the example expects of the server's
//! own configuration (backup destinations, schedule, TLS, alerts); the
//! loader compares and warns, it does not change the configuration.
//! A tenant whose name the store holds already is refused before anything
//! is written, so a load is not applied twice.

use crate::domain::policy::Policy;
use crate::domain::processor::{ProcessorEntry, ProcessorRole};
use crate::domain::schema::CollectionDef;
use crate::domain::settings::TenantSettings;
use crate::domain::staff_register::{StaffEntry, Training};
use crate::domain::Role;
use crate::service::approvals::Held;
use crate::service::disclosures::Contact;
use crate::service::identity::staff::NewStaff;
use crate::service::{Actor, Vault};
use anyhow::{bail, Context};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use uuid::Uuid;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    #[serde(default)]
    pub server: ServerExpectations,
    pub tenants: Vec<TenantSpec>,
}

/// What the example asks of the server's configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerExpectations {
    #[serde(default)]
    pub backup_destinations: usize,
    #[serde(default)]
    pub backup_seconds: u64,
    #[serde(default)]
    pub tls: bool,
    #[serde(default)]
    pub alerts: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSpec {
    pub name: String,
    /// A policy file, relative to the example's file.
    #[serde(default)]
    pub policy: Option<PathBuf>,
    #[serde(default)]
    pub allow_special_categories: bool,
    #[serde(default)]
    pub settings: Option<TenantSettings>,
    #[serde(default)]
    pub processors: Vec<ProcessorEntry>,
    #[serde(default)]
    pub recipients: Vec<RecipientSpec>,
    #[serde(default)]
    pub collections: Vec<CollectionDef>,
    #[serde(default)]
    pub staff: Vec<PersonSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipientSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub email: Option<String>,
}

/// A staff register entry, and the account to make for the person.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonSpec {
    pub name: String,
    #[serde(default)]
    pub position: String,
    pub started_on: String,
    #[serde(default)]
    pub left_on: Option<String>,
    #[serde(default)]
    pub confidentiality_signed: Option<String>,
    #[serde(default)]
    pub trainings: Vec<Training>,
    #[serde(default)]
    pub offboarding: BTreeMap<String, String>,
    #[serde(default)]
    pub account: Option<AccountSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSpec {
    pub username: String,
    pub role: String,
}

/// What a load made.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Tenant name → id.
    pub tenants: Vec<(String, Uuid)>,
    /// Accounts made, with their one-time passwords (printed once, never stored).
    pub accounts: Vec<(String, String)>,
    /// Where the server's configuration differs from what the example asks.
    pub warnings: Vec<String>,
}

impl Example {
    /// Reads `<dir>/varuh.toml` (or the file itself), with its policies.
    pub fn read(path: &Path) -> anyhow::Result<(Example, PathBuf)> {
        let file = if path.is_dir() { path.join("varuh.toml") } else { path.to_path_buf() };
        let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
        let ex: Example =
            toml::from_str(&text).with_context(|| format!("{} is not a valid example", file.display()))?;
        if ex.tenants.is_empty() {
            bail!("{}: no [[tenants]]", file.display());
        }
        let base = file.parent().unwrap_or(Path::new(".")).to_path_buf();
        Ok((ex, base))
    }
}

fn policy_of(base: &Path, t: &TenantSpec) -> anyhow::Result<Option<Policy>> {
    let Some(p) = &t.policy else { return Ok(None) };
    let file = base.join(p);
    let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
    Ok(Some(Policy::from_toml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?))
}

/// Applies the example to the store, as `actor` (the CLI: the local operator).
pub async fn apply(v: &Vault, actor: &Actor, ex: &Example, base: &Path) -> anyhow::Result<Loaded> {
    let mut out = Loaded::default();
    let existing = v.list_tenants(actor).await?;
    let mut policies = Vec::new();
    for t in &ex.tenants {
        if existing.iter().any(|e| e.name == t.name.trim()) {
            bail!("the store holds a tenant named {:?} already: load into a fresh store", t.name);
        }
        policies.push(policy_of(base, t)?);
    }
    let s = &v.settings;
    if s.backup.destinations.len() < ex.server.backup_destinations {
        out.warnings.push(format!(
            "the example asks for {} backup destinations; the server has {} (backup_destinations)",
            ex.server.backup_destinations,
            s.backup.destinations.len()
        ));
    }
    if ex.server.backup_seconds > 0 && s.schedule.backup_seconds != ex.server.backup_seconds {
        out.warnings.push(format!(
            "the example asks for a backup every {} s; the server's schedule is {} s (backup_seconds)",
            ex.server.backup_seconds, s.schedule.backup_seconds
        ));
    }
    if ex.server.tls && !s.tls {
        out.warnings.push("the example asks for HTTPS; the server has no tls_cert".into());
    }
    if ex.server.alerts && s.alerts.webhook.is_none() && s.alerts.emails.is_empty() {
        out.warnings.push("the example asks for alerts; the server has no alert_webhook or alert_emails".into());
    }
    for (t, policy) in ex.tenants.iter().zip(policies) {
        let id = load_tenant(v, actor, t, policy, &mut out).await.with_context(|| format!("tenant {:?}", t.name))?;
        out.tenants.push((t.name.clone(), id));
    }
    Ok(out)
}

async fn load_tenant(
    v: &Vault,
    actor: &Actor,
    t: &TenantSpec,
    policy: Option<Policy>,
    out: &mut Loaded,
) -> anyhow::Result<Uuid> {
    let id = v.create_tenant(actor, &t.name, t.allow_special_categories).await?.id;
    if let Some(p) = policy {
        if let Held::Pending(_) = v.set_policy(actor, Some(id), p).await? {
            bail!("the policy waits for a second person's approval");
        }
    }
    if let Some(st) = &t.settings {
        v.put_settings(actor, id, st.clone()).await.context("settings")?;
    }
    // Processors before the sub-processors they engage.
    let mut processors: Vec<&ProcessorEntry> = t.processors.iter().collect();
    processors.sort_by_key(|p| p.role == ProcessorRole::SubProcessor);
    for p in processors {
        v.create_processor(actor, id, p.clone()).await.with_context(|| format!("processor {:?}", p.name))?;
    }
    for r in &t.recipients {
        let contact = Contact { email: r.email.clone(), webhook: None };
        v.create_recipient(actor, id, &r.name, &r.description, contact)
            .await
            .with_context(|| format!("recipient {:?}", r.name))?;
    }
    for c in &t.collections {
        v.create_collection(actor, id, c.clone()).await.with_context(|| format!("collection {:?}", c.name))?;
    }
    let today = crate::clock::day(v.clock.now_ms());
    for p in &t.staff {
        let mut entry = StaffEntry {
            name: p.name.clone(),
            position: p.position.clone(),
            started_on: p.started_on.clone(),
            left_on: p.left_on.clone(),
            confidentiality_signed: p.confidentiality_signed.clone(),
            trainings: p.trainings.clone(),
            account: None,
            offboarding: p.offboarding.clone(),
        };
        entry.validate().map_err(|e| anyhow::anyhow!("staff {:?}: {e}", p.name))?;
        if let Some(a) = &p.account {
            let role = Role::parse(&a.role).filter(|r| Role::PEOPLE.contains(r)).ok_or_else(|| {
                anyhow::anyhow!("staff {:?}: role must be administrator, dpo, operator or auditor", p.name)
            })?;
            let new = NewStaff { username: &a.username, role, password: None, access: Default::default() };
            let (info, pw) =
                v.create_staff(actor, Some(id), new).await.with_context(|| format!("account {:?}", a.username))?;
            if let Some(pw) = pw {
                out.accounts.push((info.username.clone(), pw));
            }
            entry.account = Some(info.id);
            if entry.has_left(today) {
                // A leaver's account is closed with the checklist items done.
                let items: Vec<String> = p.offboarding.keys().cloned().collect();
                v.offboard_staff(actor, Some(id), info.id, &items, None)
                    .await
                    .with_context(|| format!("offboarding {:?}", a.username))?;
            }
        }
        v.create_staff_entry(actor, id, entry, 30).await.with_context(|| format!("staff {:?}", p.name))?;
    }
    Ok(id)
}
